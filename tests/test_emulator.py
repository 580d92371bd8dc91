"""The channel emulator itself: auth, shapes, limits, faults, state, control endpoints, and
running as a separate process."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reverse_etl.destinations.webhook import sign
from reverse_etl.emulator import EmulatorClient, FaultPlan, RunningEmulator, start_emulator

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator() as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(emulator: RunningEmulator) -> None:
    emulator.reset(faults=True)
    emulator.set_limits({"braze": [(3000, 3.0)], "telegram": [(30, 1.0)]})


@functools.cache
def client() -> httpx.Client:
    """One client for the module's requests (making one per request costs ~40 ms)."""
    return httpx.Client(timeout=2.0)


def braze(
    emulator: RunningEmulator, objects: list[dict], key: str | None = None, timeout: float = 2.0
) -> httpx.Response:
    return client().post(
        f"{emulator.base_url('braze')}/users/track",
        json={"attributes": objects},
        headers={"Authorization": f"Bearer {key or emulator.credentials.braze_api_key}"},
        timeout=timeout,
    )


def webhook_post(
    url: str, secret: str, records: list[dict], batch_id: str = "b1", operation: str = "upsert"
) -> httpx.Response:
    body = json.dumps(
        {"sync": "s", "operation": operation, "batch_id": batch_id, "records": records}
    ).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": batch_id,
        "X-Omni360-Timestamp": stamp,
        "X-Omni360-Signature": sign(secret, stamp, body),
    }
    return httpx.post(url, content=body, headers=headers, timeout=2.0)


def test_each_provider_refuses_wrong_credentials(emulator: RunningEmulator) -> None:
    base, c = emulator.base_url, emulator.credentials
    answers = {
        "webhook-missing": httpx.post(base("webhook"), json={}),
        "webhook-bad": httpx.post(
            base("webhook"),
            content=b"{}",
            headers={"X-Omni360-Timestamp": str(int(time.time())), "X-Omni360-Signature": "x"},
        ),
        "braze": braze(emulator, [{"external_id": "a"}], key="nope"),
        "klaviyo": httpx.get(
            f"{base('klaviyo')}/api/profiles",
            headers={"Authorization": "Klaviyo-API-Key nope", "revision": "2025-01-15"},
        ),
        "onesignal": httpx.patch(
            f"{base('onesignal')}/apps/{c.onesignal_app_id}/users/by/external_id/a",
            json={"properties": {"tags": {}}},
            headers={"Authorization": "Key nope"},
        ),
        "onesignal-app": httpx.patch(
            f"{base('onesignal')}/apps/another-app/users/by/external_id/a",
            json={"properties": {"tags": {}}},
            headers={"Authorization": f"Key {c.onesignal_api_key}"},
        ),
        "telegram": httpx.post(f"{base('telegram')}/bot1:nope/sendMessage", json={}),
        "twilio": httpx.post(
            f"{base('twilio')}/2010-04-01/Accounts/{c.twilio_account_sid}/Messages.json",
            data={"To": "+4915123456789", "Body": "x", "From": "+15005550006"},
            auth=(c.twilio_account_sid, "nope"),
        ),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "webhook-missing": 401,
        "webhook-bad": 403,
        "braze": 401,
        "klaviyo": 401,
        "onesignal": 401,
        "onesignal-app": 403,
        "telegram": 401,
        "twilio": 401,
    }
    assert answers["telegram"].json() == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }
    assert answers["twilio"].json()["code"] == 20003
    assert answers["klaviyo"].json()["errors"][0]["code"] == "not_authenticated"
    assert emulator.stats()["totals"]["auth_failures"] == 8
    assert emulator.stats()["totals"]["records_applied"] == 0


