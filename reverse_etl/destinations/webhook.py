"""Generic webhook: batches POSTed as signed JSON to an endpoint of your own.

Request (one per batch)::

    POST <base_url><path>
    Content-Type: application/json
    Idempotency-Key: <batch_id>
    X-Omni360-Timestamp: <unix seconds>
    X-Omni360-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the secret>

    {"sync": "...", "operation": "upsert" | "delete" | "insert", "batch_id": "...",
     "records": [{"key": "...", "idempotency_key": "...", "fields": {...}}, ...]}

Fields: every mapped field is sent as is under `fields` (a delete carries `{}`); nothing is
required. Settings: `base_url` or `base_url_env` (the endpoint; required), `path` (appended),
`signing_secret_env` (required), `headers` (extra, non-secret headers), `max_batch_size`,
`requests_per_second`, `concurrency`.

Answers: any 2xx confirms the batch, except the records a JSON body lists under
`"rejected": [{"key": ..., "reason": ...}]`; 401/403 (signature refused), 404 and 413 fail the
batch; any other 4xx rejects its records (with the body's `rejected` reasons where given).

Delivery is idempotent when the receiver deduplicates on the record `idempotency_key`s (or the
batch's `Idempotency-Key`): a batch re-sent after a crash or a lost answer carries the same
keys. Receivers check the signature with `verify_signature` (constant-time, replay window).
A retry re-sends the same signed request, so a batch retried for longer than the receiver's
tolerance is refused and sent again, freshly signed, next run.

Erasure ("right to be forgotten"): one request, signed and sent like a batch, with
`Idempotency-Key` derived from the body::

    {"operation": "erase", "erasure_id": "...", "keys": ["<record key>", ...],
     "customer_ids": ["...", ...]}

The receiver deletes every record it holds under those keys (and whatever it keeps about those
customer ids). No e-mail address or phone number is sent: the receiver knows its records by
key. Any 2xx accepts; erasing twice must be harmless to the receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from reverse_etl.destinations._common import (
    body_json,
    credentials_refused,
    dumps,
    resolve_limits,
    short,
    unique,
)
from reverse_etl.destinations.base import (
    Batch,
    BatchOutcome,
    ConfigurationError,
    DeliveryFailed,
    Destination,
    ErasureOutcome,
    ErasureSubject,
    Limits,
    Mode,
    Rejection,
    Send,
    secret,
)

TIMESTAMP_HEADER = "X-Omni360-Timestamp"
SIGNATURE_HEADER = "X-Omni360-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE = 300  # seconds a signature stays acceptable


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def sign(secret_value: bytes | str, timestamp: str, body: bytes | str) -> str:
    """`sha256=<hex>` over `timestamp + "." + body`."""
    mac = hmac.new(_bytes(secret_value), _bytes(timestamp) + b"." + _bytes(body), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: bytes | str,
    timestamp: str | None,
    body: bytes | str,
    signature: str | None,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when `signature` is this secret's signature of `timestamp.body` and the timestamp
    lies within `tolerance` seconds of `now` (replay window). Compares in constant time."""
    if not secret or not timestamp or not signature:
        return False
    try:
        stamped = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - stamped) > tolerance:
        return False
    expected = sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


