"""The sync engine end to end: change capture in DuckDB, delivery over real HTTP to the local
channel emulator on 127.0.0.1, and the state it keeps (snapshots, failures, the run log)."""

from __future__ import annotations

import logging
import math
from collections import Counter

import duckdb
import pytest

from reverse_etl.destinations.base import ConfigurationError
from reverse_etl.emulator import RunningEmulator, start_emulator
from reverse_etl.engine import MEMORY_LIMIT, run_sync, size_in_bytes
from reverse_etl.state import resolve_in_doubt
from tests.sync_support import (
    ROOMY_LIMITS,
    audience,
    braze_expected,
    deliverable,
    failures,
    permit,
    raw_contacts,
    run_log,
    snapshot_keys,
    sync_spec,
    webhook_expected,
    write_audience,
    write_permissions,
)

# The module's fixtures (tests/sync_fixtures.py): a reset emulator before each test.
pytestmark = pytest.mark.usefixtures("fresh")

FIELDS = {"email": "address", "first_name": "first_name"}
CHAT_FIELDS = {"chat_id": "address", "first_name": "first_name"}


def held(emulator: RunningEmulator, provider: str) -> dict:
    """What the provider holds now: records, or recipient -> messages."""
    if provider in ("telegram", "twilio"):
        return emulator.messages(provider)
    return emulator.records(provider)


def expected_state(provider: str, rows: list[dict], sync: str) -> dict:
    if provider == "braze":
        return braze_expected(rows, {"first_name": "first_name"}, f"omni360_{sync}")
    return webhook_expected(rows, FIELDS)


def provider_fields(provider: str) -> dict[str, str]:
    return {"first_name": "first_name"} if provider == "braze" else FIELDS


# -- change capture: what is sent, run after run ----------------------------------------------


@pytest.mark.parametrize("provider", ["webhook", "braze"])
def test_first_run_sends_every_sendable_member_then_nothing_then_only_the_change(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection, provider: str
) -> None:
    rows = audience(300, holdout_every=10)
    refused = {r["customer_id"] for i, r in enumerate(rows) if i % 7 == 3}
    write_audience(con, rows)
    # One member has no permission row at all: refused like a non-sendable one.
    missing = rows[-1]
    write_permissions(con, [p for p in permit(rows, refused) if p[1] != missing["address"]])
    refused.add(missing["customer_id"])
    spec = sync_spec(emulator, provider, name="members", fields=provider_fields(provider))

    first = run_sync(con, spec)
    members = deliverable(rows, refused)
    holdout = sum(r["is_holdout"] for r in rows)
    assert first.status == "success"
    assert first.counts.holdout_skipped == holdout == 30
    assert first.counts.consent_blocked == len(rows) - holdout - len(members)
    assert first.counts.added == first.confirmed == len(members)
    assert held(emulator, provider) == expected_state(provider, members, "members")
    assert snapshot_keys(con, "members") == {r["customer_id"] for r in members}

    requests = emulator.stats(provider)["requests"]
    again = run_sync(con, spec)
    assert again.status == "unchanged"
    assert (again.counts.added, again.counts.changed, again.counts.removed) == (0, 0, 0)
    assert again.delivery.requests == 0
    assert emulator.stats(provider)["requests"] == requests

    changed = members[5]
    con.execute(
        "update audiences.aud_members set first_name = 'Renamed' where customer_id = ?",
        [changed["customer_id"]],
    )
    changed["first_name"] = "Renamed"
    before = emulator.stats(provider)
    third = run_sync(con, spec)
    after = emulator.stats(provider)
    assert (third.counts.added, third.counts.changed, third.counts.removed) == (0, 1, 0)
    assert third.confirmed == 1
    assert after["requests"] - before["requests"] == 1
    assert after["records_received"] - before["records_received"] == 1
    assert held(emulator, provider) == expected_state(provider, members, "members")