def test_payload_shapes_are_checked_in_each_providers_format(emulator: RunningEmulator) -> None:
    c = emulator.credentials
    not_json = httpx.post(
        f"{emulator.base_url('braze')}/users/track",
        content=b"[1, 2",
        headers={"Authorization": f"Bearer {c.braze_api_key}"},
    )
    assert not_json.status_code == 400 and "message" in not_json.json()
    no_revision = httpx.post(
        f"{emulator.base_url('klaviyo')}/api/profile-bulk-import-jobs",
        json={},
        headers={"Authorization": f"Klaviyo-API-Key {c.klaviyo_api_key}"},
    )
    assert no_revision.status_code == 400
    assert "revision" in no_revision.json()["errors"][0]["detail"]
    too_many = httpx.request(
        "DELETE",
        f"{emulator.base_url('klaviyo')}/api/lists/L1/relationships/profiles",
        json={"data": [{"type": "profile", "id": str(i)} for i in range(1001)]},
        headers={"Authorization": f"Klaviyo-API-Key {c.klaviyo_api_key}", "revision": "x"},
    )
    assert too_many.status_code == 400
    bad_webhook = webhook_post(
        emulator.base_url("webhook"), c.webhook_secret, [{"key": 1, "fields": {}}]
    )
    assert bad_webhook.status_code == 400 and "error" in bad_webhook.json()
    empty_text = httpx.post(
        f"{emulator.base_url('telegram')}/bot{c.telegram_bot_token}/sendMessage",
        json={"chat_id": 5, "text": ""},
    )
    assert empty_text.json()["description"] == "Bad Request: message text is empty"
    assert emulator.stats()["totals"]["bad_requests"] == 5


