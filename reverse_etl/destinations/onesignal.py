"""OneSignal: users keyed by External ID, with the record's fields as data tags.

Upserts update the user, `PATCH /apps/{app_id}/users/by/external_id/{external_id}` with
`{"properties": {"tags": {...}}}` (https://documentation.onesignal.com/reference/update-user);
a user OneSignal does not know (404) is created, `POST /apps/{app_id}/users` with
`{"identity": {"external_id": ...}, "properties": {"tags": {...}}}`
(https://documentation.onesignal.com/reference/create-user). A delete in mirror mode removes the
membership tag (a tag set to `""` is deleted) and leaves the user and its other tags; a user
OneSignal does not know is confirmed (nothing to remove).

Auth: `Authorization: Key <App API key>` (https://documentation.onesignal.com/docs/keys-and-ids).
Limits (https://documentation.onesignal.com/reference/rate-limits): 1,000 requests per second
per app for user updates, 1 request per second per user, up to 100 property updates per
request. One request per record; a batch's records go out concurrently.

Field mapping: the record key is the `external_id` (a mapped `external_id` field overrides it on
upserts). Every other field becomes a tag of the same name; tag values are strings (booleans
`true`/`false`, a null clears the tag). The membership tag, `membership_tag` (default
`omni360_<audience or sync name>`), is set to `1`. A record with more than 99 tags is rejected.

Settings: `app_id` (required; not secret), `api_key_env` (required), `membership_tag`,
`audience`, `max_batch_size` (records per delivery, <= 1,000), `requests_per_second`
(<= 1,000), `concurrency`. Idempotent: tags keyed by External ID.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from reverse_etl.destinations._common import (
    body_json,
    credentials_refused,
    deliver_each,
    dumps,
    membership_name,
    require_setting,
    resolve_limits,
    short,
)
from reverse_etl.destinations.base import (
    Batch,
    BatchOutcome,
    DeliveryFailed,
    Destination,
    Limits,
    Mode,
    Operation,
    Record,
    Rejection,
    Send,
    secret,
)

MAX_TAGS = 100


def tag_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


class OneSignalDestination(Destination):
    kind: ClassVar[str] = "onesignal"
    modes: ClassVar[frozenset[Mode]] = frozenset({Mode.UPSERT, Mode.MIRROR})
    idempotent: ClassVar[bool] = True
    required_fields: ClassVar[frozenset[str]] = frozenset()
    default_base_url: ClassVar[str] = "https://api.onesignal.com"
    DOCUMENTED = Limits(max_batch_size=100, requests=1000, per_seconds=1.0, concurrency=16)
    CEILING = Limits(max_batch_size=1000, requests=1000, per_seconds=1.0, concurrency=64)

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.app_id = require_setting(settings, "app_id")
        self._api_key = secret(settings, "api_key")
        self._limits = resolve_limits(self.kind, self.DOCUMENTED, settings, self.CEILING)

    @property
    def limits(self) -> Limits:
        return self._limits

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._api_key}", "Content-Type": "application/json"}

    def update_request(self, external_id: str, tags: dict[str, str]) -> httpx.Request:
        url = (
            f"{self.base_url}/apps/{quote(self.app_id, safe='')}/users/by/external_id/"
            f"{quote(external_id, safe='')}"
        )
        return httpx.Request(
            "PATCH", url, content=dumps({"properties": {"tags": tags}}), headers=self._headers()
        )

    def create_request(self, external_id: str, tags: dict[str, str]) -> httpx.Request:
        body = {"identity": {"external_id": external_id}, "properties": {"tags": tags}}
        return httpx.Request(
            "POST",
            f"{self.base_url}/apps/{quote(self.app_id, safe='')}/users",
            content=dumps(body),
            headers=self._headers(),
        )

    def _check(self, response: httpx.Response) -> None:
        if response.status_code in (401, 403):
            raise credentials_refused(self.kind, response, "api_key_env and app_id")

    @staticmethod
    def _reason(response: httpx.Response) -> str:
        body = body_json(response)
        errors = body.get("errors") if isinstance(body, Mapping) else None
        first = errors[0] if isinstance(errors, list) and errors else None
        if isinstance(first, Mapping):
            first = first.get("title") or first.get("code")
        return f"onesignal: HTTP {response.status_code}: {short(first or 'request refused')}"

    async def _one(
        self, record: Record, operation: Operation, tag: str, send: Send
    ) -> Rejection | None:
        if operation is Operation.DELETE:
            external_id, tags = record.key, {tag: ""}
        else:
            external_id = str(record.fields.get("external_id") or record.key)
            tags = {k: tag_value(v) for k, v in record.fields.items() if k != "external_id"}
            tags[tag] = "1"
            if len(tags) > MAX_TAGS:
                return Rejection(record.key, f"onesignal: more than {MAX_TAGS} tags")
        if not external_id:
            return Rejection(record.key, "onesignal: empty external_id")
        response = await send(self.update_request(external_id, tags))
        self._check(response)
        if response.status_code == 404:
            if operation is Operation.DELETE:
                return None  # no such user: nothing to remove
            created = await send(self.create_request(external_id, tags))
            self._check(created)
            if created.status_code == 409:  # created meanwhile: update it
                response = await send(self.update_request(external_id, tags))
                self._check(response)
            else:
                response = created
        if 200 <= response.status_code < 300:
            return None
        if 400 <= response.status_code < 500:
            return Rejection(record.key, self._reason(response))
        raise DeliveryFailed(f"onesignal: unexpected answer HTTP {response.status_code}")

    async def deliver(self, batch: Batch, send: Send) -> BatchOutcome:
        tag = membership_name(self.settings, "membership_tag", batch.sync_name)
        return await deliver_each(
            batch,
            lambda record: self._one(record, batch.operation, tag, send),
            self.limits.concurrency,
        )
