"""Erasure ("right to be forgotten") at the destinations: members synced for real to the local
channel emulator on 127.0.0.1 (Braze, Klaviyo, two webhook syncs, OneSignal) from a DuckDB
file, then one person erased; what the emulator still holds and what the sync state still
knows are read back."""

from __future__ import annotations

import asyncio
import json

import duckdb
import httpx
import pytest

from reverse_etl.config import RetryPolicy, SyncSpec
from reverse_etl.delivery import Sender
from reverse_etl.destinations import build_destination
from reverse_etl.destinations.base import Destination, ErasureOutcome, ErasureSubject
from reverse_etl.destinations.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from reverse_etl.emulator import RunningEmulator
from reverse_etl.engine import run_sync
from reverse_etl.erasure import (
    DestinationErasure,
    erase_at_destinations,
    person_keys,
)
from reverse_etl.state import SCHEMA, ensure_state
from tests.sync_support import (
    FAST_RETRY,
    audience,
    permit,
    raw_contacts,
    sync_spec,
    write_audience,
    write_permissions,
)

# The module's fixtures (tests/sync_fixtures.py): a reset emulator before each test.
pytestmark = pytest.mark.usefixtures("fresh")

# The person: two customer ids (the identity graph merged them), an e-mail address each, and a
# phone number none of the syncs sent anywhere.
PERSON = ("c000003", "c000007")
EMAILS = ("member.3@example.com", "member.7@example.com")
PHONE = "+4915000000003"
STATE_TABLES = ("snapshots", "failures", "in_flight", "departures", "sends")
SPARE_KEY_ENV = "OMNI360_ERASURE_TEST_KLAVIYO_KEY"


def subject(
    erasure_id: str = "erasure-1", customer_ids: tuple[str, ...] = PERSON
) -> ErasureSubject:
    return ErasureSubject(erasure_id, customer_ids, EMAILS, (PHONE,))


def syncs(emulator: RunningEmulator) -> list[SyncSpec]:
    """Two Braze syncs to one workspace, two Klaviyo accounts (the second's key in its own
    variable), two webhook syncs to one receiver (one keyed by [audience_name, customer_id],
    in insert mode with a frequency cap), and a OneSignal sync (no erasure call)."""
    email = {"email": "address", "first_name": "first_name"}
    return [
        sync_spec(emulator, "braze", name="braze_vip", fields={"first_name": "first_name"}),
        sync_spec(emulator, "braze", name="braze_win_back", fields=email),
        sync_spec(emulator, "klaviyo", name="klaviyo_welcome", fields=email),
        sync_spec(
            emulator,
            "klaviyo",
            name="klaviyo_other_account",
            fields=email,
            list_id="OtherList",
            api_key_env=SPARE_KEY_ENV,
        ),
        sync_spec(
            emulator,
            "webhook",
            name="chat_messages",
            source="aud_chat",
            mode="insert",
            primary_key=["audience_name", "customer_id"],
            fields={"customer_id": "customer_id", "first_name": "first_name"},
            cap={"messages": 3, "days": 7},
        ),
        sync_spec(emulator, "webhook", name="helpdesk", fields=email),
        sync_spec(
            emulator, "onesignal", name="onesignal_cart", fields={"first_name": "first_name"}
        ),
    ]


def synced(
    con: duckdb.DuckDBPyConnection,
    emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
    members: int = 10,
) -> list[SyncSpec]:
    """Every sync run once over `members` members (all confirmed)."""
    rows = audience(members)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    con.execute(
        "create or replace table audiences.aud_chat as "
        "select 'win_back' as audience_name, * from audiences.aud_members"
    )
    monkeypatch.setenv(SPARE_KEY_ENV, emulator.credentials.klaviyo_api_key)
    specs = syncs(emulator)
    for spec in specs:
        result = run_sync(con, spec)
        assert result.status == "success" and result.confirmed == members, spec.name
    return specs


