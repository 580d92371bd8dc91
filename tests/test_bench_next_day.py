"""The next-day benchmark's figures: each next day's share against the target, the
incremental models of every build, and the days it holds back."""

from __future__ import annotations

from pathlib import Path

from bench.next_day import format_summary, next_day_stage, summary
from bench.scale import Stage
from omni360.generator.next_day import hold_back_last_day


def _build(name: str, seconds: float, timings: list[tuple[str, str, float]]) -> Stage:
    return Stage(
        name,
        seconds,
        1024.0,
        {
            "timings": [
                {"name": model, "materialized": materialized, "seconds": model_seconds}
                for model, materialized, model_seconds in timings
            ]
        },
    )


def _stages(*next_day_seconds: float) -> dict[str, Stage]:
    stages = {
        "full_build": _build(
            "full_build",
            200.0,
            [("stg_events", "incremental", 40.0), ("fct_sessions", "table", 30.0)],
        )
    }
    for day, seconds in enumerate(next_day_seconds, start=1):
        name = next_day_stage(day, "build")
        timings = [("stg_events", "incremental", 4.0 + day), ("fct_sessions", "table", 29.0)]
        if day == 1:
            timings.append(("int_new_model", "incremental", 1.5))
        ingest = next_day_stage(day, "ingest")
        stages[ingest] = Stage(ingest, 1.0, 512.0, {})
        stages[name] = _build(name, seconds, timings)
    return stages


def test_the_stages_of_each_next_day_are_named_by_its_number() -> None:
    assert next_day_stage(1, "build") == "next_day_build"
    assert next_day_stage(2, "ingest") == "next_day_2_ingest"


def test_each_next_day_has_its_share_of_the_full_build() -> None:
    result = summary("10k", _stages(50.0, 30.0))
    assert [(day["day"], day["build"], day["share"]) for day in result["next_days"]] == [
        (1, "next_day_build", 0.25),
        (2, "next_day_2_build", 0.15),
    ]


def test_the_target_is_met_only_when_every_next_day_meets_it() -> None:
    assert summary("10k", _stages(50.0, 30.0))["target_met"] is False
    assert summary("10k", _stages(50.0, 19.0))["target_met"] is False
    assert summary("10k", _stages(19.0, 18.0))["target_met"] is True
    assert summary("10k", _stages(19.0))["target_met"] is True


def test_only_the_incremental_models_are_listed_with_both_builds() -> None:
    result = summary("10k", _stages(50.0, 30.0))
    first, second = result["next_days"]
    assert first["incremental_models"] == [
        {"name": "stg_events", "full_seconds": 40.0, "next_day_seconds": 5.0},
        {"name": "int_new_model", "full_seconds": None, "next_day_seconds": 1.5},
    ]
    assert second["incremental_models"] == [
        {"name": "stg_events", "full_seconds": 40.0, "next_day_seconds": 6.0},
    ]


def test_the_report_names_every_share_and_the_verdict() -> None:
    text = format_summary(summary("10k", _stages(50.0, 30.0)))
    assert "next day 1 / full build: 25.0%" in text
    assert "next day 2 / full build: 15.0%" in text
    assert "target 10% on every next day: missed" in text
    models = text.split("incremental model")[1]
    assert "fct_sessions" not in models
    stg_events = next(line for line in models.splitlines() if "stg_events" in line)
    assert stg_events.split() == ["stg_events", "40.00", "5.00", "6.00"]
    new_model = next(line for line in models.splitlines() if "int_new_model" in line)
    assert new_model.split() == ["int_new_model", "1.50"]


def test_holding_back_twice_holds_back_the_last_two_days(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for day in ("2026-10-29", "2026-10-30", "2026-10-31"):
        path = landing / "events" / f"web_{day}.jsonl.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    second = hold_back_last_day(landing, tmp_path / "day-2")
    first = hold_back_last_day(landing, tmp_path / "day-1")
    assert (first.day, second.day) == ("2026-10-30", "2026-10-31")
    assert [path.name for path in (landing / "events").iterdir()] == ["web_2026-10-29.jsonl.gz"]
