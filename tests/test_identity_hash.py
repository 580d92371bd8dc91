"""Node ids of the identity graph: distinct identifiers get distinct ids.

At a million customers DuckDB's own `hash` gave these pairs of e-mail addresses one value
(the unique test on `int_identity__nodes.node_id` caught 22 such pairs): strangers would
have been stitched into one customer. `hash_bigint` must keep them apart.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb

from omni360.settings import PROJECT_ROOT
from tests.dbt_runs import DBT

COLLIDING_UNDER_DUCKDB_HASH = [
    ("email:valentyna.savchuk77@gmail.com", "email:valentyna_savchuk27@gmail.com"),
    ("email:valentyna.rudenko13@gmail.com", "email:valentyna_rudenko43@gmail.com"),
    ("email:valentyna.tkachuk65@gmail.com", "email:valentyna_tkachuk35@gmail.com"),
]


def test_the_pairs_do_collide_under_duckdbs_own_hash() -> None:
    with duckdb.connect() as con:
        for left, right in COLLIDING_UNDER_DUCKDB_HASH:
            assert con.execute("select hash(?) = hash(?)", [left, right]).fetchone() == (True,)


def test_hash_bigint_keeps_them_apart(tmp_path: Path) -> None:
    values = ", ".join(
        f"{{{{ hash_bigint(\"'{left}'\") }}}} as left_{n}, "
        f"{{{{ hash_bigint(\"'{right}'\") }}}} as right_{n}"
        for n, (left, right) in enumerate(COLLIDING_UNDER_DUCKDB_HASH)
    )
    result = subprocess.run(
        [DBT, "show", "--inline", f"select {values}", "--target", "lint", "--output", "json",
         "--log-format", "json", "--profiles-dir", ".", "--target-path", str(tmp_path)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DBT_LOG_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    shown = next(
        json.loads(event["data"]["preview"])
        for line in result.stdout.splitlines()
        if line.startswith("{") and "preview" in (event := json.loads(line)).get("data", {})
    )
    (row,) = shown
    for n in range(len(COLLIDING_UNDER_DUCKDB_HASH)):
        assert isinstance(row[f"left_{n}"], int) and row[f"left_{n}"] >= 0
        assert row[f"left_{n}"] != row[f"right_{n}"]
