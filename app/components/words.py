"""Counts in words: "1 seed", "2 seeds"."""


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, in the plural unless `n` is 1 (`plural` for irregular nouns);
    thousands separated ("1,079 images")."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
