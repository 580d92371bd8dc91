"""The Spark check: the dbt project built on Spark (dbt-spark `session`) from a small warehouse.

A landing zone is generated and loaded into DuckDB by the loader (no syncs), all but its last
day; its raw tables are exported to Parquet and registered on Spark, then `dbt seed` and
`dbt build` run on the spark target in this process (one Spark start for every dbt command).
Then the last day arrives: it is loaded, exported and registered again, and the incremental
models and what they depend on are run again, incrementally. The same steps run on DuckDB, so
both engines can be compared (tests/spark).

    python -m omni360.spark.check --work data/spark-check
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from omni360.generator.next_day import HeldBack, hold_back_last_day, release_held_back
from omni360.settings import PROJECT_ROOT

DEFAULT_WORK = PROJECT_ROOT / "data" / "spark-check"
PASSING = {"success", "pass"}
# The next day's run: the incremental models, those kept incrementally on DuckDB that Spark
# builds as tables (tagged by their config macros), and every model they read.
NEXT_DAY_SELECTION = "+config.materialized:incremental +tag:incremental"


@dataclass(frozen=True)
class Workspace:
    """Where one check writes: landing zone, DuckDB file, Parquet export, Spark home."""

    root: Path

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.root / "omni360.duckdb"

    @property
    def raw_parquet(self) -> Path:
        return self.root / "raw_parquet"

    @property
    def spark_home(self) -> Path:
        return self.root / "spark"

    @property
    def next_day(self) -> Path:
        return self.root / "next_day"

    def dbt_env(self, target: str) -> dict[str, str]:
        """Environment of a dbt command on `target`, with its own target and log folders."""
        return {
            "OMNI360_TARGET": target,
            "OMNI360_DB": str(self.duckdb_path),
            "OMNI360_SPARK_HOME": str(self.spark_home),
            "DBT_TARGET_PATH": str(self.root / f"target-{target}"),
            "DBT_LOG_PATH": str(self.root / f"logs-{target}"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }


@dataclass
class BuildSummary:
    """What a series of dbt commands (`dbt seed` + `dbt build`, the next day's run) did."""

    name: str = "spark"
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, status)
    failures: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def passed(self, kind: str) -> int:
        return sum(n for (k, status), n in self.counts.items() if k == kind and status in PASSING)

    @property
    def ok(self) -> bool:
        return not self.failures and sum(self.counts.values()) > 0

    def line(self) -> str:
        timing = ", ".join(f"{step} {s:.0f} s" for step, s in self.seconds.items())
        return (
            f"{self.name}: {'OK' if self.ok else 'FAILED'}: {self.passed('seed')} seeds, "
            f"{self.passed('model')} models built, {self.passed('test')} data tests and "
            f"{self.passed('unit_test')} unit tests passed, {len(self.failures)} failed "
            f"({timing})"
        )


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _load(work: Workspace) -> None:
    from omni360.ingestion.loader import load_landing_file

    load_landing_file(work.duckdb_path, work.landing)


