"""Shared fixtures: one generated landing zone with broken rows, run once through the pipeline."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from omni360.settings import Settings

SMALL_CUSTOMERS = 300
BROKEN_ROWS = 30


@dataclass(frozen=True)
class PipelineRun:
    settings: Settings
    truth_dir: Path
    outcome: object  # orchestration.runner.RunOutcome
    channels: object  # reverse_etl.emulator.RunningEmulator the syncs delivered to


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


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineRun]:
    """A small demo landing zone (with contract-breaking rows) loaded, built end to end and
    synced to the local channel emulator (alive for the whole session)."""
    from omni360.generator import generate
    from orchestration.runner import run_pipeline
    from reverse_etl.channels import ChannelMode, channels
    from reverse_etl.config import load_syncs

    root = tmp_path_factory.mktemp("pipeline")
    settings = Settings(landing_dir=root / "landing", db_path=root / "omni360.duckdb")
    generate(
        settings.landing_dir,
        root / "truth",
        customers=SMALL_CUSTOMERS,
        seed=7,
        broken_rows=BROKEN_ROWS,
    )
    with channels(ChannelMode.EMULATOR, load_syncs(), root / "exports") as emulator:
        outcome = run_pipeline(settings, run_id=str(uuid.uuid4()))
        yield PipelineRun(settings, root / "truth", outcome, emulator)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n` (pytest-xdist, `--dist loadgroup`), keep a test file on one worker,
    so its module fixtures are built once, and every user of the shared pipeline on one."""
    for item in items:
        group = "pipeline" if "pipeline_run" in item.fixturenames else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
