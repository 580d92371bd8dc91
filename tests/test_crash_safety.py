"""Crash safety of the loader: a load killed at any moment leaves every file whole or absent,
and the next run finishes the job as if nothing had happened.

The loader runs in a child process (`tests/warehouse_process.py`) on a real DuckDB file and
is killed with SIGKILL, which no code can intercept: no `except`, no `finally`, no rollback,
no checkpoint on close. What DuckDB has on disk at that instant is what the next process
finds. The loader is given small batches (`BATCH_ROWS`), so that a small landing zone is
written in many transactions, as a large one is.

Half the kills come at a random moment of the load; as reading files takes most of a load's
time, few of those land inside a transaction. The other half are aimed at the writes: a
random time (up to the median transaction of an uninterrupted load) after one of the run's
first transactions began, so that they land inside its statements or its commit, or just
after it.
"""

from __future__ import annotations

import random
import signal
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from omni360.ingestion.discovery import discover
from tests.warehouse_checks import Warehouse, read_whole_files, same_load
from tests.warehouse_process import KillAt, LoadRun, run_load

CUSTOMERS = 300
DAYS = 7
BROKEN_ROWS = 20
BATCH_ROWS = 500  # records per batch: about 25 transactions for this landing zone
KILLS = 20  # every other one aimed at a write
KILL_SEED = 2026
# Each run resumes where the previous one was killed, so a timed kill's delay is drawn from
# a slice of a full load's duration (`SWEEP` / `KILLS` of it): together the kills walk through
# the whole load, from its first statement to past its last commit, and then start over on
# a new file.
SWEEP = 6.0
WRITES_AHEAD = 3  # an aimed kill follows one of the run's first this many transactions


@dataclass(frozen=True)
class Kill:
    """One killed load: where it was, and what the warehouse showed before and after."""

    kill: KillAt
    run: LoadRun
    wal_left: bool
    before: Warehouse
    after: Warehouse
    all_loaded: bool

    @property
    def where(self) -> str:
        """The child's report of where it was, or 'after last write' when every file was
        already in the warehouse (it was closing, checkpointing, or had nothing left)."""
        return "after last write" if self.all_loaded else self.run.where

    @property
    def mid_write(self) -> bool:
        return self.where in ("mid-transaction", "during commit")

    @property
    def committed(self) -> bool:
        return self.after.log_lines != self.before.log_lines

    @property
    def aimed(self) -> bool:
        return self.kill.word == "begin"


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated landing zone with contract-breaking rows."""
    from omni360.generator import generate

    root = tmp_path_factory.mktemp("crash")
    generate(
        root / "landing",
        root / "truth",
        customers=CUSTOMERS,
        days=DAYS,
        seed=5,
        broken_rows=BROKEN_ROWS,
    )
    return root / "landing"


@dataclass
class KillLoop:
    """Kills spread over loads of the landing zone; a new file each time a load completed."""

    db_dir: Path
    landing: Path
    reference: Warehouse
    kills: list[Kill] = field(default_factory=list)
    finished: list[LoadRun] = field(default_factory=list)  # runs that ended before their kill

    @property
    def db(self) -> Path:
        return self.db_dir / f"round-{len(self.finished) + 1}.duckdb"

    def run(self, span: float, write_span: float) -> None:
        """Kill `KILLS` loads, checking the file after each: every other kill after a seeded
        random delay in [0, span] from the start, the others in [0, write_span] after one of
        the run's first transactions began. A load that ends before its kill has finished
        the job (checked against the reference); the next loads start over on a new file, to
        sweep the load again."""
        rng = random.Random(KILL_SEED)
        before = read_whole_files(self.db, records=False)
        attempt = 0
        while len(self.kills) < KILLS:
            attempt += 1
            if attempt % 2:
                kill = KillAt(rng.uniform(0, span))
            else:
                kill = KillAt(rng.uniform(0, write_span), "begin", rng.randint(1, WRITES_AHEAD))
            run = run_load(self.db, self.landing, BATCH_ROWS, kill)
            assert run.finished or run.returncode == -signal.SIGKILL, run.stderr
            wal_left = Path(f"{self.db}.wal").exists()
            after = read_whole_files(self.db, records=run.finished)
            for file, counts in after.loaded.items():
                assert counts == self.reference.loaded[file], (file, counts)
            if run.finished:
                same_load(after, self.reference)
                self.finished.append(run)
                before = read_whole_files(self.db, records=False)
                continue
            all_loaded = after.loaded.keys() == self.reference.loaded.keys()
            self.kills.append(Kill(kill, run, wal_left, before, after, all_loaded))
            before = after

    def summary(self, reference: LoadRun, final: LoadRun) -> str:
        """The figures of the loop, one line."""
        timed = Counter(kill.where for kill in self.kills if not kill.aimed)
        aimed = Counter(kill.where for kill in self.kills if kill.aimed)
        median = statistics.median(reference.transaction_seconds)
        return (
            f"full load {reference.seconds:.2f} s in {reference.transactions} transactions "
            f"(median {median * 1000:.0f} ms); {len(self.kills)} kills over "
            f"{len(self.finished) + 1} files ({len(self.finished)} loads finished between "
            f"kills): timed {dict(timed)}, aimed {dict(aimed)}; "
            f"mid-write {sum(k.mid_write for k in self.kills)}; "
            f"committed before the kill {sum(k.committed for k in self.kills)}; "
            f"WAL left by {sum(k.wal_left for k in self.kills)}; "
            f"final run {final.seconds:.2f} s in {final.transactions} transactions"
        )


def test_killed_loads_leave_whole_files_and_the_next_run_finishes(
    landing: Path, tmp_path: Path
) -> None:
    """SIGKILL at seeded random moments across the load (before, inside and between batch
    transactions, during commits, after the last one): after each kill the file opens and
    holds whole files only, each with the counts of an uninterrupted load; one run without a
    kill then loads every file exactly once, with the same rows, quarantine and duplicates as
    a reference load of the same landing zone into another file."""
    reference_run = run_load(tmp_path / "reference.duckdb", landing, BATCH_ROWS)
    assert reference_run.finished, reference_run.stderr
    reference = read_whole_files(tmp_path / "reference.duckdb")
    landing_files = {f.relative for files in discover(landing).values() for f in files}
    assert set(reference.loaded) == landing_files
    assert reference.table_rows["_quarantine"] >= BROKEN_ROWS

    loop = KillLoop(tmp_path, landing, reference)
    loop.run(
        span=SWEEP * reference_run.seconds / KILLS,
        write_span=statistics.median(reference_run.transaction_seconds),
    )
    final_run = run_load(loop.db, landing, BATCH_ROWS)
    assert final_run.finished, final_run.stderr
    final = read_whole_files(loop.db)
    print(loop.summary(reference_run, final_run))

    assert set(final.loaded) == landing_files  # each exactly once (checked by the reading)
    same_load(final, reference)
    duplicates = sum(counts[3] for counts in final.loaded.values())
    assert duplicates == sum(counts[3] for counts in reference.loaded.values())
    # The kills landed inside loads and inside their writes, not only before or after them.
    assert any(kill.committed and kill.where != "after last write" for kill in loop.kills)
    assert any(kill.mid_write for kill in loop.kills)
