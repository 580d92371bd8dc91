"""Faults the sync engine must survive: the sync process killed (SIGKILL) at random points and
run again, and a destination answering 30% of its requests with 429 or 5xx.

The emulator runs in this process; in the kill tests the sync runs in a child process, the
real `omni360 sync` command, with the environment pointing it at the emulator. Confirmations
are flushed every 0.25 s there (instead of 2 s) so that kills land between flushes as well as
before the first one.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from reverse_etl.emulator import RunningEmulator, start_emulator
from reverse_etl.engine import run_sync
from reverse_etl.state import resolve_in_doubt
from tests.sync_support import (
    FAST_RETRY,
    audience,
    braze_expected,
    failures,
    permit,
    snapshot_keys,
    sync_spec,
    webhook_expected,
    write_audience,
    write_permissions,
)

# The module's fixtures (tests/sync_fixtures.py): a reset emulator before each test.
pytestmark = pytest.mark.usefixtures("fresh")

ROOT = Path(__file__).resolve().parents[1]
# The real command line, with confirmations flushed more often than the default 2 s.
CHILD = (
    "import reverse_etl.engine as engine; engine.FLUSH_SECONDS = 0.25; "
    "from omni360.cli import app; app()"
)
FIELDS = {"email": "address", "first_name": "first_name"}
CHAT_FIELDS = {"chat_id": "address", "first_name": "first_name"}


@dataclass(frozen=True)
class Scenario:
    """One destination under kills: how the sync is paced so that a run lasts a few seconds."""

    provider: str
    members: int
    channel: str
    mode: str
    fields: dict[str, str]
    destination: dict[str, Any]  # pacing: batch size, requests per second, concurrency
    records_per_second: float  # what that pacing lets through after the first burst
    burst: int  # records the rate limit lets through at once at the start


SCENARIOS = {
    "webhook": Scenario(
        "webhook",
        4000,
        "email",
        "mirror",
        FIELDS,
        {"max_batch_size": 25, "requests_per_second": 50},
        25 * 50,
        25 * 50,
    ),
    "braze": Scenario(
        "braze",
        4000,
        "email",
        "mirror",
        {"first_name": "first_name"},
        {"requests_per_second": 16},
        75 * 16,
        75 * 16,
    ),
    "telegram": Scenario(
        "telegram",
        150,
        "telegram",
        "insert",
        CHAT_FIELDS,
        {"max_batch_size": 10, "concurrency": 1},
        30,
        30,
    ),
}


@dataclass
class Kill:
    point: str  # before_send | early | mid | late
    delay: float  # seconds after the run's first request (before_send: after the start)
    alive: bool  # the process was still running when the signal came
    requests: int  # requests the killed run made
    arrived: int  # records (or recipients) the destination held right after the kill

    def mid_delivery(self, total: int) -> bool:
        return self.alive and self.requests > 0 and 0 < self.arrived < total


def held(emulator: RunningEmulator, provider: str) -> int:
    stats = emulator.stats(provider)
    return stats["recipients"] if provider in ("telegram", "twilio") else stats["records"]


class KilledSync:
    """A sync's syncs file and warehouse, run and killed through the command line."""

    def __init__(
        self, emulator: RunningEmulator, scenario: Scenario, tmp_path: Path, name: str
    ) -> None:
        self.emulator, self.scenario, self.name = emulator, scenario, name
        self.db = tmp_path / "warehouse.duckdb"
        self.rows = audience(scenario.members, channel=scenario.channel)
        with duckdb.connect(str(self.db)) as con:
            write_audience(con, self.rows)
            write_permissions(con, permit(self.rows))
        spec = {
            "name": name,
            "source": "aud_members",
            "destination": emulator.destination_settings(scenario.provider, **scenario.destination),
            "mode": scenario.mode,
            "primary_key": "customer_id",
            "fields": scenario.fields,
            "consent_gate": {"channel": "channel", "address": "address"},
            "retry": FAST_RETRY,
        }
        self.output = tmp_path / "sync-output.txt"
        self.syncs_file = tmp_path / "syncs.yml"
        self.syncs_file.write_text(yaml.safe_dump({"syncs": [spec]}))
        self.environment = {
            **os.environ,
            **emulator.environment(),
            "OMNI360_LOCK_WAIT": "30",
            "PYTHONPATH": str(ROOT),
        }

    def command(self) -> list[str]:
        return [sys.executable, "-c", CHILD, "sync", self.name]

    def start(self) -> subprocess.Popen:
        arguments = ["--syncs", str(self.syncs_file), "--db", str(self.db), "--channels", "live"]
        with self.output.open("a") as output:
            return subprocess.Popen(
                self.command() + arguments,
                cwd=ROOT,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def confirmed(self) -> int:
        with duckdb.connect(str(self.db)) as con:
            tables = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'reverse_etl' and table_name = 'snapshots'"
            ).fetchall()[0][0]
            return len(snapshot_keys(con, self.name)) if tables else 0

    def expected_seconds(self) -> float:
        """How long the rest of the delivery should take at the scenario's pace."""
        remaining = self.scenario.members - self.confirmed()
        return max(0.05, (remaining - self.scenario.burst) / self.scenario.records_per_second)

    def kill(self, point: str, rng: random.Random) -> Kill:
        provider = self.scenario.provider
        if point == "before_send":
            delay = rng.uniform(0.0, 0.15)
        else:
            share = {"early": (0.02, 0.15), "mid": (0.3, 0.6), "late": (0.8, 0.95)}[point]
            delay = rng.uniform(*share) * self.expected_seconds()
        before = self.emulator.stats(provider)["requests"]
        process = self.start()
        if point == "before_send":
            time.sleep(delay)  # the command is still starting: nothing can have gone out
        else:
            deadline = time.monotonic() + 60
            while self.emulator.stats(provider)["requests"] == before:
                if process.poll() is not None:  # nothing was left to send
                    assert process.returncode == 0, self.output.read_text()[-3000:]
                    break
                assert time.monotonic() < deadline, "the sync sent nothing for a minute"
                time.sleep(0.002)
            else:
                time.sleep(delay)
        alive = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        requests = self.emulator.stats(provider)["requests"] - before
        return Kill(point, delay, alive, requests, held(self.emulator, provider))

    def finish(self) -> None:
        """An uninterrupted run to the end."""
        process = self.start()
        assert process.wait(timeout=120) == 0, self.output.read_text()[-3000:]


