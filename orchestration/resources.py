"""The warehouse as a Dagster resource: where the DuckDB file and the landing zone are."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from omni360.db import connect


class Warehouse(dg.ConfigurableResource):
    """The DuckDB file (one writer at a time) and the landing zone it loads from."""

    db_path: str
    landing_dir: str

    @contextmanager
    def connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = connect(Path(self.db_path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()
