"""A dbt process that a failed step stops reading is ended, so it cannot hold the warehouse."""

from __future__ import annotations

import subprocess
import sys

from orchestration.dbt import stop_if_running


def test_a_running_process_is_stopped() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_if_running(process, grace_seconds=5)
    assert process.poll() is not None


def test_a_process_that_ignores_terminate_is_killed() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    stop_if_running(process, grace_seconds=0.5)
    assert process.returncode == -9


def test_a_finished_process_is_left_alone() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    stop_if_running(process)
    assert process.returncode == 0