def state_rows(con: duckdb.DuckDBPyConnection, sync: str, keys: list[str]) -> int:
    return sum(
        con.execute(
            f"select count(*) from {SCHEMA}.{table} "
            "where sync_name = ? and list_contains(?::varchar[], record_key)",
            [sync, keys],
        ).fetchall()[0][0]
        for table in STATE_TABLES
    )


def person_state_rows(con: duckdb.DuckDBPyConnection, specs: list[SyncSpec]) -> dict[str, int]:
    """Rows the state holds for the person, per sync (by key, and `sends` by customer id)."""
    counts = {}
    for spec in specs:
        keys = [f"win_back|{c}" for c in PERSON] if spec.name == "chat_messages" else list(PERSON)
        sends = con.execute(
            f"select count(*) from {SCHEMA}.sends where sync_name = ? "
            "and list_contains(?::varchar[], customer_id)",
            [spec.name, list(PERSON)],
        ).fetchall()[0][0]
        counts[spec.name] = state_rows(con, spec.name, keys) + sends
    return counts


def by_kind(
    reports: list[DestinationErasure],
) -> dict[tuple[str, tuple[str, ...]], DestinationErasure]:
    return {(r.kind, r.syncs): r for r in reports}


def assert_safe(reports: list[DestinationErasure], emulator: RunningEmulator) -> None:
    secrets = list(emulator.environment().values())
    for report in reports:
        assert not raw_contacts(report.detail), report.detail
        assert not any(secret in report.detail for secret in secrets), report.detail


# -- end to end -------------------------------------------------------------------------------


