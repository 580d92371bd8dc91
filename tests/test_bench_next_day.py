"""The next-day benchmark's figures: the share against the target, the incremental models."""

from __future__ import annotations

from bench.next_day import format_summary, summary
from bench.scale import Stage


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


def _stages(next_day_seconds: float) -> dict[str, Stage]:
    full = _build(
        "full_build",
        200.0,
        [("stg_events", "incremental", 40.0), ("fct_sessions", "table", 30.0)],
    )
    next_day = _build(
        "next_day_build",
        next_day_seconds,
        [
            ("stg_events", "incremental", 4.0),
            ("fct_sessions", "table", 29.0),
            ("int_new_model", "incremental", 1.5),
        ],
    )
    return {"full_build": full, "next_day_build": next_day}


def test_the_share_is_the_next_day_over_the_full_build() -> None:
    result = summary("10k", _stages(50.0))
    assert result["next_day_share"] == 0.25
    assert result["target_met"] is False
    assert summary("10k", _stages(19.0))["target_met"] is True


def test_only_the_incremental_models_are_listed_with_both_builds() -> None:
    result = summary("10k", _stages(50.0))
    assert result["incremental_models"] == [
        {"name": "stg_events", "full_seconds": 40.0, "next_day_seconds": 4.0},
        {"name": "int_new_model", "full_seconds": None, "next_day_seconds": 1.5},
    ]


def test_the_report_names_the_share_and_the_verdict() -> None:
    text = format_summary(summary("10k", _stages(50.0)))
    assert "next day / full build: 25.0% (target 10%: missed)" in text
    assert "stg_events" in text and "fct_sessions" not in text.split("incremental model")[1]
