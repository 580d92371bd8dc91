"""Shared fixtures: one generated landing zone with broken rows, run once through the pipeline."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """A small demo landing zone (with contract-breaking rows) loaded and built end to end."""
    from omni360.generator import generate
    from orchestration.runner import run_pipeline

    root = tmp_path_factory.mktemp("pipeline")
    settings = Settings(landing_dir=root / "landing", db_path=root / "omni360.duckdb")
    generate(
        settings.landing_dir,
        root / "truth",
        customers=SMALL_CUSTOMERS,
        seed=7,
        broken_rows=BROKEN_ROWS,
    )
    outcome = run_pipeline(settings, run_id="test-first-run")
    return PipelineRun(settings, root / "truth", outcome)
