"""Next-day benchmark: what a day's delivery costs to build, against a full build.

The part of the scale benchmark (`bench.scale`) that measures the incremental models, without
its Dagster build, its syncs or its stitching baseline: at 1m it takes about half as long.
For a number of customers it

1. generates the demo landing zone and holds back the files of its last days (two by
   default, `--next-days`) for every source;
2. ingests the rest (the `raw/*` assets, as the scale benchmark does);
3. runs a full `dbt build` (models, seeds and data tests) with plain dbt;
4. for each held-back day in turn, moves its files in, ingests them, and runs the same
   `dbt build` again: the incremental models extend what the builds before stored.

The first next day follows a bulk load: a run rebuilds the keys of the newest load it has
built, which is then the loader's last batch of each source (up to a million rows), not a
day. From the second next day on, the load taken again is the previous day's, as in daily
running.

It prints every build's wall time and peak memory, each next day's share of the full build
(the target is 10%), and the incremental models' seconds in each build, and writes them to
`bench/results/next-day-<SCALE>.json`. The exit code is 1 when a next day misses the target,
2 when a stage fails.

    python -m bench.next_day --scale 100k
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from itertools import count, takewhile
from pathlib import Path
from typing import Any

from bench.scale import (
    PROJECT_DIR,
    RESULTS_DIR,
    TARGET_INCREMENTAL_SHARE,
    BenchmarkError,
    Layout,
    Stage,
    _child,
    _environment,
    _progress,
    add_data_arguments,
    generate,
    keep_logs,
    parse_size,
    plain_dbt_command,
    run_results_summary,
    run_stage,
)
from bench.tables import text_table
from omni360.generator.next_day import hold_back_last_day, release_held_back


def dbt_build(layout: Layout, name: str) -> Stage:
    """`dbt build` of the project on the run's warehouse, outside Dagster."""
    target = layout.dbt_dir(name) / "target"
    stage = run_stage(name, plain_dbt_command(target), layout, _environment(layout, name))
    stage.figures = run_results_summary(target)
    return stage


def next_day_stage(day: int, step: str) -> str:
    """The stage name of a next day's `step` (ingest or build): `next_day_build` for the
    first, `next_day_2_build` for the second..."""
    return f"next_day_{step}" if day == 1 else f"next_day_{day}_{step}"


def incremental_models(full: Stage, next_day: Stage) -> list[dict[str, Any]]:
    """The models the next day built incrementally: seconds in each build, slowest first."""
    full_seconds = {model["name"]: model["seconds"] for model in full.figures["timings"]}
    return [
        {
            "name": model["name"],
            "full_seconds": full_seconds.get(model["name"]),
            "next_day_seconds": model["seconds"],
        }
        for model in next_day.figures["timings"]
        if model["materialized"] == "incremental"
    ]


def summary(label: str, stages: dict[str, Stage]) -> dict[str, Any]:
    full = stages["full_build"]
    days = takewhile(lambda day: next_day_stage(day, "build") in stages, count(1))
    builds = [stages[next_day_stage(day, "build")] for day in days]
    next_days = [
        {
            "day": day,
            "build": build.name,
            "share": build.seconds / full.seconds,
            "incremental_models": incremental_models(full, build),
        }
        for day, build in enumerate(builds, start=1)
    ]
    return {
        "scale": label,
        "load_average": list(os.getloadavg()),
        "stages": {name: asdict(stage) for name, stage in stages.items()},
        "next_days": next_days,
        "target_met": all(day["share"] < TARGET_INCREMENTAL_SHARE for day in next_days),
    }


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _model_seconds(
    next_days: list[dict[str, Any]],
) -> list[tuple[str, float | None, list[float | None]]]:
    """Each incremental model (in the order the next days first list it): its seconds in the
    full build and in each next day (None where that build did not list it)."""
    per_day = [
        {model["name"]: model["next_day_seconds"] for model in day["incremental_models"]}
        for day in next_days
    ]
    full = {
        model["name"]: model["full_seconds"]
        for day in next_days
        for model in day["incremental_models"]
    }
    return [(name, seconds, [day.get(name) for day in per_day]) for name, seconds in full.items()]


def format_summary(result: dict[str, Any]) -> str:
    stages = result["stages"]
    next_days = result["next_days"]
    rows = [("stage", "seconds", "peak MiB")] + [
        (name, f"{stage['seconds']:,.1f}", f"{stage['peak_rss_mib']:,.0f}")
        for name, stage in stages.items()
    ]
    models = [("incremental model", "full build s", *(f"next day {d['day']} s" for d in next_days))]
    models += [
        (name, _seconds(full), *(_seconds(seconds) for seconds in by_day))
        for name, full, by_day in _model_seconds(next_days)
    ]
    verdict = "met" if result["target_met"] else "missed"
    shares = [f"next day {day['day']} / full build: {day['share']:.1%}" for day in next_days]
    return "\n".join(
        [
            text_table(rows),
            "",
            text_table(models),
            "",
            *shares,
            f"target {TARGET_INCREMENTAL_SHARE:.0%} on every next day: {verdict}",
        ]
    )


def run(customers: int, days: int, seed: int, next_days: int, layout: Layout) -> dict[str, Stage]:
    if layout.work.exists():
        shutil.rmtree(layout.work)
    layout.work.mkdir(parents=True)
    stages = {"generate": generate(layout, customers, days, seed)}
    held = [layout.held / f"day-{day}" for day in range(1, next_days + 1)]
    for folder in reversed(held):  # the last day first: each call holds back the latest left
        hold_back_last_day(layout.landing, folder)
    stages["ingest"] = run_stage("ingest", _child("ingest", layout), layout)
    stages["full_build"] = dbt_build(layout, "full_build")
    for day, folder in enumerate(held, start=1):
        release_held_back(folder, layout.landing)
        ingest = next_day_stage(day, "ingest")
        stages[ingest] = run_stage(ingest, _child("next_day_ingest", layout), layout)
        build = next_day_stage(day, "build")
        stages[build] = dbt_build(layout, build)
    return stages


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.next_day", description=(__doc__ or "").split("\n")[0]
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--work",
        type=Path,
        help="work folder (default: data/bench/next-day-<SCALE>; emptied first)",
    )
    parser.add_argument(
        "--next-days",
        type=int,
        choices=range(1, 8),
        default=2,
        metavar="N",
        help="days held back and built one after the other (default 2; 1 to 7)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    parser.add_argument("--json", type=Path, help="results file (default: bench/results/…)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    label = args.scale.strip().lower()
    try:
        customers = parse_size(label)
    except argparse.ArgumentTypeError as error:
        _parser().error(str(error))
    work = args.work or PROJECT_DIR / "data" / "bench" / f"next-day-{label}"
    layout = Layout(work.resolve())
    json_path = args.json or RESULTS_DIR / f"next-day-{label}.json"
    try:
        stages = run(customers, args.days, args.seed, args.next_days, layout)
    except BenchmarkError as error:
        _progress(f"next-day benchmark failed: {error}")
        kept = keep_logs(layout, json_path.with_suffix(".logs"))
        _progress(f"the logs of every stage are kept in {kept}")
        return 2
    finally:
        if not args.keep and layout.work.exists():
            shutil.rmtree(layout.work, ignore_errors=True)
    result = summary(label, stages)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    print(format_summary(result))
    _progress(f"results written to {json_path}")
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