def kill_and_rerun(sync: KilledSync, seed: int) -> list[Kill]:
    """Kills at seeded points (before any send, early, mid-run, late), then a final
    uninterrupted run."""
    rng = random.Random(seed)
    kills = [sync.kill(point, rng) for point in ("before_send", "early", "mid", "late")]
    sync.finish()
    total = sync.scenario.members
    for kill in kills:  # shown with `pytest -s`
        landed = "mid-delivery" if kill.mid_delivery(total) else "outside delivery"
        print(
            f"{sync.name}: kill {kill.point:<11} after {kill.delay:.2f} s: {kill.requests} "
            f"requests, {kill.arrived}/{total} held by the destination ({landed})"
        )
    assert kills[0].alive and kills[0].requests == 0, kills[0]
    assert any(kill.mid_delivery(total) for kill in kills), kills
    return kills


@pytest.mark.parametrize("dedupe", [True, False], ids=["dedupe", "no_dedupe"])
def test_webhook_equals_the_audience_after_kills_and_reruns(tmp_path: Path, dedupe: bool) -> None:
    scenario = SCENARIOS["webhook"]
    with start_emulator(webhook_dedupe=dedupe) as emulator:
        sync = KilledSync(emulator, scenario, tmp_path, "killed_hook")
        kills = kill_and_rerun(sync, seed=11 if dedupe else 12)
        stats = emulator.stats("webhook")
        # Record by record: nothing missing, nothing extra, every field right.
        assert emulator.records("webhook") == webhook_expected(sync.rows, FIELDS)
        with duckdb.connect(str(sync.db)) as con:
            assert snapshot_keys(con, sync.name) == {r["customer_id"] for r in sync.rows}
            assert failures(con, sync.name) == {}
        resent = stats["records_received"] - scenario.members
        assert resent > 0, kills  # kills lost confirmations, so records went out again ...
        if dedupe:
            # ... and the receiver recognised every one of them by its idempotency key.
            assert stats["duplicate_applications"] == 0
            assert stats["deduplicated"] == resent
        else:
            # Without the receiver's deduplication the same records are applied again: what
            # the idempotency keys protect against (harmless here, since these are upserts).
            assert stats["duplicate_applications"] == resent > 0


