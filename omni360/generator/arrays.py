"""Vectorised array helpers shared by the generators."""

from __future__ import annotations

import numpy as np


def explode(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of the given lengths: the run of every element and its position in the run."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(int(counts.sum())) - first[owner]


def repeats(keys: np.ndarray) -> np.ndarray:
    """True for every element whose key already occurred earlier in the array."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    out = np.zeros(len(keys), dtype=bool)
    out[order[1:][ordered[1:] == ordered[:-1]]] = True
    return out


def lookup(values: np.ndarray, index: np.ndarray, default: int = -1) -> np.ndarray:
    """`values[index]`, `default` where the index is negative (`values` may be empty)."""
    index = np.asarray(index)
    if not len(values):
        return np.full(index.shape, default, dtype=np.result_type(values.dtype, np.int8))
    return np.where(index >= 0, values[np.maximum(index, 0)], default)
