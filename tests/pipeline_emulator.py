"""The channel emulator of the tests' shared pipeline run, in a process of its own.

The shared run is built once per session by whichever test worker gets there first, and its
tests then run on every worker: the emulator the run synced to must outlive the worker that
started it, and be read from the others. So it serves from this process until the pytest
process that started the session ends, and a worker reads it through its control endpoints
(`RemoteEmulator`, the same questions the tests ask a `RunningEmulator` in-process).

    python tests/pipeline_emulator.py URL_FILE WATCHED_PID CREDENTIALS_JSON
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reverse_etl.emulator import PROVIDERS, Credentials, EmulatorClient

# Every record of a provider in one answer (the control endpoint pages, 1,000 by default).
ALL = 1_000_000_000
_STARTED: list[subprocess.Popen] = []  # referenced while it serves


class RemoteEmulator:
    """A running emulator of another process, read through its control endpoints."""

    def __init__(self, url: str, credentials: Credentials) -> None:
        self.url = url
        self.credentials = credentials
        self._client = EmulatorClient(url)

    def base_url(self, provider: str) -> str:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})")
        return f"{self.url}/{provider}"

    def stats(self, provider: str | None = None) -> dict[str, Any]:
        stats = self._client.stats()
        return stats["providers"][provider] if provider is not None else stats

    def _snapshot(self, provider: str) -> dict[str, Any]:
        return self._client.state(provider, offset=0, limit=ALL)

    def records(self, provider: str) -> dict[str, Any]:
        snapshot = self._snapshot(provider)
        return snapshot["records"] if snapshot["kind"] == "records" else {}

    def messages(self, provider: str) -> dict[str, Any]:
        snapshot = self._snapshot(provider)
        if snapshot["kind"] == "messages":
            return snapshot["records"]
        if self.stats(provider)["messages"]:
            # The endpoint shows a provider's records before its messages.
            raise NotImplementedError(f"{provider} holds records and messages")
        return {}

    def list_members(self, list_id: str) -> set[str]:
        return set(self._snapshot("klaviyo")["lists"].get(list_id, []))


def start(folder: Path, credentials: Credentials, watched_pid: int) -> RemoteEmulator:
    """Start the emulator process (serving until `watched_pid` ends) and wait for its URL."""
    url_file = folder / "emulator.url"
    project = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [project, os.environ.get("PYTHONPATH")]))
    with (folder / "emulator.log").open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                str(url_file),
                str(watched_pid),
                json.dumps(asdict(credentials)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": path},  # this checkout's packages, as the tests'
            start_new_session=True,  # not in the worker's process group, nor on its pipes
        )
    _STARTED.append(process)
    deadline = time.monotonic() + 60
    while not url_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            log = (folder / "emulator.log").read_text()
            raise RuntimeError(f"the emulator did not start: {log}")
        time.sleep(0.05)
    (folder / "emulator.pid").write_text(str(process.pid))
    return RemoteEmulator(url_file.read_text(), credentials)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(url_file: str, watched_pid: str, credentials: str) -> int:
    from reverse_etl.emulator import start_emulator

    emulator = start_emulator(credentials=json.loads(credentials))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    written = Path(url_file + ".tmp")
    written.write_text(emulator.url)
    written.rename(url_file)
    try:
        while not done.wait(0.2) and _alive(int(watched_pid)):
            pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
