"""End to end on real parts: generated files → Dagster → DuckDB raw → dbt staging."""

from __future__ import annotations

import csv
import uuid
from collections import Counter

import dagster as dg

from omni360.contract import SOURCES
from omni360.db import connect
from omni360.ingestion.report import all_totals
from orchestration.runner import run_pipeline
from tests.conftest import PipelineRun


def test_every_asset_materializes_and_every_check_passes(pipeline_run: PipelineRun) -> None:
    outcome = pipeline_run.outcome
    assert outcome.success, outcome.failure
    assert outcome.checks_failed == 0
    assert outcome.checks_passed > 20  # dbt tests and the ingestion reconciliation checks
    from orchestration.definitions import build_definitions

    job = build_definitions(pipeline_run.settings).resolve_job_def("omni360_pipeline")
    assert outcome.materialized == len(job.asset_layer.executable_asset_keys)


def test_quarantine_matches_the_injected_broken_rows(pipeline_run: PipelineRun) -> None:
    with (pipeline_run.truth_dir / "expected_quarantine.csv").open() as handle:
        expected = Counter(
            (row["source"], row["source_file"], int(row["source_line"]))
            for row in csv.DictReader(handle)
        )
    with connect(pipeline_run.settings.db_path, read_only=True) as con:
        found = Counter(
            con.execute("select source, source_file, source_line from raw._quarantine").fetchall()
        )
    assert sum(expected.values()) >= 20
    assert found == expected


def test_every_file_reconciles_and_duplicates_are_exact(pipeline_run: PipelineRun) -> None:
    with (pipeline_run.truth_dir / "expected_duplicates.csv").open() as handle:
        expected = {
            row["source_file"]: int(row[next(k for k in row if k != "source_file")])
            for row in csv.DictReader(handle)
        }
    with connect(pipeline_run.settings.db_path, read_only=True) as con:
        log = con.execute(
            "select source_file, rows_read, rows_loaded, rows_quarantined, rows_duplicate "
            "from raw._load_log where status = 'loaded'"
        ).fetchall()
        totals = all_totals(con)
    assert log, "nothing was loaded"
    for file, read, loaded, quarantined, duplicate in log:
        assert read == loaded + quarantined + duplicate, file
        assert duplicate == expected.get(file, 0), file
    assert all(t.unreadable_files == 0 and t.unreconciled_files == 0 for t in totals)
    assert all(t.table_rows > 0 for t in totals), [t.source for t in totals if not t.table_rows]


def test_staging_is_typed_and_normalized(pipeline_run: PipelineRun) -> None:
    with connect(pipeline_run.settings.db_path, read_only=True) as con:
        emails = con.execute(
            "select count(*), count(*) filter (where email <> lower(trim(email))) "
            "from staging.stg_crm_contacts where email is not null"
        ).fetchone()
        phones = con.execute(
            "select count(*), count(*) filter "
            "(where not regexp_full_match(phone, '\\+[1-9][0-9]{7,14}')) "
            "from staging.stg_orders where phone is not null"
        ).fetchone()
        raw_orders, stg_orders = con.execute(
            "select (select count(distinct order_id) from raw.orders), "
            "(select count(*) from staging.stg_orders)"
        ).fetchone()
    assert emails[0] > 0 and emails[1] == 0
    assert phones[0] > 0 and phones[1] == 0
    assert stg_orders == raw_orders  # one row per order, whatever its number of versions


def test_second_run_loads_nothing_new(writable_pipeline_run: PipelineRun) -> None:
    pipeline_run = writable_pipeline_run  # a copy: the run writes to the warehouse
    with connect(pipeline_run.settings.db_path, read_only=True) as con:
        before = {t.source: (t.files, t.table_rows, t.quarantined_rows) for t in all_totals(con)}
    second_run_id = str(uuid.uuid4())
    ingestion = [dg.AssetKey(["raw", source]) for source in SOURCES]
    outcome = run_pipeline(pipeline_run.settings, run_id=second_run_id, selection=ingestion)
    assert outcome.success, outcome.failure
    with connect(pipeline_run.settings.db_path, read_only=True) as con:
        after = {t.source: (t.files, t.table_rows, t.quarantined_rows) for t in all_totals(con)}
        new_loads = con.execute(
            "select count(*) from raw._load_log where run_id = ?", [second_run_id]
        ).fetchone()[0]
    assert after == before
    assert new_loads == 0


def test_lineage_is_one_connected_graph(pipeline_run: PipelineRun) -> None:
    from orchestration.definitions import build_definitions

    graph = build_definitions(pipeline_run.settings).resolve_asset_graph()
    for source in ("orders", "events", "consents"):
        raw = dg.AssetKey(["raw", source])
        assert dg.AssetKey(["landing", source]) in graph.get(raw).parent_keys
        assert dg.AssetKey(["staging", f"stg_{source}"]) in graph.get(raw).child_keys
