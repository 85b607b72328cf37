"""Seeded, stratified partitions of a labelled set into disjoint index arrays."""

import numpy as np
from sklearn.model_selection import train_test_split


def split_off(
    indices: np.ndarray, labels: np.ndarray, n_take: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Take `n_take` of `indices` out, keeping class proportions where possible.

    Args:
        indices: positions to choose from.
        labels: the class of each position in `indices` (same length).
        n_take: how many to take out.
        seed: the same seed always takes the same positions.

    Returns:
        (kept, taken), each sorted ascending.
    """
    n_take = int(min(max(n_take, 0), len(indices)))
    if n_take == 0:
        return np.sort(indices), indices[:0]
    if n_take == len(indices):
        return indices[:0], np.sort(indices)
    try:
        kept, taken = train_test_split(
            indices, test_size=n_take, random_state=seed, shuffle=True, stratify=labels
        )
    except ValueError:
        # Too few images of some class to stratify (tiny image folders): plain shuffle.
        order = np.random.default_rng(seed).permutation(len(indices))
        kept, taken = indices[order[n_take:]], indices[order[:n_take]]
    return np.sort(kept), np.sort(taken)


def three_way(labels: np.ndarray, seed: int, val_frac: float, test_frac: float) -> dict:
    """Split positions 0..len(labels)-1 into train / val / test by fractions.

    Returns:
        {"train": ..., "val": ..., "test": ...}, disjoint, each sorted ascending.
    """
    labels = np.asarray(labels)
    everything = np.arange(len(labels))
    n_test = round(test_frac * len(labels))
    n_val = round(val_frac * len(labels))
    rest, test = split_off(everything, labels, n_test, seed)
    train, val = split_off(rest, labels[rest], n_val, seed)
    return {"train": train, "val": val, "test": test}
