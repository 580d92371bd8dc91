"""`Frame`: the rows of one landing source, generated and waiting to be delivered as files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from omni360.generator.people import People
from omni360.generator.textops import take


@dataclass
class Frame:
    """Rows of one source, in time order, with how to write them.

    `rows` holds internal columns. `_ts` (ms, ascending) places a row in time and so in a
    daily file. Optional: `_day` (file day, overriding `_ts`), `_rec` (record identity: rows
    sharing it are the same record exported again), `_delay` (days the row arrives late),
    `_part` (index into the delivery's file-name prefixes). `select` is a DuckDB select list
    over the prepared rows giving the contract columns in contract order (for events, one
    column `line` with the JSON text); `prepare` adds looked-up columns to a batch of rows.
    """

    source: str
    rows: pa.Table
    select: str
    prepare: Callable[[pa.Table], pa.Table] | None = None


def identifier_lookup(
    people: People, columns: dict[str, tuple[str, str]]
) -> Callable[[pa.Table], pa.Table]:
    """A `prepare` adding identifier values: new column -> (identifier type, slot column).

    The pseudo type `typed_email` gives the way the e-mail's owner types it.
    """

    def prepare(batch: pa.Table) -> pa.Table:
        for name, (kind, slot_column) in columns.items():
            values = people.email_display if kind == "typed_email" else people.slots[kind].value
            slots = np.asarray(batch.column(slot_column).to_numpy())
            batch = batch.append_column(name, take(values, slots))
        return batch

    return prepare
