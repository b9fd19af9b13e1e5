"""dnn.compare's command-line lists: links (a BW_GBs,LAT_us pair counts as one), card counts and
CHAOS worker counts, each checked before any run starts."""

from __future__ import annotations

from .errors import DnnValueError

CARD_MODES = ("implicit", "explicit-resident")  # what dnn.cards.check_config lets --cards N (N > 1) run


def split_links(text: str) -> list[str]:
    """--links "none,knc-pcie,1,12": names, and BW_GBs,LAT_us pairs kept together."""
    def number(t):
        try:
            float(t)
            return True
        except ValueError:
            return False

    toks, out, i = [t.strip() for t in text.replace(";", ",").split(",") if t.strip()], [], 0
    while i < len(toks):
        if number(toks[i]) and i + 1 < len(toks) and number(toks[i + 1]):
            out.append(f"{toks[i]},{toks[i + 1]}")
            i += 2
        else:
            out.append(toks[i])
            i += 1
    return out


def parse_cards(text: str, modes: list[str]) -> list[int]:
    """--cards "1,2": positive card counts; several cards need a mode that can split a bunch."""
    try:
        cards = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise DnnValueError(f"--cards {text}: give card counts separated by commas, e.g. --cards 1,2") from None
    if not cards or min(cards) < 1:
        raise DnnValueError(f"--cards {text}: card counts must be at least 1, e.g. --cards 1,2")
    if max(cards) > 1 and not set(modes) & set(CARD_MODES):
        raise DnnValueError(f"--cards {text}: several cards run only --modes {','.join(CARD_MODES)}; "
                            f"none of those is in --modes {','.join(modes)}")
    return sorted(set(cards))


def parse_workers(text: str) -> list[int]:
    """--workers "1,2,4": positive worker counts (none: no CHAOS runs). Each runs on every card
    count of --cards (on several cards: each card's workers on its slice of the chunk, dnn.cards)."""
    try:
        workers = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise DnnValueError(f"--workers {text}: give worker counts separated by commas, e.g. --workers 1,2,4") from None
    if workers and min(workers) < 1:
        raise DnnValueError(f"--workers {text}: worker counts must be at least 1, e.g. --workers 1,2,4")
    return sorted(set(workers))
