"""Real processes on a real warehouse file, for the crash-safety and concurrency tests.

Run as a script, this module is the child process:

    python tests/warehouse_process.py load DB LANDING [BATCH_ROWS]
        `load_landing` of every source into DB (opened with `omni360.db.connect`, closed at the
        end), with `BATCH_ROWS` records per batch when given. It writes one report per line on
        stdout, unbuffered, so that a parent that kills it knows where it was: a word and the
        monotonic clock (shared by every process of the machine). `ready` (imports done, the
        file not yet opened), `connected` (the file is open), `begin` (a transaction is open),
        `commit` (its commit is running), `end` (the commit or rollback returned), `done`
        (loaded and closed).
    python tests/warehouse_process.py hold DB [read-only]
        Opens DB with `omni360.db.connect` (for writing, or read-only), reports `holding`, and
        keeps the file open until its stdin is closed.

Imported, it starts these children and reads their reports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

PROJECT = Path(__file__).resolve().parents[1]
Report = tuple[str, float]  # a word, and when the child wrote it (monotonic clock)


def _say(word: str) -> None:
    """One report line, written at once (no buffer to lose when the process is killed)."""
    os.write(1, f"{word} {time.monotonic():.6f}\n".encode())


class _ReportingConnection:
    """A DuckDB connection that reports where its transactions begin, commit and end."""

    def __init__(self, con: object) -> None:
        self._con = con

    def execute(self, query: str, parameters: object = None) -> object:
        statement = query.strip().lower()
        if statement in ("commit", "rollback"):
            _say("commit" if statement == "commit" else "rollback")
        result = self._con.execute(query, parameters)
        if statement.startswith("begin"):
            _say("begin")
        elif statement in ("commit", "rollback"):
            _say("end")
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def _load(db: Path, landing: Path, batch_rows: int | None) -> None:
    import reverse_etl.engine  # noqa: F401  (imported by load_landing: not part of the load)
    from omni360.db import connect
    from omni360.ingestion import loader

    if batch_rows is not None:
        loader.BATCH_ROWS = batch_rows
    _say("ready")
    con = connect(db)
    _say("connected")
    try:
        loader.load_landing(_ReportingConnection(con), landing)
    finally:
        con.close()
    _say("done")


def _hold(db: Path, read_only: bool) -> None:
    from omni360.db import connect

    con = connect(db, read_only=read_only)
    _say("holding")
    sys.stdin.read()
    con.close()


def parse_reports(text: str) -> list[Report]:
    return [(word, float(at)) for word, at in (line.split() for line in text.splitlines())]


def child_environment(**extra: str) -> dict[str, str]:
    """The environment of a child: this checkout importable, plus `extra`."""
    path = os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


@dataclass
class Child:
    """A child process of this module: stdout is a pipe of reports, stderr goes to a file."""

    process: subprocess.Popen[str]
    log: IO[bytes]

    def wait_for(self, word: str) -> float:
        """Read the child's reports until `word`, and return when it was written; fail if the
        child ends first."""
        while line := self.process.stdout.readline():
            said, at = line.split()
            if said == word:
                return float(at)
        raise AssertionError(f"child ended before {word!r}: {self.stderr()}")

    def rest(self) -> list[Report]:
        """The reports not read yet, once the child has ended."""
        return parse_reports(self.process.stdout.read())

    def stderr(self) -> str:
        """What the child wrote on stderr, once it has ended."""
        self.process.wait()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        """Kill the child if it still runs (a failed test leaves no process behind)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.log):
            if stream is not None and not stream.closed:
                stream.close()


def start(*args: str, **env: str) -> Child:
    """Start this module as a child process with `args` (see the module's docstring)."""
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed with the child)
    process = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=child_environment(**env),
    )
    return Child(process, log)


@dataclass(frozen=True)
class LoadRun:
    """One load in a child process: its reports, its exit code, and its time from `ready` to
    its exit (or its kill)."""

    reports: list[Report]
    returncode: int
    seconds: float
    stderr: str

    @property
    def words(self) -> list[str]:
        return [word for word, _ in self.reports]

    @property
    def transactions(self) -> int:
        return self.words.count("begin")

    @property
    def transaction_seconds(self) -> list[float]:
        """How long each transaction was open, from its `begin` to the end of its commit."""
        begins = [at for word, at in self.reports if word == "begin"]
        ends = [at for word, at in self.reports if word == "end"]
        return [end - begin for begin, end in zip(begins, ends, strict=False)]

    @property
    def finished(self) -> bool:
        return self.returncode == 0 and self.words[-1:] == ["done"]

    @property
    def where(self) -> str:
        """Where a killed load was: before its first transaction, inside a transaction (its
        statements or its commit), between two transactions, or finished."""
        if self.finished:
            return "finished"
        marks = [word for word in self.words if word in ("begin", "commit", "end")]
        if not marks:
            return "before first write"
        return {"begin": "mid-transaction", "commit": "during commit"}.get(
            marks[-1], "between writes"
        )


@dataclass(frozen=True)
class KillAt:
    """When to SIGKILL a load: `delay` seconds after its `count`-th report of `word`."""

    delay: float
    word: str = "ready"
    count: int = 1


def _read_until(child: Child, kill: KillAt) -> list[Report]:
    """The child's reports up to the one that starts the kill's delay (or all of them)."""
    reports: list[Report] = []
    seen = 0
    while line := child.process.stdout.readline():
        word, at = line.split()
        reports.append((word, float(at)))
        seen += word == kill.word
        if seen == kill.count:
            break
    return reports


def run_load(
    db: Path,
    landing: Path,
    batch_rows: int | None = None,
    kill: KillAt | None = None,
    env: dict[str, str] | None = None,
) -> LoadRun:
    """Load `landing` into `db` in a child process (with `env` added to its environment);
    SIGKILL it as `kill` says, unless it has ended by then."""
    args = ["load", str(db), str(landing)]
    if batch_rows is not None:
        args.append(str(batch_rows))
    with start(*args, **(env or {})) as child:
        process = child.process
        process.stdin.close()
        reports = _read_until(child, kill or KillAt(0.0))
        if kill is not None:
            try:
                process.wait(timeout=kill.delay)
            except subprocess.TimeoutExpired:
                process.kill()
        reports += child.rest()
        process.wait()
        ended = time.monotonic()
        if not reports or reports[0][0] != "ready":
            raise AssertionError(f"the load did not start: {child.stderr()}")
        return LoadRun(reports, process.returncode, ended - reports[0][1], child.stderr())


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "load":
        _load(Path(rest[0]), Path(rest[1]), int(rest[2]) if len(rest) > 2 else None)
    elif command == "hold":
        _hold(Path(rest[0]), read_only=rest[1:] == ["read-only"])
    else:
        raise SystemExit(f"unknown command {command!r}")
