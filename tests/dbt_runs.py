"""dbt in a child process, on a test's own warehouse file and target folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from omni360.dbt_target import seed_partial_parse
from omni360.settings import PROJECT_ROOT

DBT = str(Path(sys.executable).with_name("dbt"))
# Seeds and models only: dbt's data and unit tests have tests of their own in the suite.
SKIP_TESTS = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
SKIP_SEEDS = ("--exclude-resource-type", "seed")


def build_models(
    db: Path, target: Path, *flags: str, timeout: float = 900
) -> dict[str, dict[str, object]]:
    """`dbt build` of the seeds and models (`flags` narrow or change it) on the warehouse at
    `db`; the run result of each node by name. Fails the test with dbt's output when dbt fails.

    `target` (dbt's target folder and logs) is the caller's: test workers never share one. It
    starts from the project's partial parse when there is one, as `omni360 run` does.
    """
    seed_partial_parse(target)
    result = subprocess.run(
        [DBT, "build", "--profiles-dir", ".", "--target-path", str(target), *SKIP_TESTS, *flags],
        cwd=PROJECT_ROOT,
        env={**os.environ, "OMNI360_DB": str(db), "DBT_LOG_PATH": str(target / "logs")},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1]: r for r in results}
