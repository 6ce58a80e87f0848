"""Drawing primitives every kind of SYNTHETIC activity shares: categorical mixes over a dictionary of codes, the
rows left unpriced, and the Arrow columns a chunk is written as."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from outturn.demo.reference_inputs import BoolArray, FloatArray, IntArray

UNPRICED_SHARE = 0.005  # spells/attendances with a missing or unknown HRG (or treatment function)
UNKNOWN_HRG = "UZ99Z"  # no such HRG in any national tariff: priced as an unknown HRG


@dataclass(frozen=True)
class CodeMix:
    """A categorical distribution over entries of a code dictionary."""

    index: IntArray  # entries of the dictionary
    cdf: FloatArray

    @classmethod
    def of(cls, index: Sequence[int] | IntArray, weights: Sequence[float] | FloatArray) -> CodeMix:
        values = np.asarray(weights, dtype=np.float64)
        if len(values) == 0 or values.sum() <= 0:
            raise ValueError("a mix needs at least one entry with a positive weight")
        return cls(np.asarray(index, dtype=np.int64), np.cumsum(values / values.sum()))

    def draw(self, rng: np.random.Generator, size: int) -> IntArray:
        picks = np.searchsorted(self.cdf, rng.random(size) * self.cdf[-1], side="right")
        return np.asarray(self.index[np.minimum(picks, len(self.index) - 1)], dtype=np.int64)


def hrg_mix(codes: Sequence[str], allowed: BoolArray, activity: Mapping[str, float]) -> CodeMix:
    """HRGs priced for the point of delivery, weighted by Cost Collection activity (evenly where it has none)."""
    index = np.flatnonzero(allowed)
    if len(index) == 0:
        raise ValueError("the tariff prices no HRG for this point of delivery")
    weights = np.array([activity.get(codes[int(i)], 0.0) for i in index])
    return CodeMix.of(index, weights if weights.sum() > 0 else np.ones(len(index)))


def unpriced_rows(rng: np.random.Generator, size: int) -> tuple[BoolArray, BoolArray]:
    """Rows whose code is missing (null), and rows whose code is unknown to the tariff."""
    draw = rng.random(size)
    return draw < UNPRICED_SHARE / 2, (draw >= UNPRICED_SHARE / 2) & (draw < UNPRICED_SHARE)


def string_array(values: Sequence[str]) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def id_column(prefix: str, numbers: IntArray, width: int) -> pa.Array:
    """Identifiers: the prefix, then the number zero-padded to ``width`` digits."""
    digits = pc.utf8_lpad(pa.array(numbers, type=pa.int64()).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def row_ids(prefix: str, first_row: int, size: int, width: int) -> pa.Array:
    """The identifiers of a chunk's rows, numbered from 1 over the whole file."""
    return id_column(prefix, np.arange(first_row + 1, first_row + size + 1), width)


def code_column(dictionary: pa.Array, index: IntArray, null: BoolArray | None = None) -> pa.Array:
    """Entries of ``dictionary`` by index, null where ``null`` is set."""
    return dictionary.take(pa.array(index, type=pa.int64(), mask=null))


def int_column(values: IntArray) -> pa.Array:
    return pa.array(values, type=pa.int64())