def test_erasing_a_person_removes_them_everywhere_and_only_them(
    con: duckdb.DuckDBPyConnection, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = synced(con, emulator, monkeypatch)
    others = [f"c{n:06d}" for n in range(10) if f"c{n:06d}" not in PERSON]
    assert set(PERSON) <= set(emulator.records("braze"))
    assert set(PERSON) <= set(emulator.records("klaviyo"))
    assert {"c000003", "win_back|c000003"} <= set(emulator.records("webhook"))
    before = person_state_rows(con, specs)
    assert all(before.values()), before
    monkeypatch.delenv(SPARE_KEY_ENV)  # that Klaviyo account's key is missing now

    reports = erase_at_destinations(con, specs, subject())

    found = by_kind(reports)
    assert set(found) == {
        ("braze", ("braze_vip", "braze_win_back")),
        ("klaviyo", ("klaviyo_welcome",)),
        ("klaviyo", ("klaviyo_other_account",)),
        ("webhook", ("chat_messages", "helpdesk")),
        ("onesignal", ("onesignal_cart",)),
    }
    braze = found["braze", ("braze_vip", "braze_win_back")]
    assert braze.accepted and braze.keys_sent == 2 and braze.requests == 1
    klaviyo = found["klaviyo", ("klaviyo_welcome",)]
    # one lookup by external id, then a deletion job per profile found, per e-mail, per phone
    assert klaviyo.accepted and klaviyo.requests == 1 + 2 + 2 + 1
    webhook = found["webhook", ("chat_messages", "helpdesk")]
    assert webhook.accepted and webhook.keys_sent == 4 and webhook.requests == 1
    missing = found["klaviyo", ("klaviyo_other_account",)]
    assert not missing.accepted and missing.needs_retry and missing.requests == 0
    assert SPARE_KEY_ENV in missing.detail and missing.state_rows_deleted == 0
    onesignal = found["onesignal", ("onesignal_cart",)]
    assert not onesignal.supported and not onesignal.needs_retry
    assert onesignal.keys_sent == 2 and onesignal.state_rows_deleted == 2
    assert_safe(reports, emulator)

    # The providers no longer hold the person, and still hold everyone else.
    assert set(emulator.records("braze")) == set(others)
    assert set(emulator.records("klaviyo")) == set(others)
    assert emulator.list_members("EMULIST") == set(others)
    assert emulator.list_members("OtherList") == set(others)
    assert set(emulator.records("webhook")) == set(others) | {f"win_back|{c}" for c in others}
    assert set(PERSON) <= set(emulator.records("onesignal"))  # no erasure call there
    assert emulator.stats("braze")["erasure_requests"] == 1
    assert emulator.stats("braze")["records_erased"] == 2
    assert emulator.stats("klaviyo")["erasure_requests"] == 5
    assert emulator.stats("klaviyo")["records_erased"] == 2
    assert emulator.stats("webhook")["erasure_requests"] == 1
    assert emulator.stats("webhook")["records_erased"] == 4

    # The sync state forgot the person, except where the erasure could not be sent.
    after = person_state_rows(con, specs)
    assert after.pop("klaviyo_other_account") == before["klaviyo_other_account"]
    assert not any(after.values()), after
    assert state_rows(con, "braze_vip", others) == len(others)

    # The same erasure again is harmless; with the key back, the last account is done too.
    again = by_kind(erase_at_destinations(con, specs, subject()))
    assert [key for key, r in again.items() if r.needs_retry] == [
        ("klaviyo", ("klaviyo_other_account",))
    ]
    assert again["braze", ("braze_vip", "braze_win_back")].detail.startswith("braze: 0 user(s)")
    monkeypatch.setenv(SPARE_KEY_ENV, emulator.credentials.klaviyo_api_key)
    last = by_kind(erase_at_destinations(con, specs, subject()))
    assert last["klaviyo", ("klaviyo_other_account",)].accepted
    assert not any(person_state_rows(con, specs).values())
    assert set(emulator.records("braze")) == set(others)
    assert set(emulator.records("webhook")) == set(others) | {f"win_back|{c}" for c in others}
    assert emulator.stats("braze")["records_erased"] == 2


def test_braze_deletes_at_most_fifty_external_ids_per_request(
    con: duckdb.DuckDBPyConnection, emulator: RunningEmulator
) -> None:
    rows = audience(130)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    spec = sync_spec(emulator, "braze", name="braze_vip", fields={"first_name": "first_name"})
    assert run_sync(con, spec).confirmed == 130
    ids = tuple(f"c{n:06d}" for n in range(120))

    [report] = erase_at_destinations(con, [spec], subject(customer_ids=ids))

    assert report.accepted and report.keys_sent == 120 and report.requests == 3
    assert emulator.stats("braze")["erasure_requests"] == 3
    assert set(emulator.records("braze")) == {f"c{n:06d}" for n in range(120, 130)}
    assert state_rows(con, "braze_vip", list(ids)) == 0
    assert state_rows(con, "braze_vip", [f"c{n:06d}" for n in range(120, 130)]) == 10


def test_a_destination_that_keeps_failing_is_reported_and_keeps_its_state(
    con: duckdb.DuckDBPyConnection, emulator: RunningEmulator
) -> None:
    rows = audience(10)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    email = {"email": "address", "first_name": "first_name"}
    webhook = sync_spec(emulator, "webhook", name="helpdesk", fields=email)
    braze = sync_spec(emulator, "braze", name="braze_vip", fields={"first_name": "first_name"})
    for spec in (webhook, braze):
        assert run_sync(con, spec).confirmed == 10
    emulator.set_faults({"error_rate": 1.0, "providers": ["webhook"]})

    found = by_kind(erase_at_destinations(con, [webhook, braze], subject()))

    failed = found["webhook", ("helpdesk",)]
    assert failed.needs_retry and "gave up after 12 attempts" in failed.detail
    assert failed.requests == 12 and failed.state_rows_deleted == 0
    assert state_rows(con, "helpdesk", list(PERSON)) == 2
    assert set(PERSON) <= set(emulator.records("webhook"))
    assert found["braze", ("braze_vip",)].accepted
    assert state_rows(con, "braze_vip", list(PERSON)) == 0
    assert not set(PERSON) & set(emulator.records("braze"))


def test_throttling_and_server_errors_are_retried_by_the_sender(
    con: duckdb.DuckDBPyConnection, emulator: RunningEmulator
) -> None:
    rows = audience(10)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    spec = sync_spec(emulator, "braze", name="braze_vip", fields={"first_name": "first_name"})
    assert run_sync(con, spec).confirmed == 10
    emulator.set_faults(
        {"script": ["rate_limit", "error"], "providers": ["braze"], "retry_after": 0.05}
    )

    [report] = erase_at_destinations(con, [spec], subject())

    assert report.accepted and report.requests == 3
    assert emulator.stats("braze")["injected_429"] == 1
    assert emulator.stats("braze")["injected_5xx"] == 1
    assert not set(PERSON) & set(emulator.records("braze"))


def test_refused_credentials_are_reported_without_the_secret(
    con: duckdb.DuckDBPyConnection, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = audience(10)
    write_audience(con, rows)
    write_permissions(con, permit(rows))
    spec = sync_spec(emulator, "webhook", name="helpdesk", fields={"first_name": "first_name"})
    assert run_sync(con, spec).confirmed == 10
    monkeypatch.setenv("OMNI360_EMULATOR_WEBHOOK_SECRET", "a-wrong-signing-secret")

    [report] = erase_at_destinations(con, [spec], subject())

    assert report.needs_retry and "credentials refused (HTTP 403)" in report.detail
    assert "a-wrong-signing-secret" not in report.detail
    assert emulator.stats("webhook")["auth_failures"] == 1
    assert set(PERSON) <= set(emulator.records("webhook"))
    assert state_rows(con, "helpdesk", list(PERSON)) == 2


# -- the person's keys in the sync state ------------------------------------------------------


def test_keys_are_matched_on_the_customer_id_part_of_the_key(
    con: duckdb.DuckDBPyConnection, emulator: RunningEmulator
) -> None:
    ensure_state(con)
    held = {
        "chat": ["win_back|c1", "win_back|c10", "welcome|c1", "c1|win_back", "win_back|c2"],
        "by_customer": ["c1", "c10", "c2"],
        "middle": ["a|c1|x", "a|c10|x", "a|c1"],
    }
    for sync, keys in held.items():
        for key in keys:
            con.execute(f"insert into {SCHEMA}.snapshots values (?, ?, 'h', now())", [sync, key])
    con.execute(f"insert into {SCHEMA}.departures values ('chat', 'gone|c1', 1)")
    con.execute(f"insert into {SCHEMA}.sends values ('chat', 'other-key', 'c1', 'sms', now())")

    def spec(name: str, key: list[str]) -> SyncSpec:
        return sync_spec(emulator, "webhook", name=name, primary_key=key, fields={"x": key[0]})

    chat = spec("chat", ["audience_name", "customer_id"])
    assert person_keys(con, chat, ["c1"]) == ["gone|c1", "other-key", "welcome|c1", "win_back|c1"]
    assert person_keys(con, spec("by_customer", ["customer_id"]), ["c1", "c9"]) == ["c1", "c9"]
    middle = spec("middle", ["a", "customer_id", "b"])
    assert person_keys(con, middle, ["c1"]) == ["a|c1|x"]
    assert person_keys(con, spec("chat", ["audience_name", "address"]), ["c1"]) == ["other-key"]
    assert person_keys(con, chat, []) == []


# -- what each provider is sent ---------------------------------------------------------------


def run_erase(destination: Destination, person: ErasureSubject) -> ErasureOutcome:
    """`erase` through the engine's sender, with fast retries."""
    policy = RetryPolicy(**FAST_RETRY)

    async def go() -> ErasureOutcome:
        async with httpx.AsyncClient(timeout=policy.timeout) as client:
            return await destination.erase(
                person, Sender(client, destination.erasure_limits, policy)
            )

    return asyncio.run(go())


def test_request_bodies_follow_each_providers_contract(emulator: RunningEmulator) -> None:
    person = ErasureSubject("erasure-9", ("c1", "c2"), EMAILS, (PHONE,), ("c1", "win_back|c1"))
    braze = build_destination(emulator.destination_settings("braze"))
    request = braze.delete_request(["c1", "c2"])
    assert request.url.path.endswith("/users/delete")
    assert request.headers["Authorization"] == f"Bearer {emulator.credentials.braze_api_key}"
    assert json.loads(request.content) == {"external_ids": ["c1", "c2"]}

    klaviyo = build_destination(emulator.destination_settings("klaviyo"))
    request = klaviyo.deletion_request("email", EMAILS[0])
    assert request.url.path.endswith("/api/data-privacy-deletion-jobs")
    assert request.headers["revision"] and request.headers["Authorization"].startswith(
        "Klaviyo-API-Key "
    )
    assert json.loads(request.content) == {
        "data": {
            "type": "data-privacy-deletion-job",
            "attributes": {
                "profile": {"data": {"type": "profile", "attributes": {"email": EMAILS[0]}}}
            },
        }
    }
    by_id = json.loads(klaviyo.deletion_request("id", "01ABC").content)
    assert by_id["data"]["attributes"]["profile"]["data"] == {
        "type": "profile",
        "id": "01ABC",
        "attributes": {},
    }

    webhook = build_destination(emulator.destination_settings("webhook"))
    request = webhook.erase_request(person)
    body = json.loads(request.content)
    assert body == {
        "operation": "erase",
        "erasure_id": "erasure-9",
        "keys": ["c1", "win_back|c1"],
        "customer_ids": ["c1", "c2"],
    }
    assert not raw_contacts(request.content.decode())
    assert verify_signature(
        emulator.credentials.webhook_secret,
        request.headers[TIMESTAMP_HEADER],
        request.content,
        request.headers[SIGNATURE_HEADER],
    )


def test_klaviyo_erases_by_phone_and_skips_what_is_not_e164(emulator: RunningEmulator) -> None:
    klaviyo = build_destination(emulator.destination_settings("klaviyo"))
    state = emulator.emulator.states["klaviyo"]
    with state.lock:
        state.records["x1"] = {"external_id": "x1", "phone_number": PHONE}
        state.records["x2"] = {"external_id": "x2", "phone_number": "+4915000000099"}
    person = ErasureSubject("erasure-3", ("nobody",), (), (PHONE, "0151 not e164"))

    outcome = run_erase(klaviyo, person)

    assert outcome.accepted and outcome.requests == 2  # the lookup, one deletion job
    assert "1 phone number(s) not in E.164 skipped" in outcome.detail
    assert set(emulator.records("klaviyo")) == {"x2"}
    assert not raw_contacts(outcome.detail)


def test_the_emulator_refuses_malformed_erasures(emulator: RunningEmulator) -> None:
    braze_key = {"Authorization": f"Bearer {emulator.credentials.braze_api_key}"}
    klaviyo_headers = {
        "Authorization": f"Klaviyo-API-Key {emulator.credentials.klaviyo_api_key}",
        "revision": "2025-01-15",
    }
    with httpx.Client(base_url=emulator.url, timeout=5.0) as client:
        too_many = {"external_ids": [f"c{n}" for n in range(51)]}
        assert (
            client.post("/braze/users/delete", json=too_many, headers=braze_key).status_code == 400
        )
        both = {"external_ids": ["c1"], "braze_ids": ["b1"]}
        assert client.post("/braze/users/delete", json=both, headers=braze_key).status_code == 400
        assert client.post("/braze/users/delete", json={"external_ids": ["c1"]}).status_code == 401
        two = {
            "data": {
                "type": "data-privacy-deletion-job",
                "attributes": {
                    "profile": {
                        "data": {
                            "type": "profile",
                            "attributes": {"email": "a@b.co", "phone_number": PHONE},
                        }
                    }
                },
            }
        }
        answer = client.post(
            "/klaviyo/api/data-privacy-deletion-jobs", json=two, headers=klaviyo_headers
        )
        assert answer.status_code == 400
        unsigned = {"operation": "erase", "erasure_id": "e", "keys": [], "customer_ids": []}
        assert client.post("/webhook", json=unsigned).status_code == 401
    assert emulator.stats()["totals"]["erasure_requests"] == 0