def prepare_warehouse(work: Workspace, customers: int, days: int, seed: int = 7) -> HeldBack:
    """Generate a landing zone and load all but its last day into a fresh DuckDB file (the
    loader only); the last day is held back for `load_next_day`. The Spark warehouse and
    metastore start empty too, so incremental models and the customer-id registry are built
    from scratch on both engines."""
    from omni360.generator import generate

    for path in (work.duckdb_path, work.duckdb_path.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    for folder in (work.spark_home, work.landing, work.next_day, work.root / "truth"):
        shutil.rmtree(folder, ignore_errors=True)
    generate(work.landing, work.root / "truth", customers=customers, seed=seed, days=days)
    held = hold_back_last_day(work.landing, work.next_day)
    _load(work)
    return held


def load_next_day(work: Workspace) -> float:
    """The held-back day delivered, loaded into DuckDB and exported again; the seconds."""
    started = time.monotonic()
    release_held_back(work.next_day, work.landing)
    _load(work)
    export_raw_tables(work)
    return time.monotonic() - started


def build_duckdb(
    work: Workspace, base_env: dict[str, str] | None = None, next_day: bool = False
) -> float:
    """dbt on DuckDB in child processes; the seconds it took: `dbt seed` + `dbt run`, or the
    next day's run. It holds the DuckDB file: export the raw tables first. `base_env`
    (default: this process's) is the environment to start from; pass a copy when running
    beside `build_spark`, which sets variables of this process."""
    started = time.monotonic()
    env = {**(os.environ if base_env is None else base_env), **work.dbt_env("duckdb")}
    dbt = str(Path(sys.executable).with_name("dbt"))
    commands = [["run", "--select", NEXT_DAY_SELECTION]] if next_day else [["seed"], ["run"]]
    for command in commands:
        subprocess.run([dbt, *command, "--quiet"], cwd=PROJECT_ROOT, env=env, check=True)
    return time.monotonic() - started


def _kind(result: object) -> str:
    node = result.node  # type: ignore[attr-defined]
    return str(getattr(node.resource_type, "value", node.resource_type))


def export_raw_tables(work: Workspace) -> float:
    """Export the loaded raw tables to Parquet for Spark; the seconds it took."""
    from omni360.spark.raw_export import export_raw

    started = time.monotonic()
    export_raw(work.duckdb_path, work.raw_parquet)
    return time.monotonic() - started


def _register_step(work: Workspace) -> tuple[str, list[str]]:
    return ("register", ["run-operation", "register_raw_parquet", "--args",
                         f"{{root: '{work.raw_parquet}'}}"])  # fmt: skip


def build_spark(work: Workspace, threads: int | None = None) -> BuildSummary:
    """Register raw, `dbt seed` and `dbt build` on the spark target, in this process.

    The unit tests run after the build: a unit test that gives an incremental model's `this`
    as rows reads its columns from the model's table, which an empty warehouse only has
    after the build. Seeds are counted from the build (which loads them
    again), so every node is counted once."""
    extra = ["--threads", str(threads)] if threads else []
    return _run_spark(work, [
        _register_step(work),
        ("seed", ["seed", *extra]),
        ("build", ["build", "--exclude-resource-type", "unit_test", *extra]),
        ("unit tests", ["test", "--select", "test_type:unit", *extra]),
    ])  # fmt: skip


def run_spark_next_day(work: Workspace) -> BuildSummary:
    """The next day on Spark: raw registered again, the incremental models (and the models
    they read) run again, incrementally."""
    return _run_spark(work, [
        _register_step(work),
        ("next day", ["run", "--select", NEXT_DAY_SELECTION]),
    ], name="spark next day")  # fmt: skip


def _run_spark(
    work: Workspace, steps: list[tuple[str, list[str]]], name: str = "spark"
) -> BuildSummary:
    """dbt commands on the spark target, in this process, until one fails."""
    from dbt.cli.main import dbtRunner

    summary = BuildSummary(name)
    with _environment(work.dbt_env("spark")):
        runner = dbtRunner()
        for step, args in steps:
            started = time.monotonic()
            outcome = runner.invoke([*args, "--project-dir", str(PROJECT_ROOT),
                                     "--profiles-dir", str(PROJECT_ROOT)])  # fmt: skip
            summary.seconds[step] = time.monotonic() - started
            if outcome.exception is not None:
                summary.failures.append(f"{step}: {outcome.exception}")
                break
            if step in ("register", "seed"):  # counted by the build
                if not outcome.success:
                    summary.failures.append(f"{step}: failed (see {work.root / 'logs-spark'})")
                    break
                continue
            for result in outcome.result.results:
                status = str(getattr(result.status, "value", result.status))
                summary.counts[(_kind(result), status)] += 1
                if status not in PASSING:
                    summary.failures.append(f"{result.node.unique_id}: {status}: {result.message}")
    return summary


def spark_session() -> object:
    """The Spark session dbt-spark started in this process (after `build_spark`)."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        raise RuntimeError("no Spark session in this process: run build_spark first")
    return session


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    work = Workspace(args.work.resolve())
    work.root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    prepare_warehouse(work, args.customers, args.days)
    load_seconds = time.monotonic() - started
    export_seconds = export_raw_tables(work)
    summary = build_spark(work, args.threads)
    summary.seconds = {"generate+load": load_seconds, "export": export_seconds, **summary.seconds}
    next_day = BuildSummary("spark next day")
    if summary.ok:
        next_day_load = load_next_day(work)
        next_day = run_spark_next_day(work)
        next_day.seconds = {"next day load": next_day_load, **next_day.seconds}
    summary.seconds["total"] = time.monotonic() - started
    for failure in summary.failures + next_day.failures:
        print(f"FAILED {failure}", file=sys.stderr)
    print(summary.line())
    print(next_day.line())
    return 0 if summary.ok and next_day.ok else 1


if __name__ == "__main__":
    sys.exit(main())