class WebhookDestination(Destination):
    kind: ClassVar[str] = "webhook"
    modes: ClassVar[frozenset[Mode]] = frozenset({Mode.UPSERT, Mode.MIRROR, Mode.INSERT})
    idempotent: ClassVar[bool] = True
    required_fields: ClassVar[frozenset[str]] = frozenset()
    supports_erasure: ClassVar[bool] = True
    default_base_url: ClassVar[str] = ""
    # Our own protocol's maximums; a receiver declares less through the settings.
    DOCUMENTED = Limits(max_batch_size=10_000, requests=100, per_seconds=1.0, concurrency=8)

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        if not self.base_url:
            raise ConfigurationError("setting 'base_url' (or 'base_url_env') is missing")
        self._secret = secret(settings, "signing_secret")
        self._limits = resolve_limits(self.kind, self.DOCUMENTED, settings)
        extra = settings.get("headers") or {}
        if not isinstance(extra, Mapping):
            raise ConfigurationError("setting 'headers' must be a mapping")
        self._extra_headers = {str(k): str(v) for k, v in extra.items()}
        self.url = self.base_url + str(settings.get("path") or "")

    @property
    def limits(self) -> Limits:
        return self._limits

    def signed_request(
        self, body: bytes, idempotency_key: str, timestamp: int | None = None
    ) -> httpx.Request:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            **self._extra_headers,
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: idempotency_key,
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(self._secret, stamp, body),
        }
        return httpx.Request("POST", self.url, content=body, headers=headers)

    def build_request(self, batch: Batch, timestamp: int | None = None) -> httpx.Request:
        body = dumps(
            {
                "sync": batch.sync_name,
                "operation": batch.operation.value,
                "batch_id": batch.batch_id,
                "records": [
                    {"key": r.key, "idempotency_key": r.idempotency_key, "fields": r.fields}
                    for r in batch.records
                ],
            }
        )
        return self.signed_request(body, batch.batch_id, timestamp)

    async def deliver(self, batch: Batch, send: Send) -> BatchOutcome:
        if not batch.records:
            return BatchOutcome()
        response = await send(self.build_request(batch))
        status = response.status_code
        if status in (401, 403):
            raise credentials_refused(self.kind, response, "signing_secret_env")
        if status in (404, 405):
            raise DeliveryFailed(f"webhook: endpoint not found (HTTP {status}); check base_url")
        if status == 413:
            raise DeliveryFailed("webhook: batch too large for the receiver; lower max_batch_size")
        listed = self._listed_rejections(body_json(response), {r.key for r in batch.records})
        if 200 <= status < 300:
            return BatchOutcome(
                confirmed=[r.key for r in batch.records if r.key not in listed],
                rejected=[Rejection(key, reason) for key, reason in listed.items()],
            )
        if 400 <= status < 500:
            generic = f"webhook answered HTTP {status}"
            return BatchOutcome(
                rejected=[Rejection(r.key, listed.get(r.key, generic)) for r in batch.records]
            )
        raise DeliveryFailed(f"webhook: unexpected answer HTTP {status}")

    def erase_request(self, subject: ErasureSubject, timestamp: int | None = None) -> httpx.Request:
        body = dumps(
            {
                "operation": "erase",
                "erasure_id": subject.erasure_id,
                "keys": unique(subject.record_keys),
                "customer_ids": unique(subject.customer_ids),
            }
        )
        return self.signed_request(body, hashlib.sha256(body).hexdigest()[:32], timestamp)

    async def erase(self, subject: ErasureSubject, send: Send) -> ErasureOutcome:
        response = await send(self.erase_request(subject))
        status = response.status_code
        if status in (401, 403):
            raise credentials_refused(self.kind, response, "signing_secret_env")
        if status in (404, 405):
            raise DeliveryFailed(f"webhook: endpoint not found (HTTP {status}); check base_url")
        keys = len(unique(subject.record_keys))
        if 200 <= status < 300:
            return ErasureOutcome(1, True, f"webhook: erasure of {keys} key(s) accepted")
        if 400 <= status < 500:
            body = body_json(response)
            said = body.get("error") if isinstance(body, Mapping) else None
            return ErasureOutcome(
                1, False, f"webhook: HTTP {status}: {short(said or 'erasure refused')}"
            )
        raise DeliveryFailed(f"webhook: unexpected answer HTTP {status}")

    @staticmethod
    def _listed_rejections(body: Any, keys: set[str]) -> dict[str, str]:
        """The receiver's per-record refusals (`{"rejected": [{"key", "reason"}]}`)."""
        listed: dict[str, str] = {}
        if isinstance(body, Mapping) and isinstance(body.get("rejected"), list):
            for item in body["rejected"]:
                if isinstance(item, Mapping) and str(item.get("key")) in keys:
                    reason = short(item.get("reason") or "refused by the receiver")
                    listed[str(item["key"])] = f"webhook: {reason}"
        return listed
