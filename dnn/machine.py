"""What this machine has, for messages that name a limit ("needs 314 GB; this machine has 24 GB")."""

from __future__ import annotations

import os


def machine_memory() -> int:
    """Bytes of physical memory (1 TiB when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 1 << 40


def memory_limit() -> tuple[int, str]:
    """(bytes, what limits them): this machine's memory, or the address-space limit (ulimit -v)
    when that is lower."""
    import resource

    have, what = machine_memory(), "this machine has"
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft < have:
        have, what = soft, "the address-space limit (ulimit -v; raise it) is"
    return have, what


def gigabytes(n: float) -> str:
    return f"{n / 1e9:,.0f} GB" if n >= 1e10 else f"{n / 1e9:,.1f} GB"
