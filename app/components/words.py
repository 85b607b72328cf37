"""Counts and durations in words: "1 seed", "2 seeds", "12 min"."""


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, in the plural unless `n` is 1 (`plural` for irregular nouns);
    thousands separated ("1,079 images")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def duration(seconds: float) -> str:
    """`40 s`, `12 min`, `2.8 h`: seconds up to 90, minutes up to 90."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
