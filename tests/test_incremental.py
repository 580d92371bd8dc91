"""An incremental run gives the same warehouse as a full rebuild.

A small landing zone is split in three: every day but the last two is loaded and built in
full; the day before the last is loaded and built on its own, then the last day ("the next
day"), the large fact models incrementally. A copy of that warehouse is rebuilt with
`--full-refresh`: every table and view the dbt project builds must hold the same rows in both.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from omni360.generator import generate
from omni360.generator.next_day import hold_back_last_day, release_held_back
from omni360.ingestion.loader import load_landing_file
from tests.dbt_runs import build_models

# The incremental models, and a text only their incremental path compiles to.
INCREMENTAL_MODELS = {
    "stg_events": "_loaded_at >=",
    "stg_message_events": "_loaded_at >=",
    "stg_orders": "_loaded_at >=",
    "int_identity__record_customers": "full outer join",
    "int_customers__touchpoints": "customer_assigned_at >",
    "int_journeys__session_events": "customer_assigned_at >",
    "int_journeys__conversion_touches": "first_changed_at",
}
# Columns stamped with the time of a build: fct_identity_audit.measured_at, and when a
# record got its customer (a full rebuild assigns every record again).
BUILD_TIME_COLUMNS = {"measured_at", "customer_assigned_at"}
FLOAT_DIGITS = 10
FLOAT_TYPES = ("DOUBLE", "FLOAT")


@dataclass(frozen=True)
class Builds:
    incremental: Path
    full: Path
    incremental_results: dict[str, dict]
    held_back_files: int


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    root = tmp_path_factory.mktemp("incremental")
    generate(root / "landing", root / "truth", customers=200, seed=11, days=21)
    held_back = hold_back_last_day(root / "landing", root / "next")
    hold_back_last_day(root / "landing", root / "day_before")
    incremental = root / "incremental.duckdb"
    load_landing_file(incremental, root / "landing")
    build_models(incremental, root / "target")
    # a day loaded on its own: the next day's run finds rows loaded before its last build
    # (a build rebuilds what the newest load it built brought again), so the incremental
    # models keep stored rows and extend them rather than rebuild all
    release_held_back(root / "day_before", root / "landing")
    load_landing_file(incremental, root / "landing")
    build_models(incremental, root / "target")
    release_held_back(root / "next", root / "landing")
    load_landing_file(incremental, root / "landing")
    results = build_models(incremental, root / "target")
    full = root / "full.duckdb"
    shutil.copy(incremental, full)
    build_models(full, root / "target", "--full-refresh")
    yield Builds(incremental, full, results, held_back.files)


def _relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.sql(
        "select table_schema, table_name from information_schema.tables"
        " where table_catalog = 'inc' and table_schema not in ('raw', 'main')"
        " order by 1, 2"
    ).fetchall()
    return [f"{schema}.{name}" for schema, name in rows]


def test_the_next_day_was_built_incrementally(builds: Builds) -> None:
    assert builds.held_back_files > 0
    for model, marker in INCREMENTAL_MODELS.items():
        compiled = builds.incremental_results[model]["compiled_code"]
        assert marker in compiled, f"{model} was not built incrementally"


def test_the_next_day_rewrites_few_record_customers(builds: Builds) -> None:
    """Only the records whose customer changed are written: new records and re-keyed ones."""
    with duckdb.connect(str(builds.incremental), read_only=True) as con:
        stored, assigned_last = con.execute(
            "select count(*), count(*) filter (where customer_assigned_at ="
            " (select max(customer_assigned_at) from intermediate.int_identity__record_customers))"
            " from intermediate.int_identity__record_customers"
        ).fetchone()
    # the first build assigned every record; the next day's assignments are the newest
    assert 0 < assigned_last < stored / 2


def _comparable(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """The relation's columns as compared: floating-point numbers to 10 significant digits
    (the last bits of a sum follow the order rows are added in), the build's own time left
    out."""
    columns = con.execute(f"describe inc.{relation}").fetchall()
    parts = []
    for name, kind, *_ in columns:
        if name in BUILD_TIME_COLUMNS:
            continue
        quoted = f'"{name}"'
        parts.append(
            f"printf('%.{FLOAT_DIGITS}g', {quoted}) as {quoted}" if kind in FLOAT_TYPES else quoted
        )
    return ", ".join(parts)


def test_incremental_and_full_builds_hold_the_same_rows(builds: Builds) -> None:
    with duckdb.connect() as con:
        con.execute(f"attach '{builds.full}' as full_build (read_only)")
        con.execute(f"attach '{builds.incremental}' as inc (read_only)")
        relations = _relations(con)
        assert len(relations) > 100
        differing = {}
        for relation in relations:
            columns = _comparable(con, relation)
            only_incremental, only_full, rows = con.execute(
                f"""
                select
                    (select count(*) from (
                        select {columns} from inc.{relation} except all
                        select {columns} from full_build.{relation})),
                    (select count(*) from (
                        select {columns} from full_build.{relation} except all
                        select {columns} from inc.{relation})),
                    (select count(*) from inc.{relation})
                """
            ).fetchone()
            if only_incremental or only_full:
                differing[relation] = (only_incremental, only_full, rows)
        assert differing == {}, "(rows only in the incremental build, only in the full one, rows)"


def test_a_full_refresh_run_rebuilds_from_raw(builds: Builds, tmp_path: Path) -> None:
    """`omni360 run --full-refresh` reaches dbt through the Dagster run config."""
    import dagster as dg

    from omni360.settings import Settings
    from orchestration.runner import run_pipeline

    db = tmp_path / "refreshed.duckdb"
    shutil.copy(builds.incremental, db)
    settings = Settings(landing_dir=tmp_path / "landing", db_path=db)
    settings.landing_dir.mkdir()
    outcome = run_pipeline(
        settings,
        run_id=str(uuid.uuid4()),
        selection=[dg.AssetKey(["staging", "stg_orders"])],
        full_refresh=True,
    )
    assert outcome.success, outcome.failure
    with dg.DagsterInstance.get() as instance:
        messages = [entry.message for entry in instance.all_logs(outcome.run_id)]
    assert any("--full-refresh" in message for message in messages), messages
