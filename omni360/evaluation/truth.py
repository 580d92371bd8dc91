"""The ground truth of `omni360 generate`, loaded into temporary tables of a DuckDB session.

- `eval_truth_identifiers(person_id, identifier_type, identifier)`: every identifier that
  belongs to exactly one person: the non-shared rows of `identities.parquet`, plus each order
  id (type `order_id`) from `orders.parquet`.
- `eval_truth_shared(identifier_type, identifier, people)`: the identifiers several people use,
  from `shared_identifiers.parquet`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

TRUTH_FILES = ("identities.parquet", "shared_identifiers.parquet", "orders.parquet")


class TruthError(ValueError):
    """The ground-truth folder is missing or incomplete."""


def truth_paths(truth_dir: Path) -> dict[str, Path]:
    """The truth files by name; raise `TruthError` when the folder or a file is missing."""
    if not truth_dir.is_dir():
        raise TruthError(f"no ground truth at {truth_dir}: `omni360 generate --truth` writes it")
    paths = {name: truth_dir / name for name in TRUTH_FILES}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise TruthError(f"ground truth at {truth_dir} lacks {', '.join(missing)}")
    return paths


def load_truth(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> None:
    """Create the temporary truth tables (see the module docstring) in this session."""
    paths = truth_paths(truth_dir)
    con.execute(
        """
        create or replace temp table eval_truth_identifiers as
        select distinct
            cast(person_id as varchar) as person_id,
            cast(identifier_type as varchar) as identifier_type,
            cast(identifier as varchar) as identifier
        from read_parquet($identities)
        where not is_shared
        union
        select distinct
            cast(person_id as varchar),
            'order_id',
            cast(order_id as varchar)
        from read_parquet($orders)
        """,
        {
            "identities": str(paths["identities.parquet"]),
            "orders": str(paths["orders.parquet"]),
        },
    )
    con.execute(
        """
        create or replace temp table eval_truth_shared as
        select
            cast(identifier_type as varchar) as identifier_type,
            cast(identifier as varchar) as identifier,
            cast(people as bigint) as people
        from read_parquet($shared)
        """,
        {"shared": str(paths["shared_identifiers.parquet"])},
    )
