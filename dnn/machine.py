"""What this machine has, for messages that name a limit ("needs 314 GB; this machine has 24 GB")."""

from __future__ import annotations

import os


def machine_memory() -> int:
    """Bytes of physical memory (1 TiB when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 1 << 40


def gigabytes(n: float) -> str:
    return f"{n / 1e9:,.0f} GB" if n >= 1e10 else f"{n / 1e9:,.1f} GB"
