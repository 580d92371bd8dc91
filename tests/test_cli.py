"""The `omni360` command as a user runs it: help everywhere, one-line errors, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

OMNI360 = str(Path(sys.executable).with_name("omni360"))


def omni360(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [OMNI360, *args], capture_output=True, text=True, env=full_env, timeout=600
    )


@pytest.mark.parametrize(
    "command",
    [[], ["generate"], ["run"], ["status"], ["ui"], ["evaluate"], ["dashboard"], ["docs"]],
)
def test_help_on_every_command(command: list[str]) -> None:
    result = omni360(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


@pytest.mark.parametrize("command", ["dashboard", "docs"])
def test_dashboard_and_docs_without_warehouse_say_so(command: str, tmp_path: Path) -> None:
    result = omni360(command, "--db", str(tmp_path / "missing.duckdb"))
    assert result.returncode == 2
    assert "run `omni360 run` first" in result.stderr
    assert not (tmp_path / "missing.duckdb").exists()


def test_run_without_landing_zone_is_one_clear_line(tmp_path: Path) -> None:
    result = omni360("run", "--landing", str(tmp_path / "nowhere"), "--db", str(tmp_path / "w.db"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "does not exist" in lines[0] and "nowhere" in lines[0]
    assert not (tmp_path / "w.db").exists()


def test_landing_dir_from_environment(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    result = omni360(
        "run", env={"LANDING_DIR": str(not_a_folder), "OMNI360_DB": str(tmp_path / "w.db")}
    )
    assert result.returncode == 2
    assert "is not a folder" in result.stderr


def test_status_without_warehouse(tmp_path: Path) -> None:
    result = omni360("status", "--db", str(tmp_path / "missing.duckdb"))
    assert result.returncode == 2
    assert "no warehouse" in result.stderr and "omni360 run" in result.stderr


def test_generate_refuses_a_non_empty_landing_zone(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    (landing / "orders" / "mine.csv").write_text("order_id\n1\n")
    result = omni360("generate", "--landing", str(landing), "--customers", "10")
    assert result.returncode == 2
    assert "error" in result.stderr
    assert (landing / "orders" / "mine.csv").read_text() == "order_id\n1\n"


def test_busy_warehouse_waits_then_says_so(tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(db)!r})
                con.execute("create table t as select 1")
                print("locked", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = omni360("status", "--db", str(db), env={"OMNI360_LOCK_WAIT": "1"})
    finally:
        holder.communicate("")
    assert result.returncode == 3
    assert "in use by another process" in result.stderr
