"""Fixtures of the sync-engine tests (a plugin of the test suite, see conftest.py): one channel
emulator per module, `fresh` to reset it before a test (a module asks for it with
`pytestmark = pytest.mark.usefixtures("fresh")`), and a fresh DuckDB warehouse per test. A
module that defines fixtures of the same names uses its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from reverse_etl.emulator import DEFAULT_LIMITS, RunningEmulator, start_emulator
from tests.sync_support import ROOMY_LIMITS, emulator_environment


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator() as running, emulator_environment(running):
        yield running


@pytest.fixture
def fresh(emulator: RunningEmulator) -> None:
    emulator.reset(faults=True)
    emulator.set_limits({**DEFAULT_LIMITS, **ROOMY_LIMITS})


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()
