"""Next-day benchmark: what a day's delivery costs to build, against a full build.

The part of the scale benchmark (`bench.scale`) that measures the incremental models, without
its Dagster build, its syncs or its stitching baseline: at 1m it takes about half as long.
For a number of customers it

1. generates the demo landing zone and holds back the last day's files of every source;
2. ingests the rest (the `raw/*` assets, as the scale benchmark does);
3. runs a full `dbt build` (models, seeds and data tests) with plain dbt;
4. moves the held-back files in, ingests them, and runs the same `dbt build` again: the
   incremental models extend what the full build stored.

It prints both builds' wall time and peak memory, their ratio (the target is 10%), and the
incremental models' seconds in each build, and writes them to
`bench/results/next-day-<SCALE>.json`. The exit code is 1 when the ratio misses the target,
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
    full, next_day = stages["full_build"], stages["next_day_build"]
    share = next_day.seconds / full.seconds
    return {
        "scale": label,
        "load_average": list(os.getloadavg()),
        "stages": {name: asdict(stage) for name, stage in stages.items()},
        "next_day_share": share,
        "target_met": share < TARGET_INCREMENTAL_SHARE,
        "incremental_models": incremental_models(full, next_day),
    }


def format_summary(result: dict[str, Any]) -> str:
    stages = result["stages"]
    rows = [("stage", "seconds", "peak MiB")] + [
        (name, f"{stage['seconds']:,.1f}", f"{stage['peak_rss_mib']:,.0f}")
        for name, stage in stages.items()
    ]
    models = [("incremental model", "full build s", "next day s")] + [
        (
            model["name"],
            "" if model["full_seconds"] is None else f"{model['full_seconds']:,.2f}",
            f"{model['next_day_seconds']:,.2f}",
        )
        for model in result["incremental_models"]
    ]
    share = result["next_day_share"]
    verdict = "met" if result["target_met"] else "missed"
    target = f"target {TARGET_INCREMENTAL_SHARE:.0%}: {verdict}"
    return "\n".join(
        [
            text_table(rows),
            "",
            text_table(models),
            "",
            f"next day / full build: {share:.1%} ({target})",
        ]
    )


def run(customers: int, days: int, seed: int, layout: Layout) -> dict[str, Stage]:
    if layout.work.exists():
        shutil.rmtree(layout.work)
    layout.work.mkdir(parents=True)
    stages = {"generate": generate(layout, customers, days, seed)}
    hold_back_last_day(layout.landing, layout.held)
    stages["ingest"] = run_stage("ingest", _child("ingest", layout), layout)
    stages["full_build"] = dbt_build(layout, "full_build")
    release_held_back(layout.held, layout.landing)
    stages["next_day_ingest"] = run_stage(
        "next_day_ingest", _child("next_day_ingest", layout), layout
    )
    stages["next_day_build"] = dbt_build(layout, "next_day_build")
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
        stages = run(customers, args.days, args.seed, layout)
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
