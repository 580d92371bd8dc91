"""Two processes on one warehouse file: one at a time, and nothing lost or doubled.

DuckDB lets one process open a file for writing, and then no other process, not even a
reader. `omni360.db.connect` waits for the file up to `OMNI360_LOCK_WAIT` seconds: after
that the second process stops (the CLI with exit code 3 and a message naming the file);
within it, the second process gets the file once the first has closed it. Every process
here is real and works on a real DuckDB file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from omni360.db import DatabaseBusyError, connect
from omni360.ingestion.discovery import discover
from omni360.ingestion.loader import load_landing_file
from tests.warehouse_checks import Warehouse, read_whole_files, same_load
from tests.warehouse_process import Child, child_environment, run_load, start

OMNI360 = str(Path(sys.executable).with_name("omni360"))
SHORT_WAIT = 1  # seconds: the second process gives up
LONG_WAIT = 60  # seconds: the second process outlasts the first
HOLD = 2.0  # seconds the first process keeps the file in the waiting tests


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated landing zone with contract-breaking rows."""
    from omni360.generator import generate

    root = tmp_path_factory.mktemp("concurrency")
    generate(root / "landing", root / "truth", customers=150, days=5, seed=9, broken_rows=10)
    return root / "landing"


@pytest.fixture(scope="module")
def reference(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The landing zone loaded once, by one process alone."""
    db = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    load_landing_file(db, landing)
    return read_whole_files(db)


@pytest.fixture
def loaded_db(landing: Path, tmp_path: Path) -> Path:
    """A warehouse file with the landing zone loaded (no process holds it)."""
    db = tmp_path / "omni360.duckdb"
    load_landing_file(db, landing)
    return db


def _hold(db: Path, read_only: bool = False) -> Child:
    """A child process that holds `db` open until its stdin is closed."""
    child = start("hold", str(db), *(["read-only"] if read_only else []))
    child.wait_for("holding")
    return child


def _release(child: Child) -> None:
    child.process.stdin.close()
    assert child.process.wait(timeout=30) == 0, child.stderr()


def _cli(*args: str, wait: int) -> subprocess.Popen[str]:
    """`omni360 ARGS` in a child process, waiting at most `wait` seconds for the file."""
    env = child_environment(OMNI360_LOCK_WAIT=str(wait), COLUMNS="300")
    return subprocess.Popen(
        [OMNI360, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr (whitespace collapsed) of the ended command."""
    out, err = process.communicate(timeout=300)
    return process.returncode, " ".join(out.split()), " ".join(err.split())


def _assert_one_load(db: Path, landing: Path, reference: Warehouse) -> None:
    """The file opens, every file is whole, and it holds exactly one load of the landing
    zone: each landing file once, the rows and quarantine of the reference load."""
    found = read_whole_files(db)
    assert set(found.loaded) == {f.relative for fs in discover(landing).values() for f in fs}
    same_load(found, reference)


@pytest.fixture
def held(loaded_db: Path) -> Iterator[tuple[Path, Child]]:
    """The loaded warehouse, held open for writing by another process."""
    with _hold(loaded_db) as holder:
        yield loaded_db, holder


def test_busy_warehouse_stops_a_second_process_with_exit_code_3(
    held: tuple[Path, Child], landing: Path, reference: Warehouse
) -> None:
    """While a process holds the write connection, `omni360 status`, `omni360 run` and the
    loader each wait `OMNI360_LOCK_WAIT` seconds and then stop: the CLI with exit code 3 and
    one message naming the file and the other process; the file is untouched."""
    db, holder = held
    commands = {
        "status": ["status", "--db", str(db)],
        "run": ["run", "--landing", str(landing), "--db", str(db), "--channels", "none"],
    }
    started = {name: _cli(*args, wait=SHORT_WAIT) for name, args in commands.items()}
    loader = run_load(db, landing, env={"OMNI360_LOCK_WAIT": str(SHORT_WAIT)})
    for name, process in started.items():
        code, _, err = _finish(process)
        assert code == 3, (name, err)
        assert f"error: {db} is in use by another process" in err, (name, err)
        assert f"waited {SHORT_WAIT} s" in err and "Traceback" not in err, (name, err)
    assert loader.returncode == 1 and loader.words == ["ready"]
    assert f"DatabaseBusyError: {db} is in use by another process" in loader.stderr
    assert loader.seconds >= SHORT_WAIT
    assert holder.process.poll() is None
    _release(holder)
    _assert_one_load(db, landing, reference)


def test_second_loader_waits_for_the_first_then_loads_nothing_twice(
    landing: Path, reference: Warehouse, tmp_path: Path
) -> None:
    """Two loads of one landing zone into one file: the first is stopped (SIGSTOP) inside its
    first transaction, a slow writer; the second, started then, waits for the file, gets it
    only once the first, resumed, has finished and closed it, and finds nothing left to
    load. The file holds exactly one load."""
    db = tmp_path / "omni360.duckdb"
    with start("load", str(db), str(landing)) as first:
        first.process.stdin.close()
        first.wait_for("begin")
        os.kill(first.process.pid, signal.SIGSTOP)
        try:
            second = start("load", str(db), str(landing), OMNI360_LOCK_WAIT=str(LONG_WAIT))
            second.process.stdin.close()
            second_ready = second.wait_for("ready")
            time.sleep(HOLD)
        finally:
            os.kill(first.process.pid, signal.SIGCONT)
        with second:
            first_reports, second_reports = dict(first.rest()), second.rest()
            assert first.process.wait() == 0, first.stderr()
            assert second.process.wait() == 0, second.stderr()
    words = [word for word, _ in second_reports]
    assert words == ["connected", "done"], second.stderr()  # no transaction: nothing new
    connected = dict(second_reports)["connected"]
    assert connected > first_reports["done"] > second_ready + HOLD
    _assert_one_load(db, landing, reference)


def test_status_waits_for_the_writer_then_reports(
    held: tuple[Path, Child], landing: Path, reference: Warehouse
) -> None:
    """With a longer `OMNI360_LOCK_WAIT`, `omni360 status` waits while another process holds
    the file and reports once it is released."""
    db, holder = held
    status = _cli("status", "--db", str(db), wait=LONG_WAIT)
    time.sleep(HOLD)
    assert status.poll() is None, status.communicate()
    _release(holder)
    code, out, err = _finish(status)
    assert code == 0, err
    assert f"Loaded into {db}" in out
    _assert_one_load(db, landing, reference)


def test_readers_beside_a_writer_and_beside_each_other(
    loaded_db: Path, landing: Path, reference: Warehouse, tmp_path: Path
) -> None:
    """DuckDB 2.0 on one file: a read-only connection is refused while another process
    writes (no stale or partial view, no wait inside DuckDB); read-only connections of two
    processes coexist, and then a writer is refused; a copy taken while no process writes
    opens beside the writer."""
    snapshot = tmp_path / "snapshot.duckdb"
    shutil.copy(loaded_db, snapshot)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        expected = con.execute("select count(*) from raw._load_log").fetchone()
    with _hold(loaded_db) as writer:
        with pytest.raises(duckdb.IOException, match="Conflicting lock is held"):
            duckdb.connect(str(loaded_db), read_only=True)
        with pytest.raises(DatabaseBusyError, match="in use by another process"):
            connect(loaded_db, read_only=True, wait_seconds=0.5)
        with duckdb.connect(str(snapshot), read_only=True) as copy:
            assert copy.execute("select count(*) from raw._load_log").fetchone() == expected
        _release(writer)
    with _hold(loaded_db, read_only=True) as reader:
        with duckdb.connect(str(loaded_db), read_only=True) as second:
            assert second.execute("select count(*) from raw._load_log").fetchone() == expected
        with pytest.raises(DatabaseBusyError, match="in use by another process"):
            connect(loaded_db, wait_seconds=0.5)
        _release(reader)
    _assert_one_load(loaded_db, landing, reference)
