"""Klaviyo: profiles and list membership.

Upserts go to Bulk Import Profiles, `POST /api/profile-bulk-import-jobs`
(https://developers.klaviyo.com/en/docs/use_klaviyos_bulk_profile_import_api; the operations'
OpenAPI specifications: https://github.com/klaviyo/openapi): up to 10,000 profiles and
5 MB per request (100 KB per profile), with the list as the job's `lists` relationship, so
Klaviyo creates or updates each profile and adds it to the list. Deletes in mirror mode look
the profiles up by `external_id` (`GET /api/profiles?filter=any(external_id,[...])`, 100 per
page) and remove them from the list (`DELETE /api/lists/{id}/relationships/profiles`, up to
1,000 per call, https://developers.klaviyo.com/en/v2025-01-15/reference/remove_profiles_from_list);
the profile, its consent and its other lists are left alone. A key Klaviyo does not know is
confirmed (there is nothing to remove).

Auth: `Authorization: Klaviyo-API-Key <private key>` (scopes `profiles:write`, `lists:write`,
`profiles:read`) and a `revision` header on every request (the API version, pinned).
Limits: bulk import and list removal allow a burst of 10/s and 150/minute steady; the default
rate, 5 requests per 2 seconds, keeps to both.

Field mapping: `external_id` is the record key (a mapped `external_id` field overrides it on
upserts). `email`, `phone_number` (E.164), `first_name`, `last_name`, `organization`, `title`,
`locale`, `image` are profile attributes; every other field becomes a custom property.

Answers: 202 confirms the job's records (Klaviyo processes the job afterwards; per-profile
failures it finds then are visible in the job's import errors, not here). A 400 whose errors
point at `/data/attributes/profiles/data/<n>` rejects those profiles and the rest is sent
again without them. 401/403 fail the batch.

Settings: `api_key_env` and `list_id` (required), `revision`, `max_batch_size` (<= 10,000),
`requests_per_second` (<= 2.5), `concurrency`. Idempotent: upserts and list removals.

Erasure: Request Profile Deletion, `POST /api/data-privacy-deletion-jobs`
(https://developers.klaviyo.com/en/reference/request_profile_deletion; OpenAPI:
`data_privacy.json` in https://github.com/klaviyo/openapi), with exactly one identifier per
request: `email`, `phone_number` (E.164) or the profile `id`; Klaviyo deletes every profile
matching it, with its list memberships. One request per e-mail and per phone number of the
person, and one per profile found under the person's external ids (customer ids and record
keys, looked up as for deletes), so a profile whose address changed is erased too. Scopes
`data-privacy:write` (and `profiles:read` for the lookup); 3/s burst and 60/min steady, so one
request per second. 202 accepts (the deletion runs asynchronously); sending it again is
harmless.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from reverse_etl.destinations._common import (
    body_json,
    chunks,
    credentials_refused,
    dumps,
    gather_limited,
    is_e164,
    require_setting,
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

REVISION = "2025-01-15"
MAX_PROFILES = 10_000
MAX_PAYLOAD = 5 * 1024 * 1024
MAX_PROFILE = 100 * 1024
LOOKUP_PAGE = 100
MAX_REMOVE = 1000
PROFILE_ATTRIBUTES = frozenset(
    {
        "email",
        "phone_number",
        "first_name",
        "last_name",
        "organization",
        "title",
        "locale",
        "image",
    }
)
POINTER = re.compile(r"^/data/attributes/profiles/data/(\d+)(/|$)")
MEDIA_TYPE = "application/vnd.api+json"
# Request Profile Deletion: 3/s burst, 60/min steady; 3 in any 3 seconds keeps to both.
DELETION_LIMITS = Limits(max_batch_size=1, requests=3, per_seconds=3.0, concurrency=1)


class KlaviyoDestination(Destination):
    kind: ClassVar[str] = "klaviyo"
    modes: ClassVar[frozenset[Mode]] = frozenset({Mode.UPSERT, Mode.MIRROR})
    idempotent: ClassVar[bool] = True
    required_fields: ClassVar[frozenset[str]] = frozenset()
    supports_erasure: ClassVar[bool] = True
    default_base_url: ClassVar[str] = "https://a.klaviyo.com"
    DOCUMENTED = Limits(max_batch_size=MAX_PROFILES, requests=5, per_seconds=2.0, concurrency=4)

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self._api_key = secret(settings, "api_key")
        self.list_id = require_setting(settings, "list_id")
        self.revision = str(settings.get("revision") or REVISION)
        self._limits = resolve_limits(self.kind, self.DOCUMENTED, settings)

    @property
    def limits(self) -> Limits:
        return self._limits

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Klaviyo-API-Key {self._api_key}",
            "revision": self.revision,
            "Accept": MEDIA_TYPE,
            "Content-Type": MEDIA_TYPE,
        }

    def _check(self, response: httpx.Response) -> None:
        if response.status_code in (401, 403):
            raise credentials_refused(self.kind, response, "api_key_env and its scopes")
        if response.status_code == 404:
            raise DeliveryFailed("klaviyo: not found (HTTP 404); check list_id and base_url")

    # -- upserts ------------------------------------------------------------------------

    @staticmethod
    def profile(record: Record) -> dict:
        external_id = record.fields.get("external_id") or record.key
        attributes: dict[str, Any] = {"external_id": str(external_id)}
        properties: dict[str, Any] = {}
        for name, value in record.fields.items():
            if name == "external_id":
                continue
            if name in PROFILE_ATTRIBUTES:
                if value not in (None, ""):
                    attributes[name] = value
            else:
                properties[name] = value
        if properties:
            attributes["properties"] = properties
        return {"type": "profile", "attributes": attributes}

    def import_request(self, profiles: list[dict]) -> httpx.Request:
        body = {
            "data": {
                "type": "profile-bulk-import-job",
                "attributes": {"profiles": {"data": profiles}},
                "relationships": {"lists": {"data": [{"type": "list", "id": self.list_id}]}},
            }
        }
        return httpx.Request(
            "POST",
            f"{self.base_url}/api/profile-bulk-import-jobs",
            content=dumps(body),
            headers=self._headers(),
        )

    async def _upsert(self, batch: Batch, send: Send) -> BatchOutcome:
        outcome = BatchOutcome()
        parts: list[list[tuple[Record, dict]]] = [[]]
        size = 0
        for record in batch.records:
            profile = self.profile(record)
            weight = len(dumps(profile)) + 1
            if weight > MAX_PROFILE:
                outcome.rejected.append(Rejection(record.key, "klaviyo: profile over 100 KB"))
                continue
            if parts[-1] and (size + weight > MAX_PAYLOAD - 4096 or len(parts[-1]) >= MAX_PROFILES):
                parts.append([])
                size = 0
            parts[-1].append((record, profile))
            size += weight
        results = await gather_limited(
            [lambda part=part: self._import(part, send) for part in parts if part],
            self.limits.concurrency,
        )
        for confirmed, rejected in results:
            outcome.confirmed.extend(confirmed)
            outcome.rejected.extend(rejected)
        return outcome

    async def _import(
        self, part: list[tuple[Record, dict]], send: Send, second_try: bool = False
    ) -> tuple[list[str], list[Rejection]]:
        response = await send(self.import_request([profile for _, profile in part]))
        self._check(response)
        status = response.status_code
        if 200 <= status < 300:
            return [record.key for record, _ in part], []
        if 400 <= status < 500:
            pointed, general = self._errors(body_json(response), len(part))
            rejected = [Rejection(part[i][0].key, reason) for i, reason in sorted(pointed.items())]
            rest = [item for i, item in enumerate(part) if i not in pointed]
            if rest and pointed and not second_try:
                confirmed, more = await self._import(rest, send, second_try=True)
                return confirmed, rejected + more
            reason = f"klaviyo: HTTP {status}: {general or 'request refused'}"
            return [], rejected + [Rejection(record.key, reason) for record, _ in rest]
        raise DeliveryFailed(f"klaviyo: unexpected answer HTTP {status}")

    @staticmethod
    def _errors(body: Any, size: int) -> tuple[dict[int, str], str]:
        """Errors pointing at a profile (`{index: reason}`) and the first general one."""
        pointed: dict[int, str] = {}
        general = ""
        errors = body.get("errors") if isinstance(body, Mapping) else None
        for error in errors if isinstance(errors, list) else []:
            if not isinstance(error, Mapping):
                continue
            detail = short(error.get("detail") or error.get("title") or "invalid")
            source = error.get("source")
            pointer = source.get("pointer", "") if isinstance(source, Mapping) else ""
            match = POINTER.match(str(pointer or ""))
            if match and int(match.group(1)) < size:
                pointed.setdefault(int(match.group(1)), f"klaviyo: {detail}")
            elif not general:
                general = detail
        return pointed, general

    # -- deletes (mirror mode) ----------------------------------------------------------

    def lookup_request(self, external_ids: list[str], url: str | None = None) -> httpx.Request:
        if url is None:
            values = ",".join(json.dumps(value) for value in external_ids)
            params = {
                "filter": f"any(external_id,[{values}])",
                "page[size]": str(LOOKUP_PAGE),
                "fields[profile]": "external_id",
            }
            return httpx.Request(
                "GET", f"{self.base_url}/api/profiles", params=params, headers=self._headers()
            )
        return httpx.Request("GET", url, headers=self._headers())

    def remove_request(self, profile_ids: list[str]) -> httpx.Request:
        body = {"data": [{"type": "profile", "id": pid} for pid in profile_ids]}
        return httpx.Request(
            "DELETE",
            f"{self.base_url}/api/lists/{self.list_id}/relationships/profiles",
            content=dumps(body),
            headers=self._headers(),
        )

    async def _lookup(self, external_ids: list[str], send: Send) -> dict[str, str]:
        """`{profile id: external_id}` for the profiles Klaviyo holds under these ids."""
        found: dict[str, str] = {}
        url: str | None = None
        for _page in range(50):  # a page per 100 ids; more pages only with duplicate ids
            response = await send(self.lookup_request(external_ids, url))
            self._check(response)
            if response.status_code != 200:
                status = response.status_code
                raise DeliveryFailed(f"klaviyo: profile lookup answered HTTP {status}")
            body = body_json(response) or {}
            for item in body.get("data") or []:
                external_id = (item.get("attributes") or {}).get("external_id")
                if item.get("id") and external_id is not None:
                    found[str(item["id"])] = str(external_id)
            url = (body.get("links") or {}).get("next")
            if not url:
                break
        return found

    async def _delete(self, batch: Batch, send: Send) -> BatchOutcome:
        keys = [record.key for record in batch.records]
        lookups = await gather_limited(
            [
                lambda part=part: self._lookup(list(part), send)
                for part in chunks(keys, LOOKUP_PAGE)
            ],
            self.limits.concurrency,
        )
        profile_ids = [pid for found in lookups for pid in found]
        for part in chunks(profile_ids, MAX_REMOVE):
            response = await send(self.remove_request(list(part)))
            self._check(response)
            if not 200 <= response.status_code < 300:
                _, general = self._errors(body_json(response), 0)
                raise DeliveryFailed(
                    f"klaviyo: list removal answered HTTP {response.status_code}: {general}"
                )
        return BatchOutcome(confirmed=keys)

    async def deliver(self, batch: Batch, send: Send) -> BatchOutcome:
        if not batch.records:
            return BatchOutcome()
        if batch.operation is Operation.DELETE:
            return await self._delete(batch, send)
        return await self._upsert(batch, send)

    # -- erasure ------------------------------------------------------------------------

    @property
    def erasure_limits(self) -> Limits:
        return DELETION_LIMITS

    def deletion_request(self, identifier: str, value: str) -> httpx.Request:
        """A deletion job for the profiles with this `email`, `phone_number` or `id`."""
        profile: dict[str, Any] = {"type": "profile", "attributes": {}}
        if identifier == "id":
            profile["id"] = value
        else:
            profile["attributes"][identifier] = value
        body = {
            "data": {
                "type": "data-privacy-deletion-job",
                "attributes": {"profile": {"data": profile}},
            }
        }
        return httpx.Request(
            "POST",
            f"{self.base_url}/api/data-privacy-deletion-jobs",
            content=dumps(body),
            headers=self._headers(),
        )

    async def erase(self, subject: ErasureSubject, send: Send) -> ErasureOutcome:
        requests = 0

        async def counted(request: httpx.Request) -> httpx.Response:
            nonlocal requests
            requests += 1
            return await send(request)

        external_ids = unique([*subject.customer_ids, *subject.record_keys])
        found: dict[str, str] = {}
        for part in chunks(external_ids, LOOKUP_PAGE):
            found.update(await self._lookup(list(part), counted))
        phones = unique(subject.phones)
        identifiers = [
            *(("id", profile_id) for profile_id in found),
            *(("email", email) for email in unique(subject.emails)),
            *(("phone_number", phone) for phone in phones if is_e164(phone)),
        ]
        refused: list[str] = []
        for identifier, value in identifiers:
            reason = await self._request_deletion(identifier, value, counted)
            if reason:
                refused.append(reason)
        skipped = sum(1 for phone in phones if not is_e164(phone))
        note = f"; {skipped} phone number(s) not in E.164 skipped" if skipped else ""
        if refused:
            detail = f"klaviyo: {len(refused)} of {len(identifiers)} deletion(s) refused: "
            return ErasureOutcome(requests, False, detail + refused[0] + note)
        detail = (
            f"klaviyo: {len(identifiers)} deletion job(s) accepted ({len(found)} profile(s) "
            f"found by external id){note}"
        )
        return ErasureOutcome(requests, True, detail)

    async def _request_deletion(self, identifier: str, value: str, send: Send) -> str:
        """Empty when Klaviyo accepted the deletion job, else its reason (no address in it)."""
        response = await send(self.deletion_request(identifier, value))
        status = response.status_code
        if status in (401, 403):
            raise credentials_refused(self.kind, response, "api_key_env (data-privacy:write)")
        if 200 <= status < 300:
            return ""
        if 400 <= status < 500:
            _, general = self._errors(body_json(response), 0)
            return f"{identifier}: HTTP {status}: {general or 'request refused'}"
        raise DeliveryFailed(f"klaviyo: unexpected answer HTTP {status}")