@pytest.mark.parametrize("provider", ["webhook", "braze"])
def test_mirror_mode_deletes_a_member_who_left_and_recreates_one_who_comes_back(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection, provider: str
) -> None:
    rows = audience(20)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    spec = sync_spec(emulator, provider, name="mirrored", fields=provider_fields(provider))
    run_sync(con, spec)
    leaver = rows[4]
    write_audience(con, [r for r in rows if r is not leaver])

    result = run_sync(con, spec)
    assert (result.counts.removed, result.counts.to_send, result.confirmed) == (1, 1, 1)
    state = held(emulator, provider)
    if provider == "braze":
        # The profile stays; only the membership attribute is cleared.
        assert state[leaver["customer_id"]]["omni360_mirrored"] is False
        others = {k: v for k, v in state.items() if k != leaver["customer_id"]}
        remaining = [r for r in rows if r is not leaver]
        assert others == expected_state(provider, remaining, "mirrored")
    else:
        remaining = [r for r in rows if r is not leaver]
        assert state == expected_state(provider, remaining, "mirrored")
    assert leaver["customer_id"] not in snapshot_keys(con, "mirrored")

    # Back with the very values it had: it must be sent again and applied, not taken for a
    # re-send of the first run (a receiver that deduplicates would drop that).
    write_audience(con, rows)
    back = run_sync(con, spec)
    assert (back.counts.added, back.confirmed) == (1, 1)
    assert held(emulator, provider) == expected_state(provider, rows, "mirrored")
    assert emulator.stats(provider)["deduplicated"] == 0


