"""Independent, reproducible random streams: one per table, derived from the seed and a name."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """The random stream for one purpose; the same (seed, name) always gives the same numbers."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def weighted(rng: np.random.Generator, weights: list[float] | np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def bernoulli(rng: np.random.Generator, p: float | np.ndarray, size: int) -> np.ndarray:
    return rng.random(size) < p
