"""Braze: user attributes and audience membership through `POST /users/track`.

Contract (https://www.braze.com/docs/api/endpoints/user_data/post_user_track/): JSON
`{"attributes": [<user attributes object>, ...]}`, `Authorization: Bearer <REST API key>`
(a key with the `users.track` permission). At most 75 objects per request across
`attributes`, `events` and `purchases`; 3,000 requests per 3 seconds per workspace
(https://www.braze.com/docs/api/api_limits/). Success is `{"message": "success"}`, with
`"errors": [{"type", "input_array", "index"}]` for objects Braze refused
(https://www.braze.com/docs/api/errors/); each indexed error rejects that record.

Field mapping: the user is the record key as `external_id` (so `primary_key` should be the
customer id; a mapped `external_id` field overrides it on upserts, but a delete carries only
the key). Every other mapped field becomes an attribute of the same name: Braze's profile
fields (`first_name`, `last_name`, `email`, `phone`, `country`, `language`, ...) or custom
attributes. Membership is a boolean custom attribute, `membership_attribute` (default
`omni360_<audience or sync name>`): `true` on upsert; a delete in mirror mode sets it to
`false` with `_update_existing_only` (the user is never deleted, nor created by a delete).

Settings: `api_key_env` (required), `base_url` (your instance's REST endpoint, default
`https://rest.iad-01.braze.com`), `membership_attribute`, `audience`, `create_users`
(default true; false sends `_update_existing_only` on upserts too), `max_batch_size` (<= 75),
`requests_per_second` (<= 1,000), `concurrency`.

Idempotent: attribute updates keyed by `external_id` applied twice leave the same profile.

Erasure (https://www.braze.com/docs/api/endpoints/user_data/post_user_delete/):
`POST /users/delete` with `{"external_ids": [...]}`, at most 50 per request, the same Bearer
key (it needs the `users.delete` permission); 20,000 requests per minute. The external ids are
the person's customer ids and the record keys the syncs used as `external_id`. Success is
`{"deleted": n, "message": "success"}` (n users queued for deletion); deleting users Braze does
not have is harmless, so an erasure can be sent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from reverse_etl.destinations._common import (
    body_json,
    chunks,
    credentials_refused,
    dumps,
    flag,
    gather_limited,
    membership_name,
    resolve_limits,
    short,
    unique,
)
from reverse_etl.destinations.base import (
    Batch,
    BatchOutcome,
    DeliveryFailed,
    Destination,
    ErasureOutcome,
    ErasureSubject,
    Limits,
    Mode,
    Operation,
    Record,
    Rejection,
    Send,
    secret,
)

MAX_OBJECTS = 75
MAX_DELETE_IDS = 50
# /users/delete: 20,000 requests per minute (shared with the alias and identify endpoints).
DELETE_LIMITS = Limits(max_batch_size=MAX_DELETE_IDS, requests=20_000, per_seconds=60.0)
RESERVED = frozenset({"external_id", "_update_existing_only", "braze_id", "user_alias"})


class BrazeDestination(Destination):
    kind: ClassVar[str] = "braze"
    modes: ClassVar[frozenset[Mode]] = frozenset({Mode.UPSERT, Mode.MIRROR})
    idempotent: ClassVar[bool] = True
    required_fields: ClassVar[frozenset[str]] = frozenset()
    supports_erasure: ClassVar[bool] = True
    default_base_url: ClassVar[str] = "https://rest.iad-01.braze.com"
    DOCUMENTED = Limits(max_batch_size=MAX_OBJECTS, requests=3000, per_seconds=3.0, concurrency=8)

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self._api_key = secret(settings, "api_key")
        self._limits = resolve_limits(
            self.kind, self.DOCUMENTED, settings, Limits(MAX_OBJECTS, 3000, 3.0, 64)
        )
        self.create_users = flag(settings, "create_users", True)

    @property
    def limits(self) -> Limits:
        return self._limits

    def attribute_object(self, record: Record, operation: Operation, attribute: str) -> dict:
        if operation is Operation.DELETE:
            return {"external_id": record.key, attribute: False, "_update_existing_only": True}
        external_id = record.fields.get("external_id") or record.key
        obj: dict[str, Any] = {"external_id": str(external_id)}
        obj.update({k: v for k, v in record.fields.items() if k not in RESERVED})
        obj[attribute] = True
        if not self.create_users:
            obj["_update_existing_only"] = True
        return obj

    def build_request(self, objects: list[dict]) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self.base_url}/users/track",
            content=dumps({"attributes": objects}),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self._api_key}",
            },
        )

    async def deliver(self, batch: Batch, send: Send) -> BatchOutcome:
        attribute = membership_name(self.settings, "membership_attribute", batch.sync_name)
        outcome = BatchOutcome()
        ready: list[tuple[Record, dict]] = []
        for record in batch.records:
            obj = self.attribute_object(record, batch.operation, attribute)
            if not obj["external_id"]:
                outcome.rejected.append(Rejection(record.key, "braze: empty external_id"))
            else:
                ready.append((record, obj))
        parts = chunks(ready, min(self.limits.max_batch_size, MAX_OBJECTS))
        results = await gather_limited(
            [lambda part=part: self._send_part(list(part), send) for part in parts],
            self.limits.concurrency,
        )
        for confirmed, rejected in results:
            outcome.confirmed.extend(confirmed)
            outcome.rejected.extend(rejected)
        return outcome

    async def _send_part(
        self, part: list[tuple[Record, dict]], send: Send, second_try: bool = False
    ) -> tuple[list[str], list[Rejection]]:
        response = await send(self.build_request([obj for _, obj in part]))
        status = response.status_code
        if status in (401, 403):
            raise credentials_refused(self.kind, response, "api_key_env (users.track permission)")
        if status == 404:
            raise DeliveryFailed("braze: /users/track not found; check base_url")
        body = body_json(response)
        indexed = self._indexed_errors(body, len(part))
        rejected = [Rejection(part[i][0].key, reason) for i, reason in sorted(indexed.items())]
        rest = [item for i, item in enumerate(part) if i not in indexed]
        if 200 <= status < 300:
            return [record.key for record, _ in rest], rejected
        if 400 <= status < 500:
            message = body.get("message") if isinstance(body, Mapping) else None
            reason = f"braze: HTTP {status}: {short(message or 'request refused')}"
            if rest and indexed and not second_try:
                # Braze refused the request for the objects it named: send the others again
                # (attribute updates are idempotent, so any it did apply are applied twice).
                confirmed, more = await self._send_part(rest, send, second_try=True)
                return confirmed, rejected + more
            return [], rejected + [Rejection(record.key, reason) for record, _ in rest]
        raise DeliveryFailed(f"braze: unexpected answer HTTP {status}")

    @staticmethod
    def _indexed_errors(body: Any, size: int) -> dict[int, str]:
        """`{index: reason}` for the `attributes` objects Braze names in `errors`."""
        found: dict[int, str] = {}
        errors = body.get("errors") if isinstance(body, Mapping) else None
        for error in errors if isinstance(errors, list) else []:
            if not isinstance(error, Mapping):
                continue
            index = error.get("index")
            if error.get("input_array", "attributes") != "attributes":
                continue
            if isinstance(index, int) and 0 <= index < size:
                found[index] = f"braze: {short(error.get('type') or 'object refused')}"
        return found

    # -- erasure ------------------------------------------------------------------------

    @property
    def erasure_limits(self) -> Limits:
        return DELETE_LIMITS

    def delete_request(self, external_ids: list[str]) -> httpx.Request:
        return httpx.Request(
            "POST",
            f"{self.base_url}/users/delete",
            content=dumps({"external_ids": external_ids}),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self._api_key}",
            },
        )

    async def erase(self, subject: ErasureSubject, send: Send) -> ErasureOutcome:
        external_ids = unique([*subject.customer_ids, *subject.record_keys])
        parts = chunks(external_ids, MAX_DELETE_IDS)
        answers = await gather_limited(
            [lambda part=part: self._delete_part(list(part), send) for part in parts],
            DELETE_LIMITS.concurrency,
        )
        refused = [reason for _, reason in answers if reason]
        deleted = sum(count for count, _ in answers)
        if refused:
            detail = f"braze: {len(refused)} of {len(parts)} request(s) refused: {refused[0]}"
            return ErasureOutcome(len(parts), False, detail)
        detail = f"braze: {deleted} user(s) deleted of {len(external_ids)} external id(s) sent"
        return ErasureOutcome(len(parts), True, detail)

    async def _delete_part(self, external_ids: list[str], send: Send) -> tuple[int, str]:
        """`(users deleted, "")`, or `(0, reason)` when Braze refused the request."""
        response = await send(self.delete_request(external_ids))
        status = response.status_code
        if status in (401, 403):
            raise credentials_refused(self.kind, response, "api_key_env (users.delete permission)")
        if status == 404:
            raise DeliveryFailed("braze: /users/delete not found; check base_url")
        body = body_json(response)
        fields = body if isinstance(body, Mapping) else {}
        if 200 <= status < 300 and fields.get("message", "success") == "success":
            deleted = fields.get("deleted")
            return (deleted if isinstance(deleted, int) else 0), ""
        if 200 <= status < 500:
            return 0, f"HTTP {status}: {short(fields.get('message') or 'request refused')}"
        raise DeliveryFailed(f"braze: unexpected answer HTTP {status}")
