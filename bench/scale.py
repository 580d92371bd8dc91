"""Scale benchmark: the whole pipeline for N customers, stage by stage, with its baselines.

For a number of customers the benchmark

1. generates the demo landing zone (`omni360 generate`; not part of the end-to-end time);
2. holds back the last day's files of every source (the next day's delivery);
3. ingests the rest through Dagster (the `raw/*` assets, as `omni360 run` does);
4. runs a plain `dbt build` on a copy of the warehouse taken after ingestion, then builds the
   same models through Dagster (the dbt assets: a full build); one right after the other, so
   that both full builds meet the same conditions (Dagster's overhead). The built copy is
   removed before the Dagster build: at 1m each built warehouse takes tens of GB;
5. syncs the audiences to the local channel emulator (the `syncs/*` assets);
6. measures the identity stitching of the warehouse (the `int_identity__components` model)
   against scipy's `connected_components` on the same edges, the partitions compared node
   by node;
7. the next day: moves the held-back files in, ingests them and builds again (against the
   full build).

Every stage runs in a child process; its wall time and the peak of the summed resident memory
of the child and all its descendants (polled from /proc every 0.2 s) are recorded. Progress
goes to stderr, a table to stdout, the figures to `bench/results/scale-<SCALE>.json` and a
chart to `bench/results/scale-<SCALE>.html`. The exit code is 1 when a target is missed or
a check fails (partitions differ, a file does not reconcile), 2 when a stage fails.

    python -m bench.scale --scale 100k
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.tables import text_table
from omni360.dbt_target import seed_partial_parse
from omni360.generator.next_day import hold_back_last_day, release_held_back

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_DIR / "bench" / "results"
BIN = Path(sys.executable).parent
POLL_SECONDS = 0.2
PROGRESS_SECONDS = 15.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MEMORY_LIMIT_ENV = "OMNI360_DUCKDB_MEMORY_LIMIT"
EXCLUDE_ENV = "DBT_EXCLUDE_RESOURCE_TYPES"
DEFAULT_MEMORY_LIMIT = "4GB"

# The targets, set for 1,000,000 customers.
TARGET_CUSTOMERS = 1_000_000
TARGET_E2E_SECONDS = 600.0
TARGET_PEAK_MIB = 6 * 1024.0
TARGET_DAGSTER_OVERHEAD = 0.25
TARGET_INCREMENTAL_SHARE = 0.10

END_TO_END = ("ingest", "dbt_build", "syncs")  # generation is not part of it
COMPONENTS_MODEL = "int_identity__components"
MANIFEST_RACE = "json.decoder.JSONDecodeError"


class BenchmarkError(RuntimeError):
    """A stage of the benchmark failed."""


def parse_size(text: str) -> int:
    """'10k', '100k', '1m', '2.5m' or a plain number of customers."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 10k, 100k or 1m)")
    customers = round(float(found[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[found[2]])
    if customers < 100:
        raise argparse.ArgumentTypeError(f"at least 100 customers, not {text!r}")
    return customers


# --- memory of a process tree -------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces: the fields after its ')' are fixed.
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def tree_rss_bytes(root: int) -> int:
    """Summed resident memory of a process and all its descendants, from /proc."""
    children = _children_map()
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE_SIZE
        except OSError:
            pass
        stack.extend(children.get(pid, []))
    return total


class TreeMonitor:
    """Polls a process tree's summed RSS every 0.2 s in a thread; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.samples = pid, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self.samples += 1
            self._stop.wait(POLL_SECONDS)

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# --- stages ---------------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    seconds: float
    peak_rss_mib: float
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """Where one benchmark run keeps its files."""

    work: Path

    @property
    def landing(self) -> Path:
        return self.work / "landing"

    @property
    def held(self) -> Path:
        return self.work / "next_day"

    @property
    def truth(self) -> Path:
        return self.work / "truth"

    @property
    def db(self) -> Path:
        return self.work / "warehouse" / "omni360.duckdb"

    @property
    def plain_db(self) -> Path:
        return self.work / "warehouse_plain" / "omni360.duckdb"

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    def dbt_dir(self, stage: str) -> Path:
        return self.work / "dbt" / stage

    def figures(self, stage: str) -> Path:
        return self.work / "figures" / f"{stage}.json"


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _environment(layout: Layout, stage: str) -> dict[str, str]:
    dbt_dir = layout.dbt_dir(stage)
    # Every build of the benchmark (Dagster's and the plain one) skips dbt's full parse alike.
    seed_partial_parse(dbt_dir / "target")
    return {
        **os.environ,
        "LANDING_DIR": str(layout.landing),
        "OMNI360_DB": str(layout.db),
        "DAGSTER_HOME": str(layout.work / "dagster_home"),
        "DBT_TARGET_PATH": str(dbt_dir / "target"),
        "DBT_LOG_PATH": str(dbt_dir / "logs"),
        "DBT_USE_COLORS": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        MEMORY_LIMIT_ENV: os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT),
        # dbt's unit tests run on fixtures, not on the data: their cost does not grow with
        # the scale. Set the variable to '' to keep them.
        EXCLUDE_ENV: os.environ.get(EXCLUDE_ENV, "unit_test"),
    }


DBT_NODE_RESULT = re.compile(rb"\b(\d+) of (\d+) (?:OK|PASS|WARN|ERROR|FAIL|SKIP)\b")


def dbt_nodes_done(log_path: Path, tail_bytes: int = 65536) -> tuple[int, int] | None:
    """How far dbt has got in a stage: the highest node number N of its 'N of M' result
    lines (dbt numbers nodes as it starts them; results come back out of order), and M, read
    from the log's tail; None before the first result (or in a stage without dbt)."""
    try:
        with log_path.open("rb") as log:
            log.seek(max(log_path.stat().st_size - tail_bytes, 0))
            tail = log.read()
    except OSError:
        return None
    matches = DBT_NODE_RESULT.findall(tail)
    if not matches:
        return None
    done = max(int(done) for done, _ in matches)
    return done, int(matches[-1][1])


def run_stage(
    name: str,
    command: list[str],
    layout: Layout,
    env: dict[str, str] | None = None,
    retry: bool = True,
) -> Stage:
    """Run a stage's command in a child process; its wall time and tree peak RSS, and the
    figures it wrote (children of this module write `figures/<name>.json`)."""
    layout.logs.mkdir(parents=True, exist_ok=True)
    log_path = layout.logs / f"{name}.log"
    _progress(f"[{name}] started")
    started = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=env or _environment(layout, name),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        with TreeMonitor(process.pid) as monitor:
            while True:
                try:
                    process.wait(timeout=PROGRESS_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    nodes = dbt_nodes_done(log_path)
                    _progress(
                        f"[{name}] {time.perf_counter() - started:,.0f} s, "
                        f"{monitor.peak / 2**20:,.0f} MiB peak so far"
                        + (f", dbt at node {nodes[0]:,} of {nodes[1]:,}" if nodes else "")
                    )
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        text = log_path.read_text(errors="replace")
        if retry and MANIFEST_RACE in text:
            # Another process rewrote the project's dbt manifest while this one read it (the
            # project was edited during the run): the stage is run again, once.
            _progress(f"[{name}] the dbt manifest changed under the stage; running it again")
            return run_stage(name, command, layout, env, retry=False)
        tail = text.splitlines()[-30:]
        raise BenchmarkError(f"{name} exited with {process.returncode}:\n" + "\n".join(tail))
    figures_path = layout.figures(name)
    figures = json.loads(figures_path.read_text()) if figures_path.exists() else {}
    stage = Stage(name, seconds, monitor.peak / 2**20, figures)
    _progress(f"[{name}] done in {seconds:,.1f} s, peak {stage.peak_rss_mib:,.0f} MiB")
    return stage


def _child(stage: str, layout: Layout) -> list[str]:
    return [sys.executable, "-m", "bench.scale", "--child", stage, "--work", str(layout.work)]


def landing_size(folder: Path) -> dict[str, int]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files)}


# --- what the children do -----------------------------------------------------------------


def _settings() -> Any:
    from omni360.settings import Settings

    return Settings.resolve()


def _write_figures(layout: Layout, stage: str, figures: dict[str, Any]) -> None:
    path = layout.figures(stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")


def _run_assets(keys: Sequence[Any], include_syncs: bool) -> Any:
    from orchestration.runner import run_pipeline

    outcome = run_pipeline(
        _settings(), run_id=str(uuid.uuid4()), selection=list(keys), include_syncs=include_syncs
    )
    if not outcome.success:
        raise BenchmarkError(f"run {outcome.run_id} failed: {outcome.failure}")
    return outcome


def child_parse(layout: Layout, stage: str) -> None:
    """The project's dbt manifest, parsed when older than the project (as every Dagster
    process does on start), so that the timed stages do not pay for a parse."""
    from orchestration.dbt import ensure_manifest

    ensure_manifest()


def child_ingest(layout: Layout, stage: str) -> None:
    """The `raw/*` assets through Dagster; what this run loaded, from the load log."""
    import dagster as dg
    import duckdb

    from omni360.contract import SOURCES

    outcome = _run_assets([dg.AssetKey(["raw", name]) for name in SOURCES], include_syncs=False)
    with duckdb.connect(str(layout.db), read_only=True) as con:
        rows = con.execute(
            """
            select source, count(*), count(*) filter (where status <> 'loaded'),
                   sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate),
                   count(*) filter (where rows_read <> rows_loaded + rows_quarantined
                                                     + rows_duplicate)
            from raw._load_log where run_id = ? group by source order by source
            """,
            [outcome.run_id],
        ).fetchall()
    per_source = {
        source: {
            "files": files,
            "failed_files": failed,
            "rows_read": int(read or 0),
            "rows_loaded": int(loaded or 0),
            "rows_quarantined": int(quarantined or 0),
            "rows_duplicate": int(duplicate or 0),
            "unreconciled_files": unreconciled,
        }
        for source, files, failed, read, loaded, quarantined, duplicate, unreconciled in rows
    }
    totals = {
        key: sum(s[key] for s in per_source.values())
        for key in (
            "files",
            "failed_files",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            "rows_duplicate",
            "unreconciled_files",
        )
    }
    events = sum(per_source.get(s, {}).get("rows_loaded", 0) for s in ("events", "message_events"))
    _write_figures(
        layout,
        stage,
        {
            "run_id": outcome.run_id,
            "checks_failed": outcome.checks_failed,
            **totals,
            "events_loaded": events,
            "sources": per_source,
        },
    )


def run_results_summary(target: Path) -> dict[str, Any]:
    """Models, tests and their timings from the newest run_results.json under `target`."""
    found = sorted(target.rglob("run_results.json"), key=lambda path: path.stat().st_mtime)
    if not found:
        raise BenchmarkError(f"no run_results.json under {target}")
    run_results = json.loads(found[-1].read_text())
    results = run_results["results"]
    manifest_path = found[-1].with_name("manifest.json")
    nodes = json.loads(manifest_path.read_text())["nodes"] if manifest_path.exists() else {}
    models = []
    tests = {"pass": 0, "warn": 0, "fail": 0, "error": 0, "skipped": 0}
    for result in results:
        unique_id = result["unique_id"]
        kind = unique_id.split(".")[0]
        if kind in ("test", "unit_test"):
            tests[result["status"]] = tests.get(result["status"], 0) + 1
            continue
        response = result.get("adapter_response") or {}
        rows = response.get("rows_affected")
        models.append(
            {
                "name": unique_id.split(".")[-1],
                "kind": kind,
                "status": result["status"],
                "seconds": result["execution_time"],
                "materialized": nodes.get(unique_id, {}).get("config", {}).get("materialized"),
                "rows_affected": rows if isinstance(rows, int) and rows >= 0 else None,
            }
        )
    models.sort(key=lambda model: model["seconds"], reverse=True)
    errors = [m["name"] for m in models if m["status"] not in ("success", "pass")]
    return {
        "nodes": len(results),
        # dbt's own wall time of the invocation (its start-up and parse excluded)
        "dbt_elapsed_seconds": run_results.get("elapsed_time"),
        "models": len(models),
        "model_seconds": sum(m["seconds"] for m in models),
        "rows_affected": sum(m["rows_affected"] or 0 for m in models),
        "errors": errors,
        "tests": tests,
        "timings": models,
    }


def _model_rows(db: Path) -> dict[str, int]:
    """Rows of every table the dbt project built (estimated counts from DuckDB's catalog)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select schema_name || '.' || table_name, estimated_size from duckdb_tables() "
            "where schema_name not in ('raw', 'reverse_etl', 'main')"
        ).fetchall()
    return {name: int(size) for name, size in rows}


def child_dbt(layout: Layout, stage: str) -> None:
    """The dbt assets through Dagster: `dbt build` of every model, seed and test."""
    from omni360.settings import Settings
    from orchestration.definitions import build_definitions

    defs = build_definitions(Settings.resolve())
    keys = next(
        assets.keys
        for assets in defs.assets or []
        if getattr(assets, "node_def", None) is not None
        and assets.node_def.name == "omni360_dbt_models"
    )
    outcome = _run_assets(sorted(keys), include_syncs=False)
    summary = run_results_summary(layout.dbt_dir(stage) / "target")
    summary.update(
        run_id=outcome.run_id,
        assets=outcome.materialized,
        checks_passed=outcome.checks_passed,
        checks_failed=outcome.checks_failed,
        checks_warned=outcome.checks_warned,
        table_rows=_model_rows(layout.db),
    )
    _write_figures(layout, stage, summary)


def child_syncs(layout: Layout, stage: str) -> None:
    """The `syncs/*` assets through Dagster, to the local channel emulator."""
    from omni360.cli_syncs import export_dir
    from omni360.settings import Settings
    from orchestration.definitions import build_definitions
    from orchestration.syncs import GROUP
    from reverse_etl.channels import ChannelMode, channels, delivered_summary
    from reverse_etl.config import load_syncs

    settings = Settings.resolve()
    defs = build_definitions(settings)
    keys = sorted(
        key
        for assets in defs.assets or []
        if hasattr(assets, "keys")
        for key in assets.keys
        if key.path[0] == GROUP
    )
    with channels(ChannelMode.EMULATOR, load_syncs(), export_dir(settings)) as emulator:
        outcome = _run_assets(keys, include_syncs=True)
        delivered = delivered_summary(emulator) if emulator else []
    _write_figures(
        layout,
        stage,
        {
            "run_id": outcome.run_id,
            "syncs": len(keys),
            "checks_failed": outcome.checks_failed,
            "records_delivered": sum(row["records"] for row in delivered),
            "requests": sum(row["requests"] for row in delivered),
            "providers": delivered,
        },
    )


def child_stitch(layout: Layout, stage: str) -> None:
    """scipy's connected components on the edges the warehouse stitched, against the
    warehouse's own `int_identity__components`, node by node."""
    import duckdb
    import numpy as np
    import pandas as pd
    from scipy.sparse import coo_array
    from scipy.sparse.csgraph import connected_components

    from bench.stitching import Partition, count_mismatches

    compiled = next(layout.dbt_dir("dbt_build").rglob(f"compiled/**/{COMPONENTS_MODEL}.sql"))
    edges_sql = compiled.read_text()
    with duckdb.connect(str(layout.db), read_only=True) as con:
        started = time.perf_counter()
        edges = con.execute(edges_sql).fetchnumpy()
        exported = time.perf_counter() - started
        sql_side = con.execute(
            f"select node_id, component_id from {_relation(con, COMPONENTS_MODEL)}"
        ).fetchnumpy()
    node_a = np.asarray(edges["node_a"], dtype=np.int64)
    node_b = np.asarray(edges["node_b"], dtype=np.int64)
    started = time.perf_counter()
    codes, node_ids = pd.factorize(np.concatenate([node_a, node_b]))
    relabelled = time.perf_counter()
    nodes = node_ids.size
    matrix = coo_array(
        (np.ones(node_a.size), (codes[: node_a.size], codes[node_a.size :])), shape=(nodes, nodes)
    ).tocsr()
    built = time.perf_counter()
    components, labels = connected_components(matrix, directed=False)
    finished = time.perf_counter()
    smallest = pd.Series(node_ids).groupby(labels).min().to_numpy()
    scipy_partition = Partition(np.asarray(node_ids), smallest[labels])
    sql_partition = Partition(
        np.asarray(sql_side["node_id"], dtype=np.int64),
        np.asarray(sql_side["component_id"], dtype=np.int64),
    )
    mismatching = count_mismatches(sql_partition, scipy_partition)
    same = (
        mismatching == 0
        and sql_partition.nodes == scipy_partition.nodes
        and sql_partition.components == components
    )
    _write_figures(
        layout,
        stage,
        {
            "edges": int(node_a.size),
            "nodes": int(nodes),
            "components": int(components),
            "sql_nodes": sql_partition.nodes,
            "sql_components": sql_partition.components,
            "export_seconds": exported,
            "relabel_seconds": relabelled - started,
            "build_seconds": built - relabelled,
            "cc_seconds": finished - built,
            "scipy_seconds": finished - started,
            "mismatching_nodes": mismatching,
            "partition_match": bool(same),
        },
    )


def _relation(con: Any, name: str) -> str:
    schema = con.execute(
        "select schema_name from duckdb_tables() where table_name = ? limit 1", [name]
    ).fetchone()
    if schema is None:
        raise BenchmarkError(f"no table {name} in the warehouse")
    return f'"{schema[0]}"."{name}"'


CHILDREN = {
    "parse": child_parse,
    "ingest": child_ingest,
    "next_day_ingest": child_ingest,
    "dbt_build": child_dbt,
    "next_day_build": child_dbt,
    "syncs": child_syncs,
    "stitching": child_stitch,
}


# --- the run --------------------------------------------------------------------------------


def plain_dbt_command(target: Path) -> list[str]:
    """`dbt build` of the whole project outside Dagster, its artifacts under `target`."""
    return [
        str(BIN / "dbt"),
        "build",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target),
    ]


def plain_dbt_build(layout: Layout) -> Stage:
    """`dbt build` of the same project on the copy of the warehouse, outside Dagster."""
    target = layout.dbt_dir("plain_dbt_build") / "target"
    env = {**_environment(layout, "plain_dbt_build"), "OMNI360_DB": str(layout.plain_db)}
    stage = run_stage("plain_dbt_build", plain_dbt_command(target), layout, env)
    stage.figures = run_results_summary(target)
    stage.figures["table_rows"] = _model_rows(layout.plain_db)
    return stage


def generate(layout: Layout, customers: int, days: int, seed: int) -> Stage:
    command = [
        str(BIN / "omni360"),
        "generate",
        "--landing",
        str(layout.landing),
        "--truth",
        str(layout.truth),
        "--customers",
        str(customers),
        "--days",
        str(days),
        "--seed",
        str(seed),
    ]
    stage = run_stage("generate", command, layout)
    stage.figures = landing_size(layout.landing)
    stage.figures["rows"] = _truth_rows(layout.truth)
    return stage


def _truth_rows(truth: Path) -> int:
    import csv

    with (truth / "expected_duplicates.csv").open() as handle:
        return sum(int(row["rows"]) for row in csv.DictReader(handle))


def _copy_warehouse(source: Path, target: Path) -> float:
    """Copy a warehouse file over another (a stale write-ahead log of the target goes first);
    the seconds it took."""
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.with_suffix(".duckdb.wal").unlink(missing_ok=True)
    shutil.copy(source, target)
    return time.perf_counter() - started


class StageLog(dict[str, Stage]):
    """The stages measured so far, written to a file after each one: a run stopped or
    failed half way still leaves the figures of every stage it finished (and `meta`: what
    `--resume` needs besides them)."""

    def __init__(self, path: Path, label: str, customers: int) -> None:
        super().__init__()
        self.path, self.label, self.customers = path, label, customers
        self.meta: dict[str, Any] = {}

    def __setitem__(self, name: str, stage: Stage) -> None:
        super().__setitem__(name, stage)
        partial = {
            "scale": self.label,
            "customers": self.customers,
            "complete": False,
            "load_average": list(os.getloadavg()),
            "meta": self.meta,
            "stages": {key: asdict(value) for key, value in self.items()},
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(partial, indent=2, default=str) + "\n")


def _resumed(layout: Layout, stages: StageLog) -> None:
    """Take the landing zone and the ingested warehouse of a run that stopped after its
    ingest (`--resume`, with the work folder kept): the warehouse comes back from the copy
    taken right after the ingest, so the build that follows is a full one again."""
    if not stages.path.exists():
        raise BenchmarkError(f"nothing to resume: no {stages.path}")
    partial = json.loads(stages.path.read_text())
    if partial["customers"] != stages.customers or "ingest" not in partial["stages"]:
        raise BenchmarkError(f"{stages.path} is not a run of this scale past its ingest")
    if "plain_dbt_build" in partial["stages"]:
        raise BenchmarkError(
            f"{stages.path}: its plain dbt build has built (and removed) the copy taken after "
            "the ingest; nothing is left to resume from (run again without --resume)"
        )
    if not layout.plain_db.exists() or not layout.held.exists():
        raise BenchmarkError(f"the work folder {layout.work} was not kept (--keep)")
    stages.meta.update(partial["meta"])
    for name in ("generate", "ingest"):
        stages[name] = Stage(**partial["stages"][name])
    seconds = _copy_warehouse(layout.plain_db, layout.db)
    stages.meta.setdefault("warehouse_copy_seconds", seconds)
    _progress(f"resumed after the ingest of {stages.path}")


def run_benchmark(
    customers: int,
    days: int,
    seed: int,
    layout: Layout,
    label: str,
    partial_path: Path,
    resume: bool = False,
) -> dict[str, Any]:
    load_before = os.getloadavg()
    stages = StageLog(partial_path, label, customers)
    if resume:
        _resumed(layout, stages)
    else:
        if layout.work.exists():
            shutil.rmtree(layout.work)
        layout.work.mkdir(parents=True)
        stages["generate"] = generate(layout, customers, days, seed)
        stages.meta["held_back"] = asdict(hold_back_last_day(layout.landing, layout.held))
    held = stages.meta["held_back"]
    _progress(
        f"held back {held['files']} files of {held['day']} ({held['bytes'] / 2**20:,.1f} MiB)"
    )
    parse = run_stage("parse", _child("parse", layout), layout)
    if not resume:
        stages["ingest"] = run_stage("ingest", _child("ingest", layout), layout)
        stages.meta["warehouse_copy_seconds"] = _copy_warehouse(layout.db, layout.plain_db)
    stages["plain_dbt_build"] = plain_dbt_build(layout)
    # The built copy is not needed again: at 1m each built warehouse takes tens of GB.
    shutil.rmtree(layout.plain_db.parent)
    stages["dbt_build"] = run_stage("dbt_build", _child("dbt_build", layout), layout)
    stages["syncs"] = run_stage("syncs", _child("syncs", layout), layout)
    stages["stitching"] = run_stage("stitching", _child("stitching", layout), layout)
    release_held_back(layout.held, layout.landing)
    stages["next_day_ingest"] = run_stage(
        "next_day_ingest", _child("next_day_ingest", layout), layout
    )
    stages["next_day_build"] = run_stage("next_day_build", _child("next_day_build", layout), layout)
    load_after = os.getloadavg()
    copy_seconds = stages.meta["warehouse_copy_seconds"]
    result = report(
        label, customers, days, seed, stages, held, copy_seconds, (load_before, load_after)
    )
    result["dbt_parse_seconds"] = parse.seconds
    result["resumed"] = resume
    return result


def _model_seconds(stage: Stage, name: str) -> float | None:
    for model in stage.figures.get("timings", []):
        if model["name"] == name:
            return float(model["seconds"])
    return None


def _rows_processed(stage: Stage, before: dict[str, int] | None = None) -> int:
    """Rows the build wrote: `rows_affected` where the adapter reports it (seeds); for an
    incremental model the rows its table gained over `before` (the tables after the previous
    build; all of them in a first build); for a table, all its rows (it is rebuilt)."""
    rows = stage.figures.get("table_rows", {})
    before = before or {}
    total = 0
    for model in stage.figures.get("timings", []):
        if model["status"] not in ("success", "pass") or model["kind"] not in ("model", "seed"):
            continue
        if model["rows_affected"] is not None:
            total += model["rows_affected"]
            continue
        table = next((name for name in rows if name.endswith("." + model["name"])), None)
        if table is None:  # a view: it writes nothing
            continue
        if model.get("materialized") == "incremental":
            total += max(rows[table] - before.get(table, 0), 0)
        else:
            total += rows[table]
    return total


def report(
    label: str,
    customers: int,
    days: int,
    seed: int,
    stages: dict[str, Stage],
    held: dict[str, Any],
    copy_seconds: float,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> dict[str, Any]:
    ingest, build = stages["ingest"], stages["dbt_build"]
    next_build, plain = stages["next_day_build"], stages["plain_dbt_build"]
    stitch = stages["stitching"].figures
    e2e_seconds = sum(stages[name].seconds for name in END_TO_END)
    e2e_peak = max(stages[name].peak_rss_mib for name in END_TO_END)
    events = ingest.figures["events_loaded"] + stages["next_day_ingest"].figures["events_loaded"]
    sql_cc = _model_seconds(build, COMPONENTS_MODEL)
    overhead = build.seconds / plain.seconds - 1
    # Dagster's cost within the same build: its stage's wall time over dbt's own elapsed time
    # for that invocation (same data, same moment; dbt's start-up and parse count as Dagster's).
    dbt_elapsed = build.figures.get("dbt_elapsed_seconds")
    overhead_same_build = build.seconds / dbt_elapsed - 1 if dbt_elapsed else None
    incremental = next_build.seconds / build.seconds
    full_rows = _rows_processed(build)
    next_rows = _rows_processed(next_build, build.figures.get("table_rows"))
    at_target_scale = customers >= TARGET_CUSTOMERS
    targets = [
        {
            "target": f"end to end (ingest + dbt build + syncs) < {TARGET_E2E_SECONDS:.0f} s",
            "value": e2e_seconds,
            "limit": TARGET_E2E_SECONDS,
            "pass": e2e_seconds < TARGET_E2E_SECONDS,
            "applies": at_target_scale,
        },
        {
            "target": f"peak memory of the end-to-end stages < {TARGET_PEAK_MIB:,.0f} MiB",
            "value": e2e_peak,
            "limit": TARGET_PEAK_MIB,
            "pass": e2e_peak < TARGET_PEAK_MIB,
            "applies": at_target_scale,
        },
        {
            "target": f"Dagster overhead on the dbt build < {TARGET_DAGSTER_OVERHEAD:.0%}",
            "value": overhead,
            "limit": TARGET_DAGSTER_OVERHEAD,
            "pass": overhead < TARGET_DAGSTER_OVERHEAD,
            "applies": True,
        },
        {
            "target": f"next day's build < {TARGET_INCREMENTAL_SHARE:.0%} of a full build",
            "value": incremental,
            "limit": TARGET_INCREMENTAL_SHARE,
            "pass": incremental < TARGET_INCREMENTAL_SHARE,
            "applies": True,
        },
    ]
    checks = {
        "partition_match": bool(stitch["partition_match"]),
        "files_reconcile": ingest.figures["unreconciled_files"] == 0
        and stages["next_day_ingest"].figures["unreconciled_files"] == 0,
        "no_failed_files": ingest.figures["failed_files"] == 0
        and stages["next_day_ingest"].figures["failed_files"] == 0,
        "dbt_build_clean": not build.figures["errors"] and not next_build.figures["errors"],
        "plain_dbt_build_clean": not plain.figures["errors"],
        "next_day_processed_fewer_rows": next_rows < full_rows,
    }
    return {
        "scale": label,
        "customers": customers,
        "days": days,
        "seed": seed,
        "environment": environment(),
        "load_average": {"before": list(load[0]), "after": list(load[1])},
        "duckdb_memory_limit": os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT),
        "dbt_excluded_resource_types": os.environ.get(EXCLUDE_ENV, "unit_test"),
        "held_back": held,
        "warehouse_copy_seconds": copy_seconds,
        "stages": {name: asdict(stage) for name, stage in stages.items()},
        "end_to_end": {
            "stages": list(END_TO_END),
            "seconds": e2e_seconds,
            "peak_rss_mib": e2e_peak,
            "events": events,
            "events_per_second": events / e2e_seconds,
            "rows_loaded_per_second": ingest.figures["rows_loaded"] / ingest.seconds,
            "note": "generation excluded; events = raw events + message events loaded",
        },
        "ratios": {
            "dagster_build_seconds": build.seconds,
            "plain_dbt_build_seconds": plain.seconds,
            "dagster_overhead": overhead,
            "dbt_elapsed_in_dagster_build_seconds": dbt_elapsed,
            "dagster_overhead_same_build": overhead_same_build,
            "next_day_build_seconds": next_build.seconds,
            "full_build_seconds": build.seconds,
            "next_day_to_full_build": incremental,
            "full_build_rows": full_rows,
            "next_day_build_rows": next_rows,
            "sql_stitching_seconds": sql_cc,
            "scipy_stitching_seconds": stitch["scipy_seconds"],
            "sql_to_scipy_stitching": (sql_cc / stitch["scipy_seconds"]) if sql_cc else None,
        },
        "stitching": stitch,
        "top_models": build.figures["timings"][:15],
        "targets": targets,
        "checks": checks,
    }


def environment() -> dict[str, Any]:
    import duckdb

    return {
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PHYS_PAGES") * PAGE_SIZE / 2**30, 1),
        "platform": platform.platform(),
    }


# --- output ---------------------------------------------------------------------------------


def _stage_rate(name: str, stage: dict[str, Any]) -> str:
    figures, seconds = stage["figures"], stage["seconds"]
    if name in ("ingest", "next_day_ingest"):
        return f"{figures['rows_loaded'] / seconds:,.0f} rows loaded/s"
    if name == "generate":
        return f"{figures['rows'] / seconds:,.0f} rows written/s"
    if name == "syncs":
        return f"{figures['records_delivered'] / seconds:,.0f} records/s"
    if name in ("dbt_build", "next_day_build", "plain_dbt_build"):
        return f"{figures['models']} models, {sum(figures['tests'].values())} tests"
    return ""


def format_report(result: dict[str, Any]) -> str:
    lines = [
        f"Scale benchmark: {result['customers']:,} customers, {result['days']} days "
        f"(DuckDB {result['environment']['duckdb']}, {result['environment']['cpus']} CPUs, "
        f"load average {result['load_average']['before'][0]:.1f} before, "
        f"{result['load_average']['after'][0]:.1f} after; one run)",
        "",
    ]
    rows = [("stage", "seconds", "peak MiB", "throughput")]
    for name, stage in result["stages"].items():
        rows.append(
            (
                name,
                f"{stage['seconds']:,.1f}",
                f"{stage['peak_rss_mib']:,.0f}",
                _stage_rate(name, stage),
            )
        )
    e2e = result["end_to_end"]
    rows.append(
        (
            "end to end (ingest+build+syncs)",
            f"{e2e['seconds']:,.1f}",
            f"{e2e['peak_rss_mib']:,.0f}",
            f"{e2e['events_per_second']:,.0f} events/s",
        )
    )
    lines.append(text_table(rows))
    ratios, stitch = result["ratios"], result["stitching"]
    sql_cc = ratios["sql_stitching_seconds"]
    lines += [
        "",
        f"Dagster dbt build / plain dbt build: {ratios['dagster_build_seconds']:,.1f} / "
        f"{ratios['plain_dbt_build_seconds']:,.1f} s = overhead {ratios['dagster_overhead']:+.1%}",
        (
            f"Dagster dbt build / dbt's own time in it: {ratios['dagster_build_seconds']:,.1f} / "
            f"{ratios['dbt_elapsed_in_dagster_build_seconds']:,.1f} s = overhead "
            f"{ratios['dagster_overhead_same_build']:+.1%}"
        )
        if ratios.get("dagster_overhead_same_build") is not None
        else "Dagster dbt build / dbt's own time in it: n/a",
        f"next day build / full build: {ratios['next_day_build_seconds']:,.1f} / "
        f"{ratios['full_build_seconds']:,.1f} s = {ratios['next_day_to_full_build']:.1%} "
        f"(rows written {ratios['next_day_build_rows']:,} / {ratios['full_build_rows']:,})",
        f"stitching, {stitch['edges']:,} edges, {stitch['nodes']:,} nodes: SQL "
        + (f"{sql_cc:,.2f} s" if sql_cc is not None else "n/a")
        + f" vs scipy {stitch['scipy_seconds']:,.2f} s"
        + (f" = {ratios['sql_to_scipy_stitching']:,.1f}x" if sql_cc else "")
        + f"; partition {'MATCH' if stitch['partition_match'] else 'DIFFERS'}"
        f" ({stitch['mismatching_nodes']:,} nodes differ)",
        "",
        "Top models of the full build:",
    ]
    lines.append(
        text_table(
            [("model", "seconds")]
            + [(m["name"], f"{m['seconds']:,.2f}") for m in result["top_models"]]
        )
    )
    lines += ["", "Targets (set for 1,000,000 customers; generation excluded):"]
    for target in result["targets"]:
        verdict = "PASS" if target["pass"] else "FAIL"
        if not target["applies"]:
            verdict += f" (at {result['customers']:,} customers; the target is for 1m)"
        value, limit = target["value"], target["limit"]
        shown = f"{value:.1%}" if limit < 1 else f"{value:,.1f}"
        lines.append(f"  {verdict:<4}  {target['target']}: {shown}")
    lines += ["", "Checks:"]
    lines += [f"  {'OK' if ok else 'FAILED':<6}  {name}" for name, ok in result["checks"].items()]
    return "\n".join(lines)


def write_chart(result: dict[str, Any], path: Path) -> None:
    """Stage times and peak memory; Dagster against plain dbt; next day against full."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    stages = result["stages"]
    names = list(stages)
    ratios = result["ratios"]
    figure = make_subplots(
        rows=2,
        cols=2,
        subplot_titles=(
            "wall time per stage (s)",
            "peak memory of the stage's process tree (MiB)",
            "dbt build: Dagster vs plain dbt (s)",
            "dbt build: next day vs full (s)",
        ),
    )
    figure.add_trace(go.Bar(x=names, y=[stages[n]["seconds"] for n in names]), row=1, col=1)
    figure.add_trace(go.Bar(x=names, y=[stages[n]["peak_rss_mib"] for n in names]), row=1, col=2)
    figure.add_hline(y=TARGET_PEAK_MIB, line_dash="dot", row=1, col=2)
    figure.add_trace(
        go.Bar(
            x=["Dagster", "plain dbt"],
            y=[ratios["dagster_build_seconds"], ratios["plain_dbt_build_seconds"]],
        ),
        row=2,
        col=1,
    )
    figure.add_trace(
        go.Bar(
            x=["full build", "next day"],
            y=[ratios["full_build_seconds"], ratios["next_day_build_seconds"]],
        ),
        row=2,
        col=2,
    )
    figure.update_layout(
        title=f"omni360 scale benchmark: {result['customers']:,} customers",
        showlegend=False,
        height=800,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.write_html(path, include_plotlyjs=True)


def exit_code(result: dict[str, Any]) -> int:
    missed = any(t["applies"] and not t["pass"] for t in result["targets"])
    return 1 if missed or not all(result["checks"].values()) else 0


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The generated data a benchmark runs on: customers, days of history, seed."""
    parser.add_argument("--scale", default="10k", help="customers: 10k, 100k, 1m… (default 10k)")
    parser.add_argument("--days", type=int, default=120, help="days of history (default 120)")
    parser.add_argument("--seed", type=int, default=42)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=(__doc__ or "").split("\n")[0]
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--work", type=Path, help="work folder (default: data/bench/scale-<SCALE>; emptied first)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="rerun a kept run (--keep) from its dbt build, on the warehouse as ingested; keeps it",
    )
    parser.add_argument("--json", type=Path, help="results file (default: bench/results/…)")
    parser.add_argument("--html", type=Path, help="chart (default: bench/results/…)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    return parser


def keep_logs(layout: Layout, destination: Path) -> Path:
    """Copy the stages' logs and dbt's logs out of the work folder (removed after a failed
    run too, unless --keep), so a failure can be read afterwards."""
    shutil.rmtree(destination, ignore_errors=True)
    if layout.logs.exists():
        shutil.copytree(layout.logs, destination / "stages")
    for log in sorted((layout.work / "dbt").glob("*/**/dbt.log")):
        target = destination / "dbt" / log.relative_to(layout.work / "dbt")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, target)
    return destination


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    label = args.scale.strip().lower()
    if args.child:
        CHILDREN[args.child](Layout(args.work.resolve()), args.child)
        return 0
    try:
        customers = parse_size(label)
    except argparse.ArgumentTypeError as error:
        _parser().error(str(error))
    layout = Layout((args.work or PROJECT_DIR / "data" / "bench" / f"scale-{label}").resolve())
    json_path = args.json or RESULTS_DIR / f"scale-{label}.json"
    html_path = args.html or RESULTS_DIR / f"scale-{label}.html"
    try:
        result = run_benchmark(
            customers,
            args.days,
            args.seed,
            layout,
            label,
            json_path.with_suffix(".partial.json"),
            args.resume,
        )
    except BenchmarkError as error:
        _progress(f"scale benchmark failed: {error}")
        kept = keep_logs(layout, json_path.with_suffix(".logs"))
        _progress(f"the logs of every stage are kept in {kept}")
        return 2
    finally:
        if not (args.keep or args.resume) and layout.work.exists():
            shutil.rmtree(layout.work, ignore_errors=True)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    json_path.with_suffix(".partial.json").unlink(missing_ok=True)
    write_chart(result, html_path)
    print(format_report(result))
    _progress(f"results written to {json_path} and {html_path}")
    return exit_code(result)


if __name__ == "__main__":
    sys.exit(main())
