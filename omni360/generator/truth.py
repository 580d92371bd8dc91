"""The ground truth, written beside (never inside) the landing zone.

- `identities.parquet`: person_id, identifier_type, identifier (normalized like the warehouse:
  e-mails trimmed and lower-case, phones E.164, other ids as written), is_shared. Only
  identifiers that occur in the data; a shared one appears once per person who used it.
- `shared_identifiers.parquet`: identifier_type, identifier, people.
- `orders.parquet`: order_id, person_id.
- `expected_duplicates.csv`: source_file, duplicates (rows repeating a record read before, files
  read in sorted order of their path within each source), source, rows (data lines written).
- `expected_quarantine.csv`: source, source_file, source_line, reason_class, one line per
  injected broken row (a header only without broken rows).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from omni360.generator.commerce import Orders
from omni360.generator.corrupt import Broken
from omni360.generator.delivery import PlannedFile
from omni360.generator.people import IDENTIFIER_TYPES, People


def identities(people: People) -> pa.Table:
    person_ids = people.person_ids()
    parts = []
    for kind in IDENTIFIER_TYPES:
        slots = people.slots[kind]
        used = np.flatnonzero(slots.used)
        value = slots.value.take(pa.array(used))
        if kind == "email":
            value = pc.utf8_lower(pc.utf8_trim_whitespace(value))
        parts.append(
            pa.table(
                {
                    "person": slots.person[used],
                    "identifier_type": pa.array([kind] * len(used), pa.string()),
                    "identifier": value,
                }
            )
        )
    table = pa.concat_tables(parts)
    table = table.group_by(
        ["person", "identifier_type", "identifier"], use_threads=False
    ).aggregate([])
    table = table.sort_by(
        [("identifier_type", "ascending"), ("identifier", "ascending"), ("person", "ascending")]
    )
    owners = table.group_by(["identifier_type", "identifier"], use_threads=False).aggregate(
        [("person", "count")]
    )
    shared = owners.filter(pc.greater(owners.column("person_count"), 1))
    key = pc.binary_join_element_wise(
        table.column("identifier_type"), table.column("identifier"), "\x00"
    )
    shared_key = pc.binary_join_element_wise(
        shared.column("identifier_type"), shared.column("identifier"), "\x00"
    )
    return pa.table(
        {
            "person_id": person_ids.take(table.column("person")),
            "identifier_type": table.column("identifier_type"),
            "identifier": table.column("identifier"),
            "is_shared": pc.is_in(key, value_set=shared_key),
        }
    )


def shared_identifiers(identity: pa.Table) -> pa.Table:
    shared = identity.filter(identity.column("is_shared"))
    counts = shared.group_by(["identifier_type", "identifier"], use_threads=False).aggregate(
        [("person_id", "count")]
    )
    counts = counts.sort_by([("identifier_type", "ascending"), ("identifier", "ascending")])
    return pa.table(
        {
            "identifier_type": counts.column("identifier_type"),
            "identifier": counts.column("identifier"),
            "people": counts.column("person_id_count"),
        }
    )


def write_truth(
    truth_dir: Path,
    people: People,
    orders: Orders,
    files: dict[str, list[PlannedFile]],
    broken: list[Broken],
) -> None:
    truth_dir.mkdir(parents=True, exist_ok=True)
    identity = identities(people)
    pq.write_table(identity, truth_dir / "identities.parquet")
    pq.write_table(shared_identifiers(identity), truth_dir / "shared_identifiers.parquet")
    pq.write_table(
        pa.table(
            {
                "order_id": orders.order_id,
                "person_id": people.person_ids().take(pa.array(orders.person)),
            }
        ),
        truth_dir / "orders.parquet",
    )
    extra_rows: dict[str, int] = {}
    for b in broken:
        extra_rows[b.source_file] = extra_rows.get(b.source_file, 0) + 1
    with (truth_dir / "expected_duplicates.csv").open("w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["source_file", "duplicates", "source", "rows"])
        for source, planned in files.items():
            for f in planned:
                out.writerow(
                    [f.path, f.duplicates, source, len(f.rows) + extra_rows.get(f.path, 0)]
                )
    with (truth_dir / "expected_quarantine.csv").open("w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["source", "source_file", "source_line", "reason_class"])
        for b in broken:
            out.writerow([b.source, b.source_file, b.source_line, b.reason_class])
