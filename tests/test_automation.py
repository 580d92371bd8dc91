"""The sensor on new landing files and the daily schedule."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.automation import daily_schedule, landing_zone_sensor


def _evaluate(cursor: str | None = None) -> dg.SensorResult:
    return landing_zone_sensor(dg.build_sensor_context(cursor=cursor))


def test_sensor_fires_once_per_new_drop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    monkeypatch.setenv("LANDING_DIR", str(landing))
    assert not _evaluate().run_requests  # empty landing zone: nothing to do

    (landing / "orders" / "orders_1.csv").write_text("order_id\n")
    first = _evaluate()
    assert len(first.run_requests) == 1
    assert not _evaluate(first.cursor).run_requests  # same files: no second run

    (landing / "orders" / "orders_2.csv").write_text("order_id\n")
    (landing / "orders" / "readme.txt").write_text("ignored")
    second = _evaluate(first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key != first.run_requests[0].run_key


def test_sensor_skips_with_reason_when_landing_zone_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "nowhere"))
    result = _evaluate()
    assert not result.run_requests
    assert "does not exist" in str(result.skip_reason)


def test_daily_schedule_targets_the_pipeline() -> None:
    assert daily_schedule.cron_schedule == "0 6 * * *"
    assert daily_schedule.job_name == "omni360_pipeline"
