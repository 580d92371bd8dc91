"""Shared fixtures: one generated landing zone with broken rows, run once through the pipeline.

The run is built once per session, whatever the number of test workers (pytest-xdist): the
first worker to need it builds it under a lock in the session's temporary folder, the others
wait for it and read the same warehouse, Dagster instance and channel emulator. Its tests then
spread over every worker. They read the shared warehouse only (read-only connections: DuckDB
lets several processes read a file, none while one writes); a test that writes gets its own
copy (`writable_pipeline_run`).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from omni360.settings import Settings

pytest_plugins = ("tests.sync_fixtures",)

SMALL_CUSTOMERS = 300
BROKEN_ROWS = 30


@dataclass(frozen=True)
class PipelineRun:
    settings: Settings
    truth_dir: Path
    outcome: object  # orchestration.runner.RunOutcome
    channels: object  # the channel emulator the syncs delivered to (tests/pipeline_emulator.py)
    dagster_home: Path  # the Dagster instance that holds the run


@pytest.fixture(scope="session", autouse=True)
def dagster_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Runs made by the tests go to a throw-away Dagster instance, not the project's."""
    home = tmp_path_factory.mktemp("dagster_home")
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = previous


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of the whole session: every xdist worker's parent folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _environment(run: PipelineRun) -> dict[str, str]:
    """What the run's tests see: its paths, its Dagster instance, the syncs' variables pointed
    at its emulator and its export folder."""
    from reverse_etl.channels import emulated_environment
    from reverse_etl.config import load_syncs

    exports = run.settings.db_path.parent / "exports"
    return {
        "LANDING_DIR": str(run.settings.landing_dir),
        "OMNI360_DB": str(run.settings.db_path),
        "DAGSTER_HOME": str(run.dagster_home),
        **emulated_environment(load_syncs(), run.channels, exports),
    }


def _build(root: Path) -> dict:
    """Generate the landing zone, start the emulator and run the pipeline into `root`."""
    from omni360.generator import generate
    from orchestration.runner import run_pipeline
    from reverse_etl.channels import emulated_credentials, patched_environment
    from reverse_etl.config import load_syncs
    from tests import pipeline_emulator

    settings = Settings(landing_dir=root / "landing", db_path=root / "omni360.duckdb")
    generate(
        settings.landing_dir,
        root / "truth",
        customers=SMALL_CUSTOMERS,
        seed=7,
        broken_rows=BROKEN_ROWS,
    )
    credentials = emulated_credentials(load_syncs())
    # The emulator serves until the session's main pytest process ends (a worker's parent).
    owner = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()
    emulator = pipeline_emulator.start(root, credentials, owner)
    run = PipelineRun(settings, root / "truth", None, emulator, root / "dagster_home")
    with patched_environment(_environment(run)):
        outcome = run_pipeline(settings, run_id=str(uuid.uuid4()))
    return {
        "outcome": asdict(outcome),
        "emulator": emulator.url,
        "credentials": asdict(credentials),
    }


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    """A small demo landing zone (with contract-breaking rows) loaded, built end to end and
    synced to the local channel emulator (alive for the whole session); shared by every
    worker, read-only."""
    from orchestration.runner import RunOutcome
    from reverse_etl.channels import patched_environment
    from reverse_etl.emulator import Credentials
    from tests.pipeline_emulator import RemoteEmulator

    shared = session_root(tmp_path_factory)
    root = shared / "pipeline"
    built, failed = root / "built.json", root / "failed.txt"
    with (shared / "pipeline.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held by the builder until the run is over
        if not built.exists() and not failed.exists():
            root.mkdir(exist_ok=True)
            try:
                record = _build(root)
            except BaseException:
                failed.write_text(traceback.format_exc())
                raise
            built.write_text(json.dumps(record))
    if failed.exists():
        raise RuntimeError(f"building the shared pipeline run failed:\n{failed.read_text()}")
    record = json.loads(built.read_text())
    run = PipelineRun(
        Settings(landing_dir=root / "landing", db_path=root / "omni360.duckdb"),
        root / "truth",
        RunOutcome(**record["outcome"]),
        RemoteEmulator(record["emulator"], Credentials.from_mapping(record["credentials"])),
        root / "dagster_home",
    )
    environment = _environment(run)
    # Tests in the pipeline's Dagster instance only while they use the run (fixture below).
    environment.pop("DAGSTER_HOME")
    with patched_environment(environment):
        yield run


@pytest.fixture(autouse=True)
def _pipeline_instance(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test of the pipeline run reads the Dagster instance that holds the run."""
    if "pipeline_run" not in request.fixturenames:
        yield
        return
    from reverse_etl.channels import patched_environment

    run: PipelineRun = request.getfixturevalue("pipeline_run")
    with patched_environment({"DAGSTER_HOME": str(run.dagster_home)}):
        yield


@pytest.fixture
def writable_pipeline_run(pipeline_run: PipelineRun, tmp_path: Path) -> Iterator[PipelineRun]:
    """The pipeline run copied for one test that writes: its warehouse (DuckDB admits no reader
    beside a writer), dashboard, exports and Dagster instance; the landing zone, truth and
    emulator stay shared."""
    from reverse_etl.channels import patched_environment

    source = pipeline_run.settings.db_path.parent
    copy = tmp_path / source.name
    shutil.copytree(
        source,
        copy,
        ignore=shutil.ignore_patterns("landing", "truth", "built.json", "emulator.*"),
    )
    run = PipelineRun(
        Settings(pipeline_run.settings.landing_dir, copy / pipeline_run.settings.db_path.name),
        pipeline_run.truth_dir,
        pipeline_run.outcome,
        pipeline_run.channels,
        copy / pipeline_run.dagster_home.name,
    )
    with patched_environment(_environment(run)):
        yield run


# The slowest files that do not need the shared pipeline run, slowest first: they keep the
# other workers busy while one builds the run.
SLOW_ON_THEIR_OWN = (
    "tests/test_soak.py",
    "tests/test_foreign_landing.py",
    "tests/test_incremental.py",
    "tests/test_identity_stitching.py",
    "tests/test_sync_properties.py",
    "tests/test_consent_properties.py",
    "tests/test_bench_stitching.py",
    "tests/test_bench_scale.py",
    "tests/test_dagster_ui.py",
)


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n` (pytest-xdist, `--dist loadfile --no-loadscope-reorder`: a test file
    stays on one worker, so its module fixtures are built once), hand the files out so that
    the first starts building the shared pipeline run while the next are the slow ones that
    do not need it."""
    pipeline_files = [_file(i) for i in items if "pipeline_run" in i.fixturenames]
    first = pipeline_files[0] if pipeline_files else None

    def rank(item: pytest.Item) -> tuple[int, int]:
        name = _file(item)
        if name == first:
            return (0, 0)
        if name in SLOW_ON_THEIR_OWN:
            return (1, SLOW_ON_THEIR_OWN.index(name))
        return (2 if name in pipeline_files else 3, 0)

    items.sort(key=rank)
