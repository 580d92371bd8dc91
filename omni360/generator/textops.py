"""Vectorised text building: identifiers, padded numbers and concatenations as Arrow arrays."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
BASE64URL = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def from_char_matrix(chars: np.ndarray) -> pa.Array:
    """One string per row of an (n, width) uint8 matrix of ASCII characters."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def random_chars(rng: np.random.Generator, n: int, width: int, alphabet: np.ndarray) -> np.ndarray:
    return alphabet[rng.integers(0, len(alphabet), (n, width), dtype=np.uint8)]


def uuids(rng: np.random.Generator, n: int, upper: bool = False) -> pa.Array:
    """Random version-4 UUIDs."""
    nibbles = rng.integers(0, 16, (n, 32), dtype=np.uint8)
    nibbles[:, 12] = 4
    nibbles[:, 16] = 8 + nibbles[:, 16] % 4
    hexchars = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8) if upper else HEX
    chars = np.full((n, 36), ord("-"), dtype=np.uint8)
    columns = [c for c in range(36) if c not in (8, 13, 18, 23)]
    chars[:, columns] = hexchars[nibbles]
    return from_char_matrix(chars)


def hex_strings(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    return from_char_matrix(random_chars(rng, n, width, HEX))


def token_strings(rng: np.random.Generator, n: int, width: int) -> pa.Array:
    return from_char_matrix(random_chars(rng, n, width, BASE64URL))


def digits(values: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers as zero-padded decimal text."""
    text = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(text, width, "0")


def money_text(cents: np.ndarray) -> pa.Array:
    """Amounts in cents as decimal text with two places ("219.90")."""
    cents = np.asarray(cents, dtype=np.int64)
    return concat(pc.cast(pa.array(cents // 100), pa.string()), ".", digits(cents % 100, 2))


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of arrays and constant strings (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, "")


def choose(options: list[str] | tuple[str, ...], index: np.ndarray) -> pa.Array:
    """`options[index]` for every element; a negative index gives null."""
    index = np.asarray(index)
    return pa.array(list(options), pa.string()).take(pa.array(index, mask=index < 0))


def take(values: pa.Array, index: np.ndarray) -> pa.Array:
    """`values[index]`, null where the index is negative."""
    index = np.asarray(index)
    return values.take(pa.array(index, mask=index < 0))


def unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """`n` distinct random integers in [low, high), in random order."""
    return low + rng.choice(high - low, size=n, replace=False)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a well-spread 64-bit hash of each value."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hashed_uuids(seed: int, ids: np.ndarray) -> pa.Array:
    """Version-4-shaped UUIDs that are a pure function of (seed, id)."""
    with np.errstate(over="ignore"):
        offset = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        base = np.asarray(ids, dtype=np.uint64) + offset
        words = np.stack([_mix(base), _mix(base ^ np.uint64(0xD1B54A32D192ED03))], 1)
    octets = words.astype(">u8").view(np.uint8).reshape(len(base), 16)
    octets[:, 6] = (octets[:, 6] & 0x0F) | 0x40
    octets[:, 8] = (octets[:, 8] & 0x3F) | 0x80
    pairs = _HEX_PAIRS[octets].view(np.uint8)
    chars = np.full((len(base), 36), ord("-"), dtype=np.uint8)
    for start, end, first in ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20)):
        chars[:, start:end] = pairs[:, first : first + end - start]
    return from_char_matrix(chars)


# Each byte as its two hex digits, packed in one little-endian uint16.
_HEX_PAIRS = (
    HEX[np.arange(256) >> 4].astype(np.uint16) | HEX[np.arange(256) & 15].astype(np.uint16) << 8
)