def test_rate_limit_is_a_sliding_window_answered_with_429_and_retry_after(
    emulator: RunningEmulator,
) -> None:
    emulator.set_limits({"braze": [(2, 30.0)], "telegram": [(1, 30.0)]})
    answers = [braze(emulator, [{"external_id": f"u{i}"}]) for i in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 30
    assert emulator.stats("braze")["rate_limited"] == 1
    assert sorted(emulator.records("braze")) == ["u0", "u1"]

    token = emulator.credentials.telegram_bot_token
    url = f"{emulator.base_url('telegram')}/bot{token}/sendMessage"
    first = httpx.post(url, json={"chat_id": 1, "text": "a"})
    flood = httpx.post(url, json={"chat_id": 1, "text": "b"})
    assert first.json()["ok"] is True
    assert flood.status_code == 429
    body = flood.json()
    assert body["ok"] is False and body["error_code"] == 429
    assert body["parameters"]["retry_after"] >= 1
    assert body["description"].startswith("Too Many Requests: retry after")


def test_seeded_faults_repeat_exactly(emulator: RunningEmulator) -> None:
    plan = {"seed": 42, "error_rate": 0.3, "rate_limit_rate": 0.2, "retry_after": 0}

    def statuses() -> list[int]:
        emulator.set_faults(plan)
        return [braze(emulator, [{"external_id": f"u{i}"}]).status_code for i in range(30)]

    first, second = statuses(), statuses()
    assert first == second
    assert {500, 502, 503} & set(first) and 429 in first and 201 in first
    stats = emulator.stats("braze")
    assert stats["injected_5xx"] == 2 * sum(s >= 500 for s in first)
    assert stats["injected_429"] == 2 * first.count(429)


def test_timeouts_before_and_after_applying(emulator: RunningEmulator) -> None:
    emulator.set_faults({"script": ["timeout_before", "timeout_after"], "stall_seconds": 0.5})
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        braze(emulator, [{"external_id": "before"}], timeout=0.2)
    with pytest.raises(httpx.ReadTimeout):
        braze(emulator, [{"external_id": "after"}], timeout=0.2)
    assert time.monotonic() - started < 5
    assert sorted(emulator.records("braze")) == ["after"]  # applied, answer lost
    stats = emulator.stats("braze")
    assert stats["injected_timeouts_before"] == 1 and stats["injected_timeouts_after"] == 1


def test_dropped_answer_without_stall_is_a_closed_connection(emulator: RunningEmulator) -> None:
    emulator.set_faults({"script": ["timeout_after"]})
    with pytest.raises(httpx.RemoteProtocolError):
        braze(emulator, [{"external_id": "x"}])
    assert braze(emulator, [{"external_id": "y"}]).status_code == 201
    assert sorted(emulator.records("braze")) == ["x", "y"]


def test_fault_plan_is_validated(emulator: RunningEmulator) -> None:
    with pytest.raises(ValueError, match="add up"):
        FaultPlan(error_rate=0.7, rate_limit_rate=0.5)
    with pytest.raises(ValueError, match="unknown faults"):
        FaultPlan(script=("explode",))
    answer = httpx.post(f"{emulator.url}/_emulator/faults", json={"error_rate": 2})
    assert answer.status_code == 400
    only_twilio = emulator.set_faults({"error_rate": 1.0, "providers": ["twilio"]})
    assert only_twilio.providers == ("twilio",)
    assert braze(emulator, [{"external_id": "unaffected"}]).status_code == 201


def test_webhook_receiver_dedupes_by_idempotency_key_unless_told_not_to() -> None:
    with start_emulator(webhook_dedupe=False) as raw:
        url, secret = raw.base_url("webhook"), raw.credentials.webhook_secret
        records = [{"key": "k1", "idempotency_key": "i1", "fields": {"a": 1}}]
        for _ in range(2):
            assert webhook_post(url, secret, records).json()["accepted"] == 1
        stats = raw.stats("webhook")
        assert stats["duplicate_applications"] == 1 and stats["deduplicated"] == 0
        assert stats["reapplied_identical"] == 1


def test_compact_mode_keeps_digests_and_still_detects_duplicates() -> None:
    with start_emulator(compact=True) as compact:
        c = compact.credentials
        url = compact.base_url("webhook")
        records = [
            {"key": f"k{i}", "idempotency_key": f"i{i}", "fields": {"v": i}} for i in range(3)
        ]
        webhook_post(url, c.webhook_secret, records)
        webhook_post(url, c.webhook_secret, records, batch_id="b2")
        stored = compact.records("webhook")
        assert sorted(stored) == ["k0", "k1", "k2"]
        assert all(len(value) == 16 and int(value, 16) >= 0 for value in stored.values())
        assert compact.stats("webhook")["deduplicated"] == 3
        sms = (
            f"{compact.base_url('twilio')}/2010-04-01/Accounts/{c.twilio_account_sid}/Messages.json"
        )
        for _ in range(2):
            httpx.post(
                sms,
                data={"To": "+4915123456789", "Body": "hi", "From": "+15005550006"},
                auth=(c.twilio_account_sid, c.twilio_auth_token),
            )
        assert compact.messages("twilio") == {"+4915123456789": 2}
        assert compact.stats("twilio")["duplicate_applications"] == 1


def test_control_endpoints_over_http(emulator: RunningEmulator) -> None:
    for i in range(5):
        braze(emulator, [{"external_id": f"u{i}", "n": i}])
    with EmulatorClient(emulator.url) as client:
        stats = client.stats()
        assert stats["providers"]["braze"]["records_applied"] == 5
        assert stats["totals"]["requests"] == 5
        assert stats["limits"]["braze"] == [[3000, 3.0]]
        summary = client.state()
        assert summary["providers"]["braze"]["records"] == 5
        page = client.state("braze", offset=1, limit=2)
        assert page["total"] == 5 and list(page["records"]) == ["u1", "u2"]
        assert page["records"]["u2"] == {"external_id": "u2", "n": 2}
        assert client.set_faults({"seed": 3, "error_rate": 0.5})["error_rate"] == 0.5
        assert client.set_limits({"twilio": [[5, 1.0]]})["twilio"] == [[5, 1.0]]
        client.reset(faults=True)
        assert client.stats()["totals"]["requests"] == 0
        assert client.stats()["faults"]["error_rate"] == 0.0
    assert httpx.get(f"{emulator.url}/_emulator/nothing").status_code == 404
    assert httpx.get(f"{emulator.url}/nowhere/x").status_code == 404


def test_keep_alive_serves_many_requests_on_one_connection(emulator: RunningEmulator) -> None:
    with httpx.Client(timeout=2.0) as client:
        for i in range(20):
            response = client.post(
                f"{emulator.base_url('braze')}/users/track",
                json={"attributes": [{"external_id": f"k{i}"}]},
                headers={"Authorization": f"Bearer {emulator.credentials.braze_api_key}"},
            )
            assert response.status_code == 201 and response.http_version == "HTTP/1.1"
    assert emulator.stats("braze")["records_applied"] == 20


def test_runs_as_a_separate_process_until_terminated(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "reverse_etl.emulator", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        url = line.split()[-1]
        with EmulatorClient(url) as client:
            assert client.stats()["totals"]["requests"] == 0
            secret = "demo-webhook-signing-secret"
            records = [{"key": "k", "idempotency_key": "i", "fields": {}}]
            assert webhook_post(f"{url}/webhook", secret, records).status_code == 200
            assert client.state("webhook")["records"] == {"k": {}}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
