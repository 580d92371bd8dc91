"""Every destination against the local emulator, over real HTTP on 127.0.0.1.

The `send` here is deliberately simple (an httpx client, a few retries on 429, 5xx and
transport errors); the engine's sender with its rate limit is tested with the engine.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from reverse_etl.destinations import DESTINATIONS, build_destination
from reverse_etl.destinations.base import (
    Batch,
    BatchOutcome,
    ConfigurationError,
    DeliveryFailed,
    Destination,
    Mode,
    Operation,
    Record,
    Send,
)
from reverse_etl.destinations.file_export import INDEX_NAME, normalize_phone
from reverse_etl.destinations.twilio import TwilioDestination
from reverse_etl.destinations.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify_signature,
)
from reverse_etl.emulator import RunningEmulator, start_emulator

RAW_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
RAW_PHONE = re.compile(r"\+?\d{9,15}")


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator(blocked_chats={"666"}, unsubscribed={"+15005550009"}) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.reset(faults=True)
    for name, value in emulator.environment().items():
        monkeypatch.setenv(name, value)


def make_send(client: httpx.AsyncClient, seen: list[httpx.Request] | None = None) -> Send:
    async def send(request: httpx.Request) -> httpx.Response:
        for _attempt in range(6):
            if seen is not None:
                seen.append(request)
            try:
                response = await client.send(request)
                await response.aread()
            except httpx.TransportError:
                await asyncio.sleep(0.01)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                await asyncio.sleep(min(float(response.headers.get("retry-after") or 0), 0.05))
                continue
            return response
        raise DeliveryFailed("test send gave up")

    return send


def deliver(
    destination: Destination, batch: Batch, seen: list[httpx.Request] | None = None
) -> BatchOutcome:
    async def go() -> BatchOutcome:
        async with httpx.AsyncClient(timeout=1.0) as client:
            return await destination.deliver(batch, make_send(client, seen))

    return asyncio.run(go())


def batch(
    operation: Operation, records: list[Record], sync: str = "vip", batch_id: str = "b1"
) -> Batch:
    return Batch(sync, operation, records, batch_id)


def people(count: int, **extra: Any) -> list[Record]:
    return [
        Record(
            f"c{i}",
            {"first_name": f"Name{i}", "email": f"person{i}@example.com", **extra},
            f"idem-{i}",
        )
        for i in range(count)
    ]


def assert_no_raw_contact(text: str) -> None:
    assert not RAW_EMAIL.search(text), text
    assert not RAW_PHONE.search(text), text


# -- registry -----------------------------------------------------------------------------


def test_registry_knows_every_kind_and_refuses_unknown_ones() -> None:
    assert sorted(DESTINATIONS) == [
        "braze",
        "file_export",
        "klaviyo",
        "onesignal",
        "telegram",
        "twilio",
        "webhook",
    ]
    for kind, cls in DESTINATIONS.items():
        assert cls.kind == kind
        assert cls.modes and cls.modes <= set(Mode)
        assert isinstance(cls.idempotent, bool)
    assert DESTINATIONS["braze"].default_base_url == "https://rest.iad-01.braze.com"
    assert DESTINATIONS["twilio"].default_base_url == "https://api.twilio.com"
    assert DESTINATIONS["telegram"].modes == {Mode.INSERT}
    assert not DESTINATIONS["twilio"].idempotent and DESTINATIONS["webhook"].idempotent
    with pytest.raises(ConfigurationError, match="unknown destination kind 'sms'"):
        build_destination({"kind": "sms"})
    with pytest.raises(ConfigurationError, match="'kind'"):
        build_destination({})


def test_missing_secret_names_the_variable_not_a_value(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMNI360_EMULATOR_BRAZE_API_KEY")
    with pytest.raises(ConfigurationError, match="OMNI360_EMULATOR_BRAZE_API_KEY"):
        build_destination(emulator.destination_settings("braze"))


def test_settings_may_lower_limits_but_never_raise_them(emulator: RunningEmulator) -> None:
    braze = build_destination(emulator.destination_settings("braze"))
    assert (braze.limits.max_batch_size, braze.limits.requests, braze.limits.per_seconds) == (
        75,
        3000,
        3.0,
    )
    lower = build_destination(
        emulator.destination_settings("braze", max_batch_size=50, requests_per_second=10)
    )
    assert lower.limits.max_batch_size == 50
    assert lower.limits.requests / lower.limits.per_seconds == 10
    with pytest.raises(ConfigurationError, match="max_batch_size"):
        build_destination(emulator.destination_settings("braze", max_batch_size=100))
    with pytest.raises(ConfigurationError, match="requests_per_second"):
        build_destination(emulator.destination_settings("telegram", requests_per_second=31))
    twilio = build_destination(emulator.destination_settings("twilio"))
    assert twilio.limits.requests / twilio.limits.per_seconds == 1  # one long code
    faster = build_destination(emulator.destination_settings("twilio", requests_per_second=80))
    assert faster.limits.requests / faster.limits.per_seconds == 80
    with pytest.raises(ConfigurationError, match="requests_per_second"):
        build_destination(emulator.destination_settings("twilio", requests_per_second=1000))


# -- webhook ------------------------------------------------------------------------------


def test_webhook_delivers_signed_batches_the_receiver_can_verify(
    emulator: RunningEmulator,
) -> None:
    destination = build_destination(emulator.destination_settings("webhook"))
    seen: list[httpx.Request] = []
    outcome = deliver(destination, batch(Operation.UPSERT, people(3)), seen)

    assert sorted(outcome.confirmed) == ["c0", "c1", "c2"] and not outcome.rejected
    assert emulator.records("webhook")["c1"] == {
        "first_name": "Name1",
        "email": "person1@example.com",
    }
    request = seen[0]
    body = request.content
    payload = json.loads(body)
    assert payload["operation"] == "upsert" and payload["batch_id"] == "b1"
    assert payload["records"][0] == {
        "key": "c0",
        "idempotency_key": "idem-0",
        "fields": {"first_name": "Name0", "email": "person0@example.com"},
    }
    assert request.headers["Idempotency-Key"] == "b1"
    timestamp, signature = request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER]
    secret = emulator.credentials.webhook_secret
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_signature(secret, timestamp, body, signature)
    assert not verify_signature(secret, timestamp, body + b" ", signature)
    assert not verify_signature("another-secret", timestamp, body, signature)
    assert not verify_signature(secret, timestamp, body, None)
    # Replay window: a signature five minutes and one second old is refused.
    assert not verify_signature(secret, timestamp, body, signature, now=int(timestamp) + 301)
    old = str(int(time.time()) - 3600)
    assert not verify_signature(secret, old, body, sign(secret, old, body))


def test_webhook_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    import hmac

    expected = hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("s3cret", "1700000000", b"{}") == f"sha256={expected}"
    assert verify_signature("s3cret", "1700000000", "{}", f"sha256={expected}", now=1700000010)


def test_webhook_with_wrong_secret_fails_the_batch(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNI360_EMULATOR_WEBHOOK_SECRET", "not-the-secret")
    destination = build_destination(emulator.destination_settings("webhook"))
    with pytest.raises(DeliveryFailed, match="credentials refused") as failure:
        deliver(destination, batch(Operation.UPSERT, people(2)))
    assert "not-the-secret" not in str(failure.value)
    assert emulator.stats("webhook")["auth_failures"] == 1
    assert emulator.records("webhook") == {}


def test_webhook_resend_and_lost_answer_are_deduplicated_by_idempotency_key(
    emulator: RunningEmulator,
) -> None:
    destination = build_destination(emulator.destination_settings("webhook"))
    records = people(4)
    deliver(destination, batch(Operation.UPSERT, records))
    # The receiver applies the batch, then the answer is lost; the retry carries the same keys.
    emulator.set_faults({"script": ["timeout_after"]})
    outcome = deliver(destination, batch(Operation.UPSERT, records))
    assert sorted(outcome.confirmed) == ["c0", "c1", "c2", "c3"]
    stats = emulator.stats("webhook")
    assert stats["injected_timeouts_after"] == 1
    assert stats["deduplicated"] == 8  # the re-send of the batch and the retry of the re-send
    assert stats["records_applied"] == 4
    assert stats["duplicate_applications"] == 0


def test_webhook_mirror_deletes_and_receiver_rejections(emulator: RunningEmulator) -> None:
    destination = build_destination(emulator.destination_settings("webhook"))
    deliver(destination, batch(Operation.UPSERT, people(3)))
    removal = [Record("c1", {}, "del-c1")]
    outcome = deliver(destination, batch(Operation.DELETE, removal, batch_id="b2"))
    assert outcome.confirmed == ["c1"]
    assert sorted(emulator.records("webhook")) == ["c0", "c2"]

    emulator.emulator.options.reject_keys.add("c7")
    try:
        records = [Record("c7", {"x": 1}, "i7"), Record("c8", {"x": 2}, "i8")]
        outcome = deliver(destination, batch(Operation.UPSERT, records, batch_id="b3"))
    finally:
        emulator.emulator.options.reject_keys.discard("c7")
    assert outcome.confirmed == ["c8"]
    assert [(r.key, r.reason) for r in outcome.rejected] == [
        ("c7", "webhook: refused by the receiver")
    ]


def test_webhook_needs_an_endpoint() -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        build_destination({"kind": "webhook", "signing_secret_env": "X"})


# -- Braze --------------------------------------------------------------------------------


def test_braze_upserts_attributes_and_membership_in_requests_of_at_most_75(
    emulator: RunningEmulator,
) -> None:
    destination = build_destination(emulator.destination_settings("braze"))
    seen: list[httpx.Request] = []
    outcome = deliver(destination, batch(Operation.UPSERT, people(80, tier="gold")), seen)

    assert len(outcome.confirmed) == 80 and not outcome.rejected
    sizes = sorted(len(json.loads(r.content)["attributes"]) for r in seen)
    assert sizes == [5, 75]
    assert seen[0].headers["Authorization"].startswith("Bearer ")
    assert emulator.records("braze")["c3"] == {
        "external_id": "c3",
        "first_name": "Name3",
        "email": "person3@example.com",
        "tier": "gold",
        "omni360_vip": True,
    }
    assert emulator.stats("braze")["requests"] == 2


def test_braze_refuses_more_than_75_objects(emulator: RunningEmulator) -> None:
    objects = [{"external_id": f"u{i}"} for i in range(76)]
    response = httpx.post(
        f"{emulator.base_url('braze')}/users/track",
        json={"attributes": objects},
        headers={"Authorization": f"Bearer {emulator.credentials.braze_api_key}"},
    )
    assert response.status_code == 400
    assert "75" in response.json()["message"]
    assert emulator.records("braze") == {}


def test_braze_partial_errors_reject_only_the_indexed_records(emulator: RunningEmulator) -> None:
    destination = build_destination(emulator.destination_settings("braze"))
    records = people(4)
    records[2] = Record("c2", {"first_name": "Bad", "email": "not-an-address"}, "idem-2")
    outcome = deliver(destination, batch(Operation.UPSERT, records))

    assert sorted(outcome.confirmed) == ["c0", "c1", "c3"]
    assert [r.key for r in outcome.rejected] == ["c2"]
    assert "email" in outcome.rejected[0].reason
    assert sorted(emulator.records("braze")) == ["c0", "c1", "c3"]


def test_braze_all_invalid_is_a_400_whose_indexed_errors_reject_each(
    emulator: RunningEmulator,
) -> None:
    destination = build_destination(emulator.destination_settings("braze"))
    records = [Record(f"c{i}", {"email": f"broken{i}"}, f"i{i}") for i in range(2)]
    outcome = deliver(destination, batch(Operation.UPSERT, records))
    assert outcome.confirmed == []
    assert sorted(r.key for r in outcome.rejected) == ["c0", "c1"]


def test_braze_delete_removes_membership_but_keeps_the_user(emulator: RunningEmulator) -> None:
    destination = build_destination(emulator.destination_settings("braze"))
    deliver(destination, batch(Operation.UPSERT, people(2)))
    gone = [Record("c0", {}, "d0"), Record("never-synced", {}, "d1")]
    outcome = deliver(destination, batch(Operation.DELETE, gone, batch_id="b2"))

    assert sorted(outcome.confirmed) == ["c0", "never-synced"]
    users = emulator.records("braze")
    assert users["c0"]["omni360_vip"] is False
    assert users["c0"]["first_name"] == "Name0"  # the user is still there
    assert users["c1"]["omni360_vip"] is True
    assert "never-synced" not in users  # a delete never creates a user


def test_braze_wrong_key_fails_the_batch(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNI360_EMULATOR_BRAZE_API_KEY", "wrong-key")
    destination = build_destination(emulator.destination_settings("braze"))
    with pytest.raises(DeliveryFailed, match="braze: credentials refused") as failure:
        deliver(destination, batch(Operation.UPSERT, people(1)))
    assert "wrong-key" not in str(failure.value)
    assert emulator.stats("braze")["auth_failures"] == 1


def test_braze_retries_through_injected_faults(emulator: RunningEmulator) -> None:
    emulator.set_faults({"script": ["error", "rate_limit", "timeout_before"], "retry_after": 0})
    destination = build_destination(emulator.destination_settings("braze"))
    outcome = deliver(destination, batch(Operation.UPSERT, people(3)))
    assert len(outcome.confirmed) == 3
    stats = emulator.stats("braze")
    assert (stats["injected_5xx"], stats["injected_429"], stats["injected_timeouts_before"]) == (
        1,
        1,
        1,
    )
    assert stats["requests"] == 4 and stats["records_applied"] == 3


# -- Klaviyo ------------------------------------------------------------------------------


def test_klaviyo_imports_profiles_into_the_list(emulator: RunningEmulator) -> None:
    destination = build_destination(emulator.destination_settings("klaviyo"))
    records = people(3, phone_number="+4915123456789", score=7)
    seen: list[httpx.Request] = []
    outcome = deliver(destination, batch(Operation.UPSERT, records), seen)

    assert sorted(outcome.confirmed) == ["c0", "c1", "c2"]
    assert emulator.list_members("EMULIST") == {"c0", "c1", "c2"}
    profile = emulator.records("klaviyo")["c1"]
    assert profile["external_id"] == "c1" and profile["email"] == "person1@example.com"
    assert profile["properties"] == {"score": 7}
    request = seen[0]
    assert request.url.path == "/klaviyo/api/profile-bulk-import-jobs"
    assert request.headers["revision"] and request.headers["Authorization"].startswith(
        "Klaviyo-API-Key "
    )
    body = json.loads(request.content)
    assert body["data"]["relationships"]["lists"]["data"] == [{"type": "list", "id": "EMULIST"}]


def test_klaviyo_rejects_the_profiles_an_error_points_at_and_sends_the_rest(
    emulator: RunningEmulator,
) -> None:
    destination = build_destination(emulator.destination_settings("klaviyo"))
    records = people(3)
    records[1] = Record("c1", {"email": "person1-at-example"}, "idem-1")
    outcome = deliver(destination, batch(Operation.UPSERT, records))

    assert sorted(outcome.confirmed) == ["c0", "c2"]
    assert [r.key for r in outcome.rejected] == ["c1"]
    assert "email" in outcome.rejected[0].reason.lower()
    assert_no_raw_contact(outcome.rejected[0].reason)
    assert emulator.list_members("EMULIST") == {"c0", "c2"}
    assert emulator.stats("klaviyo")["requests"] == 2


def test_klaviyo_delete_removes_list_membership_only(emulator: RunningEmulator) -> None:
    destination = build_destination(emulator.destination_settings("klaviyo"))
    deliver(destination, batch(Operation.UPSERT, people(3)))
    gone = [Record("c0", {}, "d0"), Record("c2", {}, "d2"), Record("unknown", {}, "d3")]
    outcome = deliver(destination, batch(Operation.DELETE, gone, batch_id="b2"))

    assert sorted(outcome.confirmed) == ["c0", "c2", "unknown"]
    assert emulator.list_members("EMULIST") == {"c1"}
    assert sorted(emulator.records("klaviyo")) == ["c0", "c1", "c2"]  # profiles stay


def test_klaviyo_wrong_key_fails_the_batch(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNI360_EMULATOR_KLAVIYO_API_KEY", "pk_wrong")
    destination = build_destination(emulator.destination_settings("klaviyo"))
    with pytest.raises(DeliveryFailed, match="klaviyo: credentials refused"):
        deliver(destination, batch(Operation.UPSERT, people(1)))
    with pytest.raises(ConfigurationError, match="list_id"):
        build_destination(emulator.destination_settings("klaviyo", list_id=""))


# -- OneSignal ----------------------------------------------------------------------------


def test_onesignal_creates_then_updates_users_with_tags(emulator: RunningEmulator) -> None:
    destination = build_destination(emulator.destination_settings("onesignal"))
    records = [Record("c1", {"first_name": "Ana", "vip": True, "score": 3}, "i1")]
    outcome = deliver(destination, batch(Operation.UPSERT, records))
    assert outcome.confirmed == ["c1"]
    assert emulator.records("onesignal")["c1"]["tags"] == {
        "first_name": "Ana",
        "vip": "true",
        "score": "3",
        "omni360_vip": "1",
    }
    assert emulator.stats("onesignal")["requests"] == 2  # update: not found, then create

    changed = [Record("c1", {"first_name": "Ana", "vip": False, "score": 4}, "i2")]
    seen: list[httpx.Request] = []
    deliver(destination, batch(Operation.UPSERT, changed, batch_id="b2"), seen)
    assert [r.method for r in seen] == ["PATCH"]
    assert seen[0].headers["Authorization"].startswith("Key ")
    assert seen[0].url.path.endswith("/users/by/external_id/c1")
    assert emulator.records("onesignal")["c1"]["tags"]["score"] == "4"


def test_onesignal_delete_removes_the_membership_tag_only(emulator: RunningEmulator) -> None:
    destination = build_destination(emulator.destination_settings("onesignal"))
    deliver(destination, batch(Operation.UPSERT, people(2)))
    gone = [Record("c0", {}, "d0"), Record("nobody", {}, "d1")]
    outcome = deliver(destination, batch(Operation.DELETE, gone, batch_id="b2"))

    assert sorted(outcome.confirmed) == ["c0", "nobody"]
    users = emulator.records("onesignal")
    assert "omni360_vip" not in users["c0"]["tags"]
    assert users["c0"]["tags"]["first_name"] == "Name0"
    assert users["c1"]["tags"]["omni360_vip"] == "1"
    assert "nobody" not in users


def test_onesignal_wrong_key_fails_the_batch(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNI360_EMULATOR_ONESIGNAL_API_KEY", "wrong")
    destination = build_destination(emulator.destination_settings("onesignal"))
    with pytest.raises(DeliveryFailed, match="onesignal: credentials refused"):
        deliver(destination, batch(Operation.UPSERT, people(2)))


# -- Telegram -----------------------------------------------------------------------------


def test_telegram_renders_the_template_and_rejects_what_it_cannot_send(
    emulator: RunningEmulator,
) -> None:
    destination = build_destination(
        emulator.destination_settings("telegram", text_template="Hi {first_name}, code {code}")
    )
    records = [
        Record("a", {"chat_id": "1001", "first_name": "Ana", "code": "X1"}, "ia"),
        Record("b", {"chat_id": "1002", "code": "X2"}, "ib"),  # no first_name
        Record("c", {"chat_id": "666", "first_name": "Cy", "code": "X3"}, "ic"),  # blocked
        Record("d", {"chat_id": "not-a-chat", "first_name": "Di", "code": "X4"}, "id"),
    ]
    outcome = deliver(destination, batch(Operation.INSERT, records))

    assert outcome.confirmed == ["a"]
    reasons = {r.key: r.reason for r in outcome.rejected}
    assert reasons["b"] == "telegram: template fields missing: first_name"
    assert reasons["c"] == "telegram 403: Forbidden: bot was blocked by the user"
    assert reasons["d"] == "telegram: chat_id is not a chat id"
    assert emulator.messages("telegram") == {"1001": ["Hi Ana, code X1"]}


def test_telegram_escapes_field_values_for_html(emulator: RunningEmulator) -> None:
    destination = build_destination(
        emulator.destination_settings(
            "telegram", text_template="<b>Hi</b> {first_name}", parse_mode="HTML"
        )
    )
    records = [Record("a", {"chat_id": "7", "first_name": "<script>"}, "ia")]
    deliver(destination, batch(Operation.INSERT, records))
    assert emulator.messages("telegram") == {"7": ["<b>Hi</b> &lt;script&gt;"]}


def test_telegram_flood_control_answer_is_retried(emulator: RunningEmulator) -> None:
    emulator.set_faults({"script": ["rate_limit"], "retry_after": 0})
    destination = build_destination(emulator.destination_settings("telegram"))
    outcome = deliver(
        destination,
        batch(Operation.INSERT, [Record("a", {"chat_id": "5", "first_name": "A"}, "i")]),
    )
    assert outcome.confirmed == ["a"]
    assert emulator.stats("telegram")["injected_429"] == 1
    assert len(emulator.messages("telegram")["5"]) == 1


def test_telegram_template_must_use_plain_field_names(emulator: RunningEmulator) -> None:
    for template in ("Hi {first_name.__class__}", "Hi {0}", "Hi {}", "Hi {name!r}", ""):
        with pytest.raises(ConfigurationError, match="text_template"):
            build_destination(emulator.destination_settings("telegram", text_template=template))


def test_telegram_wrong_token_fails_and_never_shows_the_token(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNI360_EMULATOR_TELEGRAM_BOT_TOKEN", "999:wrong-token")
    destination = build_destination(emulator.destination_settings("telegram"))
    with pytest.raises(DeliveryFailed, match="telegram: credentials refused") as failure:
        deliver(
            destination,
            batch(Operation.INSERT, [Record("a", {"chat_id": "5", "first_name": "A"}, "i")]),
        )
    assert "wrong-token" not in str(failure.value)
    assert emulator.stats("telegram")["auth_failures"] == 1


def test_telegram_resent_message_is_counted_as_a_duplicate(emulator: RunningEmulator) -> None:
    destination = build_destination(emulator.destination_settings("telegram"))
    emulator.set_faults({"script": ["timeout_after"]})  # sent, answer lost, sent again
    outcome = deliver(
        destination,
        batch(Operation.INSERT, [Record("a", {"chat_id": "5", "first_name": "A"}, "i")]),
    )
    assert outcome.confirmed == ["a"]
    assert emulator.stats("telegram")["duplicate_applications"] == 1
    assert len(emulator.messages("telegram")["5"]) == 2


# -- Twilio -------------------------------------------------------------------------------


def test_twilio_sends_form_encoded_messages_with_basic_auth(emulator: RunningEmulator) -> None:
    destination = build_destination(
        emulator.destination_settings("twilio", body_template="Hi {first_name}!")
    )
    records = [
        Record("a", {"to": "+4915123456789", "first_name": "Ana"}, "ia"),
        Record("b", {"to": "+15005550009", "first_name": "Bo"}, "ib"),  # replied STOP
        Record("c", {"to": "015123456789", "first_name": "Cy"}, "ic"),  # not E.164
        Record("d", {"to": "+4915100000001"}, "id"),  # no first_name
    ]
    seen: list[httpx.Request] = []
    outcome = deliver(destination, batch(Operation.INSERT, records), seen)

    assert outcome.confirmed == ["a"]
    reasons = {r.key: r.reason for r in outcome.rejected}
    assert reasons == {
        "b": "twilio 21610: recipient unsubscribed (replied STOP)",
        "c": "twilio: 'to' is not an E.164 phone number",
        "d": "twilio: template fields missing: first_name",
    }
    for reason in reasons.values():
        assert_no_raw_contact(reason)
    assert emulator.messages("twilio") == {"+4915123456789": ["Hi Ana!"]}
    request = seen[0]
    sid = emulator.credentials.twilio_account_sid
    assert request.url.path == f"/twilio/2010-04-01/Accounts/{sid}/Messages.json"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form == {"To": "+4915123456789", "Body": "Hi Ana!", "From": "+15005550006"}
    assert request.headers["Authorization"].startswith("Basic ")


def test_twilio_invalid_number_answer_is_a_rejection_without_the_number(
    emulator: RunningEmulator,
) -> None:
    destination = build_destination(
        emulator.destination_settings(
            "twilio", messaging_service_sid="MG" + "1" * 32, from_number=None
        )
    )
    # A number Twilio refuses: 400 with code 21211, whose message quotes the number.
    send: list[httpx.Request] = []
    response = httpx.post(
        f"{emulator.base_url('twilio')}/2010-04-01/Accounts/"
        f"{emulator.credentials.twilio_account_sid}/Messages.json",
        data={"To": "12345", "Body": "x", "MessagingServiceSid": "MG1"},
        auth=(emulator.credentials.twilio_account_sid, emulator.credentials.twilio_auth_token),
    )
    assert response.status_code == 400 and response.json()["code"] == 21211
    assert TwilioDestination._reason(response) == "twilio 21211: invalid 'To' phone number"
    outcome = deliver(
        destination,
        batch(Operation.INSERT, [Record("a", {"to": "+4915123456789", "first_name": "A"}, "i")]),
        send,
    )
    assert outcome.confirmed == ["a"]
    assert dict(httpx.QueryParams(send[0].content.decode()))["MessagingServiceSid"].startswith("MG")


def test_twilio_wrong_token_and_missing_sender(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="from_number' or 'messaging_service_sid"):
        build_destination(emulator.destination_settings("twilio", from_number=None))
    monkeypatch.setenv("OMNI360_EMULATOR_TWILIO_AUTH_TOKEN", "bad-token")
    destination = build_destination(emulator.destination_settings("twilio"))
    with pytest.raises(DeliveryFailed, match="twilio: credentials refused") as failure:
        deliver(
            destination,
            batch(
                Operation.INSERT, [Record("a", {"to": "+4915123456789", "first_name": "A"}, "i")]
            ),
        )
    assert "bad-token" not in str(failure.value)
    assert emulator.messages("twilio") == {}


# -- file export --------------------------------------------------------------------------


def export(tmp_path: Path, **settings: Any) -> Destination:
    return build_destination({"kind": "file_export", "directory": str(tmp_path), **settings})


def run_export(destination: Destination, b: Batch) -> BatchOutcome:
    async def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the file export sends nothing")

    return asyncio.run(destination.deliver(b, never))


CONTACTS = [
    Record(
        "c1",
        {
            "email": "  Test@Example.COM ",
            "phone": "+49 151 2345-6789",
            "first_name": " Anna ",
            "country": "de",
        },
        "i1",
    ),
    Record("c2", {"email": "no-at-sign", "first_name": "Bad"}, "i2"),
    Record("c3", {"phone": "0151 23456789"}, "i3"),
    Record("c4", {"first_name": "Nobody"}, "i4"),
]
EMAIL_SHA = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"  # test@example.com
PHONE_SHA = "663a4322addcdcc2be9435bfd2505066dc1048b89d33e48f363119f18bdd71e8"  # +4915123456789
PHONE_DIGITS_SHA = "c0f8f0bebbbac96451ee8d8def84a02ae9e34c877775437cb9d458328315afa7"
ANNA_SHA = "55579b557896d0ce1764c47fed644f9b35f58bad620674af23f356d80ed0c503"


def test_file_export_google_layout_hashes_normalized_identifiers(tmp_path: Path) -> None:
    destination = export(tmp_path, platform="google", default_calling_code="49")
    outcome = run_export(destination, batch(Operation.UPSERT, CONTACTS, batch_id="abc123"))

    assert outcome.confirmed == ["c1", "c3"]
    reasons = {r.key: r.reason for r in outcome.rejected}
    assert reasons == {
        "c2": "file_export: email is not a valid address",
        "c4": "file_export: needs an email or a phone",
    }
    path = tmp_path / "vip" / "upsert-abc123.csv"
    content = path.read_text()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
    assert rows[1] == [EMAIL_SHA, PHONE_SHA, ANNA_SHA, "", "DE", ""]
    assert rows[2] == ["", PHONE_SHA, "", "", "", ""]  # the national number, brought to E.164
    assert_no_raw_contact(content.replace(EMAIL_SHA, "").replace(PHONE_SHA, ""))
    assert "example" not in content.lower() and "151" not in content.replace(PHONE_SHA, "")
    # No temporary file left; beside the batch, the removal index (hashes only).
    assert sorted(p.name for p in path.parent.iterdir()) == [INDEX_NAME, "upsert-abc123.csv"]
    assert_no_raw_contact((path.parent / INDEX_NAME).read_text().replace(EMAIL_SHA, ""))


def test_file_export_meta_layout_hashes_phone_digits_without_plus(tmp_path: Path) -> None:
    """A removal (a delete carries the key alone) writes the row last exported for the key."""
    destination = export(tmp_path, platform="meta", format="parquet")
    run_export(destination, batch(Operation.UPSERT, CONTACTS[:1], batch_id="u1"))
    removal = [Record("c1", {}, "d-c1"), Record("never-exported", {}, "d-x")]
    outcome = run_export(destination, batch(Operation.DELETE, removal, batch_id="d1"))
    assert outcome.confirmed == ["c1", "never-exported"] and not outcome.rejected
    table = pq.read_table(tmp_path / "vip" / "delete-d1.parquet").to_pylist()
    assert table == [
        {
            "EMAIL": EMAIL_SHA,
            "PHONE": PHONE_DIGITS_SHA,
            "FN": ANNA_SHA,
            "LN": "",
            "ZIP": "",
            "COUNTRY": hashlib.sha256(b"de").hexdigest(),
            "EXTERN_ID": "c1",
        }
    ]
    assert json.loads((tmp_path / "vip" / INDEX_NAME).read_text()) == {}


def test_file_export_generic_layout_and_idempotent_rewrite(tmp_path: Path) -> None:
    destination = export(tmp_path)
    b = batch(Operation.UPSERT, CONTACTS[:1], batch_id="same")
    run_export(destination, b)
    first = (tmp_path / "vip" / "upsert-same.csv").read_bytes()
    run_export(destination, b)
    assert (tmp_path / "vip" / "upsert-same.csv").read_bytes() == first
    header, row = list(csv.reader(io.StringIO(first.decode())))
    assert header[:3] == ["key", "email_sha256", "phone_sha256"]
    assert row[:3] == ["c1", EMAIL_SHA, PHONE_SHA]


def test_file_export_confirms_nothing_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = export(tmp_path)

    def crash(*_args: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        run_export(destination, batch(Operation.UPSERT, CONTACTS[:1], batch_id="x"))
    folder = tmp_path / "vip"
    assert not (folder / "upsert-x.csv").exists()
    assert list(folder.iterdir()) == []  # the temporary file is gone too


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+49 (151) 234-56789", "+4915123456789"),
        ("0049 151 23456789", "+4915123456789"),
        ("4915123456789", "+4915123456789"),
        ("12", None),
        ("+0151", None),
        ("phone", None),
    ],
)
def test_phone_normalization(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_file_export_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="format"):
        export(tmp_path, format="xlsx")
    with pytest.raises(ConfigurationError, match="platform"):
        export(tmp_path, platform="tiktok")
    with pytest.raises(ConfigurationError, match="directory"):
        build_destination({"kind": "file_export"})


# -- secrets and contact data stay out of errors -------------------------------------------


def test_no_secret_or_contact_in_any_failure_text(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts: list[str] = []
    emulator.set_faults({"error_rate": 1.0})
    records = people(2, to="+4915123456789", chat_id="5")
    for kind, operation in (
        ("webhook", Operation.UPSERT),
        ("braze", Operation.UPSERT),
        ("klaviyo", Operation.UPSERT),
        ("onesignal", Operation.UPSERT),
        ("telegram", Operation.INSERT),
        ("twilio", Operation.INSERT),
    ):
        destination = build_destination(emulator.destination_settings(kind))
        with pytest.raises(DeliveryFailed) as failure:
            deliver(destination, batch(operation, records))
        texts.append(str(failure.value))
    secrets = list(emulator.environment().values())
    for text in texts:
        assert_no_raw_contact(text)
        assert not any(secret in text for secret in secrets), text
