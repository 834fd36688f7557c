"""Counts and sizes as people read them, in one place for the app, the report and error messages."""
from __future__ import annotations


def human_count(n: int) -> str:
    """124439808 -> '124.4M'."""
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def human_bytes(n: int) -> str:
    """2_200_000_000 -> '2.2 GB' (decimal units, as the Hub and disk tools show them)."""
    for unit, scale in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
