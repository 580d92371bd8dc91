"""dbt target folders of their own (a benchmark stage, a test) that start from the project's
partial parse, so that their first dbt command skips a full parse of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

from omni360.settings import PROJECT_ROOT

PARTIAL_PARSE = PROJECT_ROOT / "target" / "partial_parse.msgpack"


def seed_partial_parse(target: Path) -> None:
    """Copy the project's partial-parse file into `target` (when the project has been parsed).

    dagster-dbt copies it on from the folder DBT_TARGET_PATH names into each invocation's
    folder, as `omni360 run` does from the project's `target/`."""
    if PARTIAL_PARSE.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(PARTIAL_PARSE, target / PARTIAL_PARSE.name)