def test_braze_equals_the_audience_after_kills_and_reruns(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    scenario = SCENARIOS["braze"]
    sync = KilledSync(emulator, scenario, tmp_path, "killed_braze")
    kills = kill_and_rerun(sync, seed=21)
    stats = emulator.stats("braze")
    attribute = "omni360_killed_braze"
    assert emulator.records("braze") == braze_expected(sync.rows, scenario.fields, attribute)
    assert stats["duplicate_applications"] == 0
    # A kill can cut a request in the middle of its body: the emulator refuses what it got of
    # it (at most one per kill), and the next run sends those records again.
    assert stats["bad_requests"] <= len(kills)
    # Re-sent profiles were applied again with the same attributes (idempotent upserts).
    assert stats["reapplied_identical"] == stats["records_received"] - scenario.members


def test_telegram_never_sends_a_message_twice_across_kills_and_reruns(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    scenario = SCENARIOS["telegram"]
    sync = KilledSync(emulator, scenario, tmp_path, "killed_chat")
    kill_and_rerun(sync, seed=31)
    chat_of = {r["customer_id"]: r["address"] for r in sync.rows}
    messages = emulator.messages("telegram")
    assert emulator.stats("telegram")["duplicate_applications"] == 0
    assert all(len(texts) == 1 for texts in messages.values())
    delivered = set(messages)

    with duckdb.connect(str(sync.db)) as con:
        confirmed = snapshot_keys(con, sync.name)
        stored = failures(con, sync.name)
    doubtful = {key for key, row in stored.items() if row["in_doubt"]}
    assert set(stored) == doubtful  # nothing failed otherwise
    # Every member is either confirmed delivered or held in doubt, never both.
    assert confirmed | doubtful == set(chat_of) and not confirmed & doubtful
    assert {chat_of[k] for k in confirmed} <= delivered
    assert delivered <= {chat_of[k] for k in confirmed | doubtful}
    arrived_in_doubt = {k for k in doubtful if chat_of[k] in delivered}
    assert len(delivered) == len(confirmed) + len(arrived_in_doubt)
    assert doubtful, "no kill caught a message in flight"

    # The operator decides. Marked delivered (on a copy): the next run sends nothing.
    copy = tmp_path / "copy.duckdb"
    shutil.copy(sync.db, copy)
    spec = sync_spec(
        emulator, "telegram", name=sync.name, mode="insert", fields=CHAT_FIELDS, batch_size=10
    )
    with duckdb.connect(str(copy)) as con:
        assert resolve_in_doubt(con, sync.name, delivered=True) == len(doubtful)
        quiet = run_sync(con, spec)
        assert (quiet.counts.to_send, quiet.delivery.requests) == (0, 0)
        assert snapshot_keys(con, sync.name) == set(chat_of)
    # Released to be sent again: the ones that had not arrived get their first message; the
    # ones that had arrived get a second one (which is why the engine never decides this).
    with duckdb.connect(str(sync.db)) as con:
        assert resolve_in_doubt(con, sync.name, delivered=False) == len(doubtful)
        resent = run_sync(con, spec)
    assert resent.confirmed == len(doubtful)
    counts = {chat: len(texts) for chat, texts in emulator.messages("telegram").items()}
    assert counts == {chat_of[key]: 2 if key in arrived_in_doubt else 1 for key in chat_of}
    assert emulator.stats("telegram")["duplicate_applications"] == len(arrived_in_doubt)


# -- 30% of requests answered 429 or 5xx --------------------------------------------------------

STORM = {"seed": 30, "error_rate": 0.15, "rate_limit_rate": 0.15, "retry_after": 0}


@pytest.mark.parametrize("provider", ["webhook", "braze"])
def test_profiles_arrive_exactly_through_a_storm_of_429_and_5xx(
    emulator: RunningEmulator, tmp_path: Path, provider: str
) -> None:
    rows = audience(3000)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        write_audience(con, rows)
        write_permissions(con, permit(rows))
        emulator.set_faults(STORM)
        fields = FIELDS if provider == "webhook" else {"first_name": "first_name"}
        extra = {"max_batch_size": 50} if provider == "webhook" else {}
        spec = sync_spec(emulator, provider, name="stormy", fields=fields, **extra)
        result = run_sync(con, spec)
        assert result.status == "success" and result.confirmed == len(rows)
    stats = emulator.stats(provider)
    assert stats["injected_429"] > 0 and stats["injected_5xx"] > 0
    faulty = (stats["injected_429"] + stats["injected_5xx"]) / stats["requests"]
    assert 0.2 < faulty < 0.4
    assert result.delivery.throttled == stats["injected_429"]
    expected = (
        webhook_expected(rows, FIELDS)
        if provider == "webhook"
        else braze_expected(rows, fields, "omni360_stormy")
    )
    assert emulator.records(provider) == expected
    # Refused requests were applied by no one: every record arrived exactly once.
    assert stats["records_applied"] == len(rows)
    assert stats["duplicate_applications"] == stats["deduplicated"] == 0


@pytest.mark.parametrize("provider", ["telegram", "twilio"])
def test_messages_arrive_exactly_once_through_a_storm_of_429_and_5xx(
    emulator: RunningEmulator, tmp_path: Path, provider: str
) -> None:
    channel = "telegram" if provider == "telegram" else "sms"
    rows = audience(90, channel=channel)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        write_audience(con, rows)
        write_permissions(con, permit(rows))
        emulator.set_faults(STORM)
        fields = CHAT_FIELDS if provider == "telegram" else {"to": "address", **FIELDS}
        extra = {"requests_per_second": 100} if provider == "twilio" else {}
        spec = sync_spec(
            emulator, provider, name="stormy_messages", mode="insert", fields=fields, **extra
        )
        result = run_sync(con, spec)
        assert (result.confirmed, result.failed, result.in_doubt) == (len(rows), 0, 0)
    stats = emulator.stats(provider)
    assert stats["injected_429"] > 0 and stats["injected_5xx"] > 0
    counts = {recipient: len(texts) for recipient, texts in emulator.messages(provider).items()}
    assert counts == {r["address"]: 1 for r in rows}
    assert stats["duplicate_applications"] == 0
