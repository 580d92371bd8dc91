"""The Spark check's fixture: one small warehouse built on Spark (in this process) and DuckDB."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from omni360.generator.next_day import HeldBack
from omni360.spark.check import (
    BuildSummary,
    Workspace,
    build_duckdb,
    build_spark,
    export_raw_tables,
    load_next_day,
    prepare_warehouse,
    run_spark_next_day,
)

CUSTOMERS = 300
DAYS = 60


@dataclass(frozen=True)
class SparkCheck:
    work: Workspace
    summary: BuildSummary  # the full build
    next_day: BuildSummary  # the incremental run after the held-back day arrived
    held: HeldBack


_RESULTS: list[SparkCheck] = []


@pytest.fixture(scope="session")
def spark_check(tmp_path_factory: pytest.TempPathFactory) -> SparkCheck:
    """A generated landing zone loaded into DuckDB but its last day, built by dbt on Spark
    (`session`, in this process) and, at the same time, on DuckDB in a child process; then the
    last day loaded and the incremental models run again on both. The work folder is
    OMNI360_SPARK_WORK (make test-spark: data/spark-check) or a temporary one."""
    root = os.environ.get("OMNI360_SPARK_WORK")
    work = Workspace(Path(root).resolve() if root else tmp_path_factory.mktemp("spark"))
    work.root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    held = prepare_warehouse(work, CUSTOMERS, DAYS)
    seconds = {"generate+load": time.monotonic() - started}
    seconds["export"] = export_raw_tables(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        duckdb_build = pool.submit(build_duckdb, work, dict(os.environ))
        summary = build_spark(work)
        seconds["duckdb build (beside)"] = duckdb_build.result()
    summary.seconds = {**seconds, **summary.seconds}
    next_seconds = {"load+export": load_next_day(work)}
    with ThreadPoolExecutor(max_workers=1) as pool:
        duckdb_run = pool.submit(build_duckdb, work, dict(os.environ), True)
        next_day = run_spark_next_day(work)
        next_seconds["duckdb run (beside)"] = duckdb_run.result()
    next_day.seconds = {**next_seconds, **next_day.seconds}
    summary.seconds["total"] = time.monotonic() - started
    check = SparkCheck(work, summary, next_day, held)
    _RESULTS.append(check)
    return check


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for check in _RESULTS:
        terminalreporter.write_line(check.summary.line())
        terminalreporter.write_line(check.next_day.line())
