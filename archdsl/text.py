"""Human-readable sizes and counts, shared by the tables and the build budget."""
from __future__ import annotations

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
# Largest first; E stops the ladder, so a count past 10**21 reads "5000.00E".
_COUNT_SUFFIXES = ((10 ** 18, "E"), (10 ** 15, "P"), (10 ** 12, "T"), (10 ** 9, "G"), (10 ** 6, "M"),
                   (10 ** 3, "K"))


def human_bytes(n: float) -> str:
    """1,536 -> '1.50 KiB' (binary units, as memory is allocated)."""
    for unit in _BYTE_UNITS:
        if n < 1024 or unit == _BYTE_UNITS[-1]:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def human_count(n: int) -> str:
    """12.3M-style rounding for the totals line next to the exact figure;
    below 1,000 the number itself."""
    for div, suffix in _COUNT_SUFFIXES:
        if n >= div:
            return f"{n / div:.2f}{suffix}"
    return str(n)


def count_with_rounding(n: int) -> str:
    """`4,089,184,256 (4.09G)`; just `144` when the rounding would repeat it."""
    exact, rounded = f"{n:,}", human_count(n)
    return exact if rounded == str(n) else f"{exact} ({rounded})"