def test_upsert_mode_leaves_a_removed_member_and_applies_a_change_back(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(10)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    spec = sync_spec(emulator, "webhook", name="upserted", mode="upsert", fields=FIELDS)
    run_sync(con, spec)

    write_audience(con, rows[1:])
    requests = emulator.stats("webhook")["requests"]
    result = run_sync(con, spec)
    assert (result.counts.removed, result.counts.to_send, result.status) == (0, 0, "unchanged")
    assert emulator.stats("webhook")["requests"] == requests
    assert held(emulator, "webhook") == webhook_expected(rows, FIELDS)

    # v1 -> v2 -> v1: the receiver must end with v1 again.
    for name in ("Second", rows[1]["first_name"]):
        con.execute(
            "update audiences.aud_members set first_name = ? where customer_id = ?",
            [name, rows[1]["customer_id"]],
        )
        assert run_sync(con, spec).confirmed == 1
        assert emulator.records("webhook")[rows[1]["customer_id"]]["first_name"] == name
    assert emulator.stats("webhook")["deduplicated"] == 0


def test_insert_mode_forgets_a_removed_member_so_one_who_returns_gets_a_new_message(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(5, channel="telegram")
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    webhook = sync_spec(emulator, "webhook", name="inserted", mode="insert", fields=FIELDS)
    telegram = sync_spec(emulator, "telegram", name="chats", mode="insert", fields=CHAT_FIELDS)
    for spec in (webhook, telegram):
        assert run_sync(con, spec).confirmed == 5
    returning = rows[2]

    write_audience(con, [r for r in rows if r is not returning])
    for spec in (webhook, telegram):
        gone = run_sync(con, spec)
        assert (gone.counts.removed, gone.counts.to_send, gone.delivery.requests) == (1, 0, 0)
        assert returning["customer_id"] not in snapshot_keys(con, spec.name)
    assert emulator.stats("webhook")["records_applied"] == 5
    assert emulator.stats("telegram")["messages"] == 5

    write_audience(con, rows)
    for spec in (webhook, telegram):
        back = run_sync(con, spec)
        assert (back.counts.added, back.confirmed) == (1, 1)
    webhook_stats = emulator.stats("webhook")
    assert (webhook_stats["records_applied"], webhook_stats["deduplicated"]) == (6, 0)
    messages = emulator.messages("telegram")
    assert {chat: len(texts) for chat, texts in messages.items()} == {
        r["address"]: 2 if r is returning else 1 for r in rows
    }


# -- delivery: batch sizes, throttling, faults --------------------------------------------------


def test_batches_never_exceed_the_destination_limit(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(400)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    # Braze takes at most 75 objects a request (the emulator refuses more with a 400).
    braze = sync_spec(emulator, "braze", name="big_braze", fields=FIELDS, batch_size=1000)
    result = run_sync(con, braze)
    stats = emulator.stats("braze")
    assert result.confirmed == 400
    assert stats["requests"] == result.delivery.requests == math.ceil(400 / 75)
    assert (stats["bad_requests"], stats["records"]) == (0, 400)

    # A receiver that takes 40 records: the destination's limit wins over the sync's batch.
    with start_emulator(webhook_max_records=40) as small:
        spec = sync_spec(
            small, "webhook", name="small_hook", fields=FIELDS, batch_size=1000, max_batch_size=40
        )
        result = run_sync(con, spec)
        stats = small.stats("webhook")
        assert result.confirmed == 400
        assert stats["requests"] == math.ceil(400 / 40)
        assert (stats["bad_requests"], stats["records"]) == (0, 400)


def test_429_with_retry_after_is_honoured_and_everything_arrives(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(750)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    emulator.set_limits({"braze": [[5, 1.0]]})
    spec = sync_spec(emulator, "braze", name="throttled", fields={"first_name": "first_name"})
    result = run_sync(con, spec)
    stats = emulator.stats("braze")
    assert result.status == "success" and result.confirmed == 750
    assert result.delivery.throttled > 0 and stats["rate_limited"] == result.delivery.throttled
    # 10 requests through a window of 5 per second cannot take less than a second.
    assert stats["requests"] - stats["rate_limited"] == 10
    assert result.duration_seconds >= 1.0
    assert held(emulator, "braze") == expected_state("braze", rows, "throttled")


def test_5xx_and_timeouts_are_retried_with_backoff_and_everything_arrives_once(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(600)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    emulator.set_faults(
        {
            "seed": 11,
            "error_rate": 0.25,
            "timeout_before_rate": 0.1,
            "timeout_after_rate": 0.1,
            "stall_seconds": 0.0,
        }
    )
    spec = sync_spec(emulator, "webhook", name="faulty", fields=FIELDS, max_batch_size=20)
    result = run_sync(con, spec)
    stats = emulator.stats("webhook")
    injected = (
        stats["injected_5xx"] + stats["injected_timeouts_before"] + stats["injected_timeouts_after"]
    )
    assert stats["injected_5xx"] and stats["injected_timeouts_before"]
    assert stats["injected_timeouts_after"]
    assert result.status == "success" and result.confirmed == 600
    assert result.delivery.retries >= injected
    assert held(emulator, "webhook") == webhook_expected(rows, FIELDS)
    # Applied but unanswered batches came back with the same idempotency keys: dropped.
    assert stats["duplicate_applications"] == 0
    assert stats["deduplicated"] == 20 * stats["injected_timeouts_after"]


# -- records the destination refuses ----------------------------------------------------------


def test_rejected_records_are_stored_retried_and_leave_once_accepted(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = audience(30)
    refused_keys = {rows[3]["customer_id"], rows[11]["customer_id"]}
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    with start_emulator(reject_keys=refused_keys) as receiver:
        spec = sync_spec(receiver, "webhook", name="picky", fields=FIELDS)
        first = run_sync(con, spec)
        assert (first.status, first.confirmed, first.failed) == ("partial", 28, 2)
        stored = failures(con, "picky")
        assert set(stored) == refused_keys
        for row in stored.values():
            assert row["reason"] == "webhook: refused by the receiver"
            assert (row["attempts"], row["in_doubt"]) == (1, False)

        second = run_sync(con, spec)
        assert (second.counts.retried, second.counts.to_send, second.failed) == (2, 2, 2)
        assert {row["attempts"] for row in failures(con, "picky").values()} == {2}

        receiver.emulator.options.reject_keys.clear()  # the receiver accepts them now
        third = run_sync(con, spec)
        assert (third.counts.retried, third.confirmed, third.failed) == (2, 2, 0)
        assert failures(con, "picky") == {}
        assert receiver.records("webhook") == webhook_expected(rows, FIELDS)


def test_a_blocked_chat_is_a_stored_failure_sent_once_unblocked(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = audience(8, channel="telegram")
    blocked = rows[2]
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    with start_emulator(blocked_chats={blocked["address"]}, limits=ROOMY_LIMITS) as bot:
        spec = sync_spec(bot, "telegram", name="chat_once", mode="insert", fields=CHAT_FIELDS)
        first = run_sync(con, spec)
        assert (first.confirmed, first.failed, first.in_doubt) == (7, 1, 0)
        stored = failures(con, "chat_once")[blocked["customer_id"]]
        assert stored["reason"] == "telegram 403: Forbidden: bot was blocked by the user"
        assert stored["in_doubt"] is False

        bot.emulator.options.blocked_chats.clear()
        second = run_sync(con, spec)
        assert (second.counts.retried, second.confirmed, second.failed) == (1, 1, 0)
        assert failures(con, "chat_once") == {}
        assert {chat: len(texts) for chat, texts in bot.messages("telegram").items()} == {
            r["address"]: 1 for r in rows
        }


# -- destinations that are not idempotent -----------------------------------------------------


def test_unanswered_messages_are_held_in_doubt_never_sent_twice(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(60, channel="telegram")
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    emulator.set_faults(
        {"seed": 5, "timeout_after_rate": 0.2, "error_rate": 0.1, "stall_seconds": 0.0}
    )
    spec = sync_spec(emulator, "telegram", name="doubtful", mode="insert", fields=CHAT_FIELDS)
    first = run_sync(con, spec)
    lost = emulator.stats("telegram")["injected_timeouts_after"]
    assert lost > 0 and first.in_doubt == lost
    assert first.confirmed + first.in_doubt == 60
    doubtful = {k for k, row in failures(con, "doubtful").items() if row["in_doubt"]}
    assert len(doubtful) == lost

    emulator.set_faults(None)
    requests = emulator.stats("telegram")["requests"]
    second = run_sync(con, spec)
    assert (second.counts.held_in_doubt, second.counts.to_send) == (lost, 0)
    assert emulator.stats("telegram")["requests"] == requests

    chat_of = {r["customer_id"]: r["address"] for r in rows}
    messages = emulator.messages("telegram")
    assert emulator.stats("telegram")["duplicate_applications"] == 0
    assert all(len(texts) == 1 for texts in messages.values())
    # Each unanswered message did arrive (the fault applied it, then dropped the answer).
    assert set(messages) == {r["address"] for r in rows}
    assert {chat_of[k] for k in doubtful} <= set(messages)

    # The operator checks the delivery reports: they arrived.
    assert resolve_in_doubt(con, "doubtful", delivered=True) == lost
    assert snapshot_keys(con, "doubtful") == set(chat_of)
    third = run_sync(con, spec)
    assert (third.counts.to_send, third.counts.held_in_doubt, third.delivery.requests) == (0, 0, 0)


def test_messages_released_from_doubt_are_sent_by_the_next_run(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(60, channel="telegram")
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    # The connection drops before the message is applied: in doubt, but never arrived.
    emulator.set_faults({"seed": 8, "timeout_before_rate": 0.2, "stall_seconds": 0.0})
    spec = sync_spec(emulator, "telegram", name="released", mode="insert", fields=CHAT_FIELDS)
    first = run_sync(con, spec)
    dropped = emulator.stats("telegram")["injected_timeouts_before"]
    assert dropped > 0 and first.in_doubt == dropped
    doubtful = set(failures(con, "released"))
    chat_of = {r["customer_id"]: r["address"] for r in rows}
    assert not {chat_of[k] for k in doubtful} & set(emulator.messages("telegram"))

    emulator.set_faults(None)
    assert run_sync(con, spec).counts.to_send == 0  # still held
    assert resolve_in_doubt(con, "released", delivered=False) == dropped
    last = run_sync(con, spec)
    assert (last.counts.added, last.confirmed, last.in_doubt) == (dropped, dropped, 0)
    assert failures(con, "released") == {}
    messages = emulator.messages("telegram")
    assert {chat: len(texts) for chat, texts in messages.items()} == {r["address"]: 1 for r in rows}


# -- the consent gate and the frequency cap ---------------------------------------------------


def test_consent_gate_refuses_what_is_not_sendable_and_fails_closed_without_permissions(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(40, channel="sms")
    refused = {r["customer_id"] for r in rows[::4]}
    write_audience(con, rows)
    write_permissions(con, permit(rows, refused))
    fields = {"phone": "address"}
    spec = sync_spec(emulator, "webhook", name="gated", fields=fields)
    result = run_sync(con, spec)
    assert result.counts.consent_blocked == len(refused) == 10
    received = {record["phone"] for record in emulator.records("webhook").values()}
    assert received == {r["address"] for r in deliverable(rows, refused)}

    con.execute("drop table marts.fct_contact_permissions")
    other = sync_spec(emulator, "braze", name="gated_braze", fields=fields)
    with pytest.raises(ConfigurationError, match="fct_contact_permissions is not built"):
        run_sync(con, other)
    assert emulator.stats("braze")["requests"] == 0
    assert snapshot_keys(con, "gated_braze") == set()
    status, error = con.execute(
        "select status, error from reverse_etl.sync_runs where sync_name = 'gated_braze'"
    ).fetchall()[0]
    assert status == "failed" and "fct_contact_permissions" in error


def test_frequency_cap_holds_across_two_capped_syncs_and_within_a_run(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = []
    for number in range(20):
        channels = ["email", "telegram"] + (["sms", "push"] if number % 2 == 0 else [])
        for channel in channels:
            rows += audience(1, channel=channel, start=number)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    cap = {"messages": 2, "days": 7}
    fields = {"customer_id": "customer_id", "channel": "channel"}
    other_channels = sync_spec(
        emulator,
        "webhook",
        name="capped_hook",
        mode="insert",
        fields=fields,
        primary_key=["customer_id", "channel"],
        where="channel <> 'telegram'",
        cap=cap,
    )
    chats = sync_spec(
        emulator,
        "telegram",
        name="capped_chat",
        mode="insert",
        fields=CHAT_FIELDS,
        where="channel = 'telegram'",
        cap=cap,
    )

    first = run_sync(con, other_channels)
    # Even customers have three rows here: two go out, the third waits.
    assert (first.confirmed, first.counts.frequency_capped) == (10 * 2 + 10, 10)
    second = run_sync(con, chats)
    assert (second.confirmed, second.counts.frequency_capped) == (10, 10)

    def sends_per_customer() -> Counter:
        sent = Counter(r["customer_id"] for r in emulator.records("webhook").values())
        chat_owner = {r["address"]: r["customer_id"] for r in rows}
        for chat, texts in emulator.messages("telegram").items():
            sent[chat_owner[chat]] += len(texts)
        return sent

    assert sends_per_customer() == {f"c{n:06d}": 2 for n in range(20)}
    logged = dict(
        con.execute("select customer_id, count(*) from reverse_etl.sends group by all").fetchall()
    )
    assert logged == {f"c{n:06d}": 2 for n in range(20)}

    # A week later the window has room again: the waiting chats go out, two at most per week.
    con.execute("update reverse_etl.sends set sent_at = sent_at - interval 8 day")
    later = run_sync(con, chats)
    assert (later.confirmed, later.counts.frequency_capped) == (10, 0)
    recent = con.execute(
        "select max(n) from (select count(*) as n from reverse_etl.sends "
        "where sent_at > now() - interval 7 day group by customer_id)"
    ).fetchall()[0][0]
    assert recent == 1


# -- dry run and the run log ------------------------------------------------------------------


def test_dry_run_sends_nothing_writes_nothing_and_masks_the_preview(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(6) + audience(6, channel="sms", start=100)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    # Keyed on the address itself: the preview's keys must be masked too.
    spec = sync_spec(
        emulator,
        "webhook",
        name="previewed",
        primary_key="address",
        fields={"contact": "address", "first_name": "first_name"},
    )
    result = run_sync(con, spec, dry_run=True, preview_rows=5)
    assert result.status == "dry_run" and result.counts.added == 12
    assert len(result.preview) == 5
    text = repr(result.preview)
    assert raw_contacts(text) == []
    assert not any(r["address"] in text for r in rows)
    assert all(change["fields"]["contact"].startswith("#") for change in result.preview)
    assert emulator.stats("webhook")["requests"] == 0
    for table in ("snapshots", "failures", "sync_runs", "in_flight"):
        assert con.execute(f"select count(*) from reverse_etl.{table}").fetchall()[0][0] == 0

    real = run_sync(con, spec)
    assert real.confirmed == 12  # the dry run took nothing away from the real one


def test_the_run_log_row_has_the_counts_of_the_run(con: duckdb.DuckDBPyConnection) -> None:
    rows = audience(50)
    refused_keys = {rows[7]["customer_id"], rows[8]["customer_id"]}
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    with start_emulator(reject_keys=refused_keys) as receiver:
        spec = sync_spec(receiver, "webhook", name="logged", fields=FIELDS)
        first = run_sync(con, spec)
        log = run_log(con, first.run_id)
        assert (log["added"], log["changed"], log["removed"]) == (50, 0, 0)
        assert (log["confirmed"], log["failed"], log["retried"]) == (48, 2, 0)

        current = [dict(r) for r in rows[4:]] + audience(5, start=500)  # 4 left, 5 joined
        for row in current[10:13]:
            row["first_name"] += " Jr"  # 3 changed
        write_audience(con, current)
        write_permissions(con, permit(current))
        second = run_sync(con, spec)
        log = run_log(con, second.run_id)
        assert {
            name: log[name]
            for name in ("status", "added", "changed", "removed", "retried", "failed")
        } == {
            # The two refused records were never confirmed: added again, and retried.
            "status": "partial",
            "added": 5 + 2,
            "changed": 3,
            "removed": 4,
            "retried": 2,
            "failed": 2,
        }
        assert log["confirmed"] == second.confirmed == 5 + 3 + 4
        assert (log["sync_name"], log["destination_kind"], log["mode"]) == (
            "logged",
            "webhook",
            "mirror",
        )
        assert log["dry_run"] is False and log["error"] is None
        assert log["requests"] == second.delivery.requests == 2  # the upserts, the deletes
        assert 0 < log["duration_seconds"] == pytest.approx(second.duration_seconds, abs=1e-3)
        assert log["finished_at"] >= log["started_at"]
        assert receiver.records("webhook") == webhook_expected(
            [r for r in current if r["customer_id"] not in refused_keys], FIELDS
        )


def test_a_run_holds_duckdb_to_its_memory_limit_then_resets_it(
    emulator: RunningEmulator, con: duckdb.DuckDBPyConnection
) -> None:
    rows = audience(50) + audience(50, start=100)
    write_permissions(con, permit(rows))
    spec = sync_spec(emulator, "webhook", name="bounded", fields=FIELDS, batch_size=10)

    def setting() -> str:
        return con.execute("select current_setting('memory_limit')").fetchall()[0][0]

    def limits_during_a_run(members: list[dict]) -> set[str]:
        seen: set[str] = set()
        write_audience(con, members)
        run_sync(con, spec, progress=lambda done, total: seen.add(setting()))
        return seen

    default = setting()
    during = limits_during_a_run(rows[:50])
    assert len(during) == 1
    assert abs(size_in_bytes(during.pop()) - size_in_bytes(MEMORY_LIMIT)) < 2**20
    assert setting() == default

    # A limit the database's owner chose is left alone.
    con.execute("set memory_limit = '2GB'")
    chosen = setting()
    assert limits_during_a_run(rows[50:]) == {chosen}
    assert setting() == chosen


# -- secrets and personal data ----------------------------------------------------------------


def test_no_secret_and_no_raw_address_in_logs_or_stored_reasons(
    con: duckdb.DuckDBPyConnection, caplog: pytest.LogCaptureFixture
) -> None:
    for logger in ("reverse_etl", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=logger)
    emails = audience(12)
    phones = audience(6, channel="sms", start=100)
    chats = audience(6, channel="telegram", start=200)
    bad_email = {**audience(1, start=300)[0], "address": "not-an-email@", "channel": "email"}
    rows = [*emails, *phones, *chats, bad_email]
    on_email = "channel = 'email'"
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    with start_emulator(
        reject_keys={emails[1]["customer_id"]},
        blocked_chats={chats[0]["address"]},
        unsubscribed={phones[0]["address"]},
        limits=ROOMY_LIMITS,
        faults={"seed": 2, "timeout_after_rate": 0.3, "providers": ["telegram"]},
    ) as channels:
        specs = [
            sync_spec(channels, "webhook", name="hook_pii", fields=FIELDS, where=on_email),
            sync_spec(channels, "braze", name="braze_pii", fields=FIELDS, where=on_email),
            sync_spec(
                channels,
                "telegram",
                name="chat_pii",
                mode="insert",
                fields=CHAT_FIELDS,
                where="channel = 'telegram'",
            ),
            sync_spec(
                channels,
                "twilio",
                name="sms_pii",
                mode="insert",
                fields={"to": "address", "first_name": "first_name"},
                where="channel = 'sms'",
                requests_per_second=100,
            ),
        ]
        results = [run_sync(con, spec) for spec in specs]
        secrets = list(channels.environment().values())
    assert all(result.failed for result in results)
    assert results[2].in_doubt > 0
    reasons = [row[0] for row in con.execute("select reason from reverse_etl.failures").fetchall()]
    errors = [
        row[0]
        for row in con.execute(
            "select error from reverse_etl.sync_runs where error is not null"
        ).fetchall()
    ]
    assert len(reasons) >= 4
    logged = caplog.text
    assert any(record.name == "httpx" for record in caplog.records)
    assert "/bot***/sendMessage" in logged  # the token in Telegram's URL, redacted
    for text in [logged, *reasons, *errors]:
        for secret in secrets:
            assert secret not in text
        assert raw_contacts(text) == []
        assert not any(r["address"] in text for r in rows)
