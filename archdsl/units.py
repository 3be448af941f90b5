"""Human-readable sizes and counts, shared by the tables and the build budget."""
from __future__ import annotations


def human_bytes(n: float) -> str:
    """1,536 -> '1.50 KiB' (binary units, as memory is allocated)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def human_count(n: int) -> str:
    """12.3M-style rounding for the totals line next to the exact figure."""
    for div, suffix in ((10 ** 12, "T"), (10 ** 9, "G"), (10 ** 6, "M"), (10 ** 3, "K")):
        if n >= div:
            return f"{n / div:.2f}{suffix}"
    return str(n)
