"""The six HTTP providers as the emulator plays them: auth, payload shape, limits, state.

Each provider answers in its own format (documented in docs/destinations.md), checks the
credentials given at start, refuses malformed or over-size payloads with 400 (or 413), and
applies what it accepts to its `ProviderState`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote

from reverse_etl.destinations.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify_signature,
)
from reverse_etl.emulator.state import ProviderState

PROVIDERS = ("webhook", "braze", "klaviyo", "onesignal", "telegram", "twilio")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Credentials:
    """What the emulator accepts (demo defaults; never real secrets)."""

    webhook_secret: str = "demo-webhook-signing-secret"
    braze_api_key: str = "demo-braze-rest-api-key"
    klaviyo_api_key: str = "pk_demo_klaviyo_private_key"
    onesignal_app_id: str = "5eb5a37e-b458-11e3-ac11-000c2940e62c"
    onesignal_api_key: str = "demo-onesignal-app-api-key"
    telegram_bot_token: str = "123456789:demo-telegram-bot-token"
    twilio_account_sid: str = "AC" + "0123456789abcdef" * 2
    twilio_auth_token: str = "demo-twilio-auth-token"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Credentials:
        return cls(**{str(k): str(v) for k, v in (data or {}).items()})


@dataclass
class Options:
    """Behaviour beyond credentials and faults."""

    compact: bool = False
    webhook_dedupe: bool = True  # a receiver that drops records whose idempotency key it has
    webhook_max_records: int = 10_000
    webhook_tolerance: float = 300.0
    blocked_chats: set[str] = field(default_factory=set)  # telegram: the bot was blocked
    unsubscribed: set[str] = field(default_factory=set)  # twilio: recipients who sent STOP
    reject_keys: set[str] = field(default_factory=set)  # webhook: keys the receiver refuses


@dataclass
class Request:
    method: str
    path: str  # after the provider's prefix, e.g. "/users/track"
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message)
    body: bytes


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(
    status: int, payload: Any, headers: dict[str, str] | None = None, media: str = ""
) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, body, {"Content-Type": media or "application/json", **(headers or {})})


class BadRequest(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return ...


class Provider:
    name: ClassVar[str]

    def __init__(self, state: ProviderState, credentials: Credentials, options: Options) -> None:
        self.state = state
        self.credentials = credentials
        self.options = options

    def authorize(self, request: Request) -> Reply | None:
        """None when the credentials are right, else the provider's refusal."""
        raise NotImplementedError

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def throttled(self, seconds: str) -> Reply:
        return json_reply(429, {"error": "Too Many Requests"}, {"Retry-After": seconds})

    def server_error(self, status: int) -> Reply:
        return json_reply(status, {"error": "Internal Server Error"})

    def bad(self, reply: Reply) -> BadRequest:
        self.state.count("bad_requests")
        return BadRequest(reply)


# -- webhook ------------------------------------------------------------------------------


class Webhook(Provider):
    name = "webhook"
    OPERATIONS = frozenset({"upsert", "delete", "insert"})

    def authorize(self, request: Request) -> Reply | None:
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature:
            return json_reply(401, {"error": "missing signature headers"})
        if not verify_signature(
            self.credentials.webhook_secret,
            timestamp,
            request.body,
            signature,
            self.options.webhook_tolerance,
        ):
            return json_reply(403, {"error": "invalid signature or timestamp outside tolerance"})
        return None

    def _shape(self, request: Request, payload: Any) -> dict:
        problem = None
        if not isinstance(payload, dict):
            problem = "body must be a JSON object"
        elif not isinstance(payload.get("sync"), str) or not isinstance(
            payload.get("batch_id"), str
        ):
            problem = "sync and batch_id must be strings"
        elif payload.get("operation") not in self.OPERATIONS:
            problem = "operation must be upsert, delete or insert"
        elif not isinstance(payload.get("records"), list):
            problem = "records must be a list"
        elif request.headers.get(IDEMPOTENCY_HEADER) != payload["batch_id"]:
            problem = "Idempotency-Key must equal batch_id"
        else:
            for record in payload["records"]:
                if not (
                    isinstance(record, dict)
                    and isinstance(record.get("key"), str)
                    and isinstance(record.get("idempotency_key"), str)
                    and isinstance(record.get("fields"), dict)
                ):
                    problem = "each record needs key, idempotency_key (strings) and fields"
                    break
        if problem:
            raise self.bad(json_reply(400, {"error": problem}))
        if len(payload["records"]) > self.options.webhook_max_records:
            raise self.bad(
                json_reply(413, {"error": f"at most {self.options.webhook_max_records} records"})
            )
        return payload

    def handle(self, request: Request) -> Reply:
        if request.method != "POST":
            raise self.bad(json_reply(405, {"error": "POST only"}))
        payload = _json_body(request)
        if isinstance(payload, dict) and payload.get("operation") == "erase":
            return self._erase(payload)
        payload = self._shape(request, payload)
        state = self.state
        applied = duplicates = 0
        rejected = []
        with state.lock:
            state.counters["records_received"] += len(payload["records"])
            for record in payload["records"]:
                key = record["key"]
                if key in self.options.reject_keys:
                    rejected.append({"key": key, "reason": "refused by the receiver"})
                    state.counters["rejections"] += 1
                    continue
                first = state.first_time(record["idempotency_key"])
                if not first:
                    if self.options.webhook_dedupe:
                        state.counters["deduplicated"] += 1
                        duplicates += 1
                        continue
                    state.counters["duplicate_applications"] += 1
                if payload["operation"] == "delete":
                    state.delete(key)
                else:
                    state.upsert(key, record["fields"])
                applied += 1
        return json_reply(
            200, {"accepted": applied, "duplicates": duplicates, "rejected": rejected}
        )

    def _erase(self, payload: dict) -> Reply:
        """`{"operation": "erase", "erasure_id", "keys", "customer_ids"}`: every record held
        under a listed key goes (erasing twice is harmless)."""
        keys, customer_ids = payload.get("keys"), payload.get("customer_ids", [])
        if not (
            isinstance(payload.get("erasure_id"), str)
            and isinstance(keys, list)
            and isinstance(customer_ids, list)
            and all(isinstance(value, str) for value in [*keys, *customer_ids])
        ):
            problem = "erase needs erasure_id (a string), keys and customer_ids (string lists)"
            raise self.bad(json_reply(400, {"error": problem}))
        with self.state.lock:
            self.state.counters["erasure_requests"] += 1
            erased = sum(1 for key in set(keys) if self.state.erase(key))
        return json_reply(200, {"erased": erased})


# -- Braze --------------------------------------------------------------------------------


class Braze(Provider):
    name = "braze"
    MAX_OBJECTS = 75
    CONTROL = frozenset({"_update_existing_only", "push_token_import"})
    IDENTIFIERS = ("external_id", "braze_id", "user_alias", "email", "phone")
    MAX_DELETE = 50
    DELETE_IDENTIFIERS = (
        "external_ids",
        "user_aliases",
        "braze_ids",
        "email_addresses",
        "phone_numbers",
    )

    def authorize(self, request: Request) -> Reply | None:
        expected = f"Bearer {self.credentials.braze_api_key}"
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return json_reply(401, {"message": "Unknown or missing REST API Key."})
        return None

    def throttled(self, seconds: str) -> Reply:
        headers = {"Retry-After": seconds, "X-RateLimit-Remaining": "0"}
        return json_reply(429, {"message": "Too many requests (rate limit exceeded)"}, headers)

    def server_error(self, status: int) -> Reply:
        return json_reply(status, {"message": "Internal server error"})

    def handle(self, request: Request) -> Reply:
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/users/delete":
            return self._delete_users(request)
        if request.method != "POST" or path != "/users/track":
            raise self.bad(json_reply(404, {"message": "Not found"}))
        payload = _json_body(request)
        if not isinstance(payload, dict):
            raise self.bad(json_reply(400, {"message": "Request body must be a JSON object"}))
        arrays = {name: payload.get(name) or [] for name in ("attributes", "events", "purchases")}
        if not all(isinstance(value, list) for value in arrays.values()):
            raise self.bad(json_reply(400, {"message": "attributes, events, purchases: arrays"}))
        total = sum(len(value) for value in arrays.values())
        if total > self.MAX_OBJECTS:
            raise self.bad(
                json_reply(
                    400,
                    {
                        "message": f"Too many objects: at most {self.MAX_OBJECTS} across "
                        "'attributes', 'events' and 'purchases' per request"
                    },
                )
            )
        errors: list[dict] = []
        processed = 0
        state = self.state
        with state.lock:
            state.counters["records_received"] += len(arrays["attributes"])
            for index, obj in enumerate(arrays["attributes"]):
                problem = self._problem(obj)
                if problem:
                    errors.append({"type": problem, "input_array": "attributes", "index": index})
                    state.counters["rejections"] += 1
                    continue
                processed += 1
                self._apply(obj)
        if not processed and errors:
            message = (
                "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
            )
            return json_reply(400, {"message": message, "errors": errors})
        reply: dict[str, Any] = {"message": "success", "attributes_processed": processed}
        if arrays["events"]:
            reply["events_processed"] = len(arrays["events"])
        if arrays["purchases"]:
            reply["purchases_processed"] = len(arrays["purchases"])
        if errors:
            reply["errors"] = errors
        return json_reply(201, reply)

    def _delete_users(self, request: Request) -> Reply:
        """`/users/delete` by `external_ids` (the only identifier the emulator keeps users by):
        at most 50, one identifier type per request; `deleted` counts the users removed."""
        payload = _json_body(request)
        given = [n for n in self.DELETE_IDENTIFIERS if isinstance(payload, dict) and n in payload]
        if len(given) != 1:
            message = f"Exactly one of {', '.join(self.DELETE_IDENTIFIERS)} must be provided"
            raise self.bad(json_reply(400, {"message": message}))
        ids = payload[given[0]]
        if given[0] != "external_ids" or not isinstance(ids, list):
            raise self.bad(json_reply(400, {"message": "external_ids must be an array"}))
        if not all(isinstance(value, str) for value in ids):
            raise self.bad(json_reply(400, {"message": "external_ids must be strings"}))
        if len(ids) > self.MAX_DELETE:
            message = f"Too many users: at most {self.MAX_DELETE} external_ids per request"
            raise self.bad(json_reply(400, {"message": message}))
        with self.state.lock:
            self.state.counters["erasure_requests"] += 1
            deleted = sum(1 for external_id in set(ids) if self.state.erase(external_id))
        return json_reply(201, {"deleted": deleted, "message": "success"})

    def _problem(self, obj: Any) -> str | None:
        if not isinstance(obj, dict):
            return "attributes object must be a JSON object"
        if not any(obj.get(name) for name in self.IDENTIFIERS):
            return "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required"
        if "external_id" in obj and not isinstance(obj["external_id"], str):
            return "'external_id' must be a string"
        email = obj.get("email")
        if email not in (None, "") and not (isinstance(email, str) and EMAIL.match(email)):
            return "'email' is not a valid email address"
        return None

    def _apply(self, obj: dict) -> None:
        key = str(
            obj.get("external_id") or obj.get("braze_id") or obj.get("email") or obj.get("phone")
        )
        state = self.state
        exists = key in state.records
        if obj.get("_update_existing_only") and not exists:
            return  # Braze skips updates to users it does not have
        attributes = {k: v for k, v in obj.items() if k not in self.CONTROL}
        if not state.compact and exists:
            current = state.records[key]
            for name, value in list(attributes.items()):
                if isinstance(value, dict) and ("add" in value or "remove" in value):
                    items = list(current.get(name) or [])
                    items += [v for v in value.get("add", []) if v not in items]
                    attributes[name] = [v for v in items if v not in value.get("remove", [])]
        state.upsert(key, attributes, merge=True)


# -- Klaviyo ------------------------------------------------------------------------------


def _klaviyo_error(status: int, code: str, title: str, detail: str, pointer: str = "") -> dict:
    error: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": status,
        "code": code,
        "title": title,
        "detail": detail,
    }
    if pointer:
        error["source"] = {"pointer": pointer}
    return error


class Klaviyo(Provider):
    name = "klaviyo"
    MEDIA = "application/vnd.api+json"
    MAX_PROFILES = 10_000
    MAX_PAYLOAD = 5 * 1024 * 1024
    MAX_REMOVE = 1000
    FILTER = re.compile(r"^(any|equals)\((external_id|email|id),(.*)\)$", re.S)

    def reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        return json_reply(status, payload, headers, self.MEDIA)

    def errors(self, status: int, *errors: dict) -> Reply:
        return self.reply(status, {"errors": list(errors)})

    def authorize(self, request: Request) -> Reply | None:
        expected = f"Klaviyo-API-Key {self.credentials.klaviyo_api_key}"
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return self.errors(
                401,
                _klaviyo_error(
                    401,
                    "not_authenticated",
                    "Authentication credentials were not provided.",
                    "Missing or invalid private key.",
                ),
            )
        return None

    def throttled(self, seconds: str) -> Reply:
        error = _klaviyo_error(
            429, "throttled", "Request was throttled.", f"Expected available in {seconds} seconds."
        )
        return self.reply(429, {"errors": [error]}, {"Retry-After": seconds})

    def server_error(self, status: int) -> Reply:
        return self.errors(
            status, _klaviyo_error(status, "error", "A server error occurred.", "Try again.")
        )

    def profile_id(self, key: str) -> str:
        pid = "01" + hashlib.blake2b(key.encode(), digest_size=12).hexdigest().upper()
        self.state.profile_ids[pid] = key
        return pid

    def handle(self, request: Request) -> Reply:
        if not request.headers.get("revision"):
            raise self.bad(
                self.errors(
                    400,
                    _klaviyo_error(400, "invalid", "Invalid input.", "Missing revision header."),
                )
            )
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/api/profile-bulk-import-jobs":
            return self._bulk_import(request)
        if request.method == "GET" and path == "/api/profiles":
            return self._get_profiles(request)
        if request.method == "POST" and path == "/api/data-privacy-deletion-jobs":
            return self._deletion_job(request)
        match = re.fullmatch(r"/api/lists/([^/]+)/relationships/profiles", path)
        if request.method == "DELETE" and match:
            return self._remove(unquote(match.group(1)), request)
        match = re.fullmatch(r"/api/profile-bulk-import-jobs/([^/]+)", path)
        if request.method == "GET" and match:
            job = {"type": "profile-bulk-import-job", "id": match.group(1)}
            job["attributes"] = {"status": "complete"}
            return self.reply(200, {"data": job})
        raise self.bad(
            self.errors(404, _klaviyo_error(404, "not_found", "Not found.", "No such route."))
        )

    def _bulk_import(self, request: Request) -> Reply:
        if len(request.body) > self.MAX_PAYLOAD:
            raise self.bad(
                self.errors(
                    413, _klaviyo_error(413, "too_large", "Payload too large.", "At most 5 MB.")
                )
            )
        payload = _json_body(request)
        data = payload.get("data") if isinstance(payload, dict) else None
        profiles = None
        if isinstance(data, dict) and data.get("type") == "profile-bulk-import-job":
            profiles = ((data.get("attributes") or {}).get("profiles") or {}).get("data")
        if not isinstance(profiles, list):
            raise self.bad(
                self.errors(
                    400,
                    _klaviyo_error(
                        400,
                        "invalid",
                        "Invalid input.",
                        "Expected a profile-bulk-import-job with attributes.profiles.data",
                        "/data",
                    ),
                )
            )
        if len(profiles) > self.MAX_PROFILES:
            raise self.bad(
                self.errors(
                    400,
                    _klaviyo_error(
                        400,
                        "invalid",
                        "Invalid input.",
                        f"At most {self.MAX_PROFILES} profiles per job.",
                        "/data/attributes/profiles/data",
                    ),
                )
            )
        lists = ((data.get("relationships") or {}).get("lists") or {}).get("data") or []
        list_ids = [item.get("id") for item in lists if isinstance(item, dict)]
        problems = []
        for index, profile in enumerate(profiles):
            detail = self._profile_problem(profile)
            if detail:
                pointer = f"/data/attributes/profiles/data/{index}/attributes"
                problems.append(_klaviyo_error(400, "invalid", "Invalid input.", detail, pointer))
        state = self.state
        with state.lock:
            state.counters["records_received"] += len(profiles)
            if problems:
                state.counters["rejections"] += len(problems)
                state.counters["bad_requests"] += 1
                return self.errors(400, *problems)
            for profile in profiles:
                attributes = dict(profile["attributes"])
                key = str(
                    attributes.get("external_id")
                    or attributes.get("email")
                    or attributes.get("phone_number")
                )
                self.profile_id(key)
                current = state.records.get(key)
                if not state.compact and isinstance(current, dict):
                    properties = {
                        **current.get("properties", {}),
                        **attributes.get("properties", {}),
                    }
                    if properties:
                        attributes["properties"] = properties
                state.upsert(key, attributes, merge=True)
                for list_id in list_ids:
                    state.lists.setdefault(str(list_id), set()).add(key)
        job = {
            "type": "profile-bulk-import-job",
            "id": uuid.uuid4().hex,
            "attributes": {
                "status": "queued",
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "total_count": len(profiles),
                "completed_count": 0,
                "failed_count": 0,
            },
        }
        job["links"] = {"self": f"/api/profile-bulk-import-jobs/{job['id']}"}
        return self.reply(202, {"data": job})

    @staticmethod
    def _profile_problem(profile: Any) -> str | None:
        if not isinstance(profile, dict) or profile.get("type") != "profile":
            return "Each profile must be an object of type 'profile'."
        attributes = profile.get("attributes")
        if not isinstance(attributes, dict):
            return "A profile needs attributes."
        if not any(attributes.get(n) for n in ("email", "phone_number", "external_id")):
            return "A profile needs an email, a phone_number or an external_id."
        email = attributes.get("email")
        if email is not None and not (isinstance(email, str) and EMAIL.match(email)):
            return "Invalid email address."
        phone = attributes.get("phone_number")
        if phone is not None and not (isinstance(phone, str) and E164.match(phone)):
            return "Invalid phone number format (Example of a valid format: +12345678901)."
        if "properties" in attributes and not isinstance(attributes["properties"], dict):
            return "properties must be an object."
        return None

    def _get_profiles(self, request: Request) -> Reply:
        raw_filter = (request.query.get("filter") or [""])[0]
        size = int((request.query.get("page[size]") or ["20"])[0])
        match = self.FILTER.match(raw_filter)
        if not match or not 1 <= size <= 100:
            raise self.bad(
                self.errors(
                    400,
                    _klaviyo_error(
                        400, "invalid", "Invalid input.", "Invalid filter or page size."
                    ),
                )
            )
        operator, field_name, argument = match.groups()
        try:
            values = json.loads(argument.replace("'", '"'))
        except ValueError:
            values = None
        if operator == "equals":
            values = [values]
        if not isinstance(values, list):
            raise self.bad(
                self.errors(400, _klaviyo_error(400, "invalid", "Invalid input.", "Bad filter."))
            )
        wanted = {str(v) for v in values}
        found = []
        state = self.state
        with state.lock:
            if field_name == "external_id":  # profiles are kept under their external id
                candidates = [(v, state.records[v]) for v in wanted if v in state.records]
            elif field_name == "id":
                keys = (state.profile_ids.get(v) for v in wanted)
                candidates = [(k, state.records[k]) for k in keys if k in state.records]
            else:
                candidates = list(state.records.items())
            for key, attributes in candidates:
                if field_name == "id":
                    value = self.profile_id(key)
                elif self.state.compact:
                    value = key if field_name == "external_id" else None
                else:
                    value = attributes.get(field_name)
                if value is not None and str(value) in wanted:
                    external_id = key if self.state.compact else attributes.get("external_id")
                    found.append(
                        {
                            "type": "profile",
                            "id": self.profile_id(key),
                            "attributes": {"external_id": external_id},
                        }
                    )
                    if len(found) >= size:
                        break
        return self.reply(200, {"data": found, "links": {"self": request.path, "next": None}})

    def _deletion_job(self, request: Request) -> Reply:
        """Request Profile Deletion: exactly one of `email`, `phone_number` or the profile `id`;
        every profile matching it goes, with its list memberships (at once, here)."""
        payload = _json_body(request)
        data = payload.get("data") if isinstance(payload, dict) else None
        profile = None
        if isinstance(data, dict) and data.get("type") == "data-privacy-deletion-job":
            profile = ((data.get("attributes") or {}).get("profile") or {}).get("data")
        attributes = profile.get("attributes") if isinstance(profile, dict) else None
        if not isinstance(attributes, dict) or profile.get("type") != "profile":
            raise self.bad(self._invalid("Expected a data-privacy-deletion-job with a profile."))
        given = {n: attributes[n] for n in ("email", "phone_number") if attributes.get(n)}
        if profile.get("id"):
            given["id"] = profile["id"]
        if len(given) != 1 or not isinstance(next(iter(given.values())), str):
            raise self.bad(self._invalid("Provide exactly one of email, phone_number or id."))
        (identifier, value), state = next(iter(given.items())), self.state
        with state.lock:
            state.counters["erasure_requests"] += 1
            for key in self._matching(identifier, value):
                state.erase(key)
        return Reply(202)

    def _invalid(self, detail: str) -> Reply:
        return self.errors(400, _klaviyo_error(400, "invalid", "Invalid input.", detail, "/data"))

    def _matching(self, identifier: str, value: str) -> list[str]:
        """Keys of the profiles with this identifier (the caller holds the lock)."""
        state = self.state
        if identifier == "id":
            key = state.profile_ids.get(value)
            return [key] if key is not None else []
        wanted = value.lower() if identifier == "email" else value
        found = [value] if value in state.records else []  # a profile kept under its address
        if not state.compact:
            for key, attributes in state.records.items():
                held = str((attributes or {}).get(identifier) or "")
                if (held.lower() if identifier == "email" else held) == wanted:
                    found.append(key)
        return list(dict.fromkeys(found))

    def _remove(self, list_id: str, request: Request) -> Reply:
        payload = _json_body(request)
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list) or not all(
            isinstance(item, dict) and item.get("type") == "profile" and item.get("id")
            for item in data
        ):
            raise self.bad(
                self.errors(
                    400,
                    _klaviyo_error(
                        400, "invalid", "Invalid input.", "Expected profile identifiers.", "/data"
                    ),
                )
            )
        if len(data) > self.MAX_REMOVE:
            raise self.bad(
                self.errors(
                    400,
                    _klaviyo_error(
                        400, "invalid", "Invalid input.", "At most 1000 profiles per call.", "/data"
                    ),
                )
            )
        with self.state.lock:
            members = self.state.lists.get(list_id, set())
            self.state.counters["records_received"] += len(data)
            for item in data:
                key = self.state.profile_ids.get(str(item["id"]))
                if key is not None and key in members:
                    members.discard(key)
                    self.state.counters["records_applied"] += 1
                    self.state.counters["deletes"] += 1
        return Reply(204)


# -- OneSignal ----------------------------------------------------------------------------


class OneSignal(Provider):
    name = "onesignal"
    MAX_TAGS = 100
    USER = re.compile(r"^/apps/([^/]+)/users(?:/by/([^/]+)/([^/]+))?$")

    def authorize(self, request: Request) -> Reply | None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "key" or not hmac.compare_digest(
            key.strip(), self.credentials.onesignal_api_key
        ):
            message = (
                "Access denied.  Please include an 'Authorization: ...' header with a valid "
                "API key (https://documentation.onesignal.com/docs/en/keys-and-ids#api-keys)."
            )
            return json_reply(401, {"errors": [{"title": message}]})
        match = self.USER.match(request.path.rstrip("/"))
        if match and unquote(match.group(1)) != self.credentials.onesignal_app_id:
            return json_reply(403, {"errors": [{"title": "The API key is not valid for this app"}]})
        return None

    def throttled(self, seconds: str) -> Reply:
        return json_reply(429, {"errors": ["API rate limit exceeded."]}, {"Retry-After": seconds})

    def server_error(self, status: int) -> Reply:
        return json_reply(status, {"errors": ["Internal server error"]})

    def _tags(self, payload: Any) -> dict[str, str]:
        properties = payload.get("properties") if isinstance(payload, dict) else None
        tags = (properties or {}).get("tags", {}) if isinstance(properties or {}, dict) else None
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise self.bad(
                json_reply(400, {"errors": [{"title": "tags must map strings to strings"}]})
            )
        if len(tags) > self.MAX_TAGS:
            raise self.bad(
                json_reply(400, {"errors": [{"title": "at most 100 property updates per request"}]})
            )
        return tags

    def _apply(self, external_id: str, tags: dict[str, str]) -> dict[str, str]:
        state = self.state
        if state.compact:
            state.upsert(external_id, tags)
            return tags
        current = dict((state.records.get(external_id) or {}).get("tags", {}))
        for name, value in tags.items():
            if value == "":
                current.pop(name, None)
            else:
                current[name] = value
        state.upsert(external_id, {"external_id": external_id, "tags": current})
        return current

    def handle(self, request: Request) -> Reply:
        match = self.USER.match(request.path.rstrip("/"))
        if not match:
            raise self.bad(json_reply(404, {"errors": [{"title": "Not found"}]}))
        payload = _json_body(request)
        label, alias = match.group(2), match.group(3)
        state = self.state
        if request.method == "POST" and label is None:
            identity = payload.get("identity") if isinstance(payload, dict) else None
            external_id = (
                (identity or {}).get("external_id") if isinstance(identity, dict) else None
            )
            if not isinstance(external_id, str) or not external_id:
                raise self.bad(
                    json_reply(400, {"errors": [{"title": "identity.external_id is required"}]})
                )
            tags = self._tags(payload)
            with state.lock:
                state.counters["records_received"] += 1
                if external_id in state.records:
                    # An existing user: create only changes its subscriptions.
                    return json_reply(200, {"identity": {"external_id": external_id}})
                current = self._apply(external_id, tags)
            return json_reply(
                201,
                {
                    "identity": {"external_id": external_id, "onesignal_id": str(uuid.uuid4())},
                    "properties": {"tags": current},
                },
            )
        if request.method == "PATCH" and label is not None:
            if label != "external_id":
                raise self.bad(json_reply(400, {"errors": [{"title": "unsupported alias label"}]}))
            external_id = unquote(alias)
            tags = self._tags(payload)
            with state.lock:
                state.counters["records_received"] += 1
                if external_id not in state.records:
                    return json_reply(
                        404, {"errors": [{"code": "user-2", "title": "User not found"}]}
                    )
                current = self._apply(external_id, tags)
            return json_reply(202, {"properties": {"tags": current}})
        raise self.bad(json_reply(405, {"errors": [{"title": "Method not allowed"}]}))


# -- Telegram -----------------------------------------------------------------------------


class Telegram(Provider):
    name = "telegram"
    PATH = re.compile(r"^/bot([^/]+)/([A-Za-z]+)$")
    CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,})$")
    MAX_TEXT = 4096

    @staticmethod
    def failure(status: int, description: str, parameters: dict | None = None) -> Reply:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        headers = {}
        if parameters:
            body["parameters"] = parameters
            if "retry_after" in parameters:
                headers["Retry-After"] = str(parameters["retry_after"])
        return json_reply(status, body, headers)

    def authorize(self, request: Request) -> Reply | None:
        match = self.PATH.match(request.path)
        if not match:
            return self.failure(404, "Not Found")
        if not hmac.compare_digest(unquote(match.group(1)), self.credentials.telegram_bot_token):
            return self.failure(401, "Unauthorized")
        return None

    def throttled(self, seconds: str) -> Reply:
        wait = max(0, round(float(seconds)))
        return self.failure(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})

    def server_error(self, status: int) -> Reply:
        return self.failure(status, "Internal Server Error")

    def handle(self, request: Request) -> Reply:
        match = self.PATH.match(request.path)
        if not match or match.group(2) != "sendMessage":
            raise self.bad(self.failure(404, "Not Found"))
        content_type = request.headers.get("Content-Type", "")
        if "application/json" in content_type:
            payload = _json_body(request)
        else:
            payload = {
                k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()
            }
        if not isinstance(payload, dict):
            raise self.bad(self.failure(400, "Bad Request: invalid JSON"))
        chat_id = str(payload.get("chat_id", "")).strip()
        text = payload.get("text")
        state = self.state
        state.count("records_received")
        if not chat_id:
            raise self.bad(self.failure(400, "Bad Request: chat_id is empty"))
        if not isinstance(text, str) or not text.strip():
            raise self.bad(self.failure(400, "Bad Request: message text is empty"))
        if len(text) > self.MAX_TEXT:
            state.count("rejections")
            return self.failure(400, "Bad Request: message is too long")
        if not self.CHAT.match(chat_id):
            state.count("rejections")
            return self.failure(400, "Bad Request: chat not found")
        if chat_id in self.options.blocked_chats:
            state.count("rejections")
            return self.failure(403, "Forbidden: bot was blocked by the user")
        with state.lock:
            state.message(chat_id, text)
            message_id = state.counters["records_applied"]
        result = {
            "message_id": message_id,
            "chat": {"id": int(chat_id) if chat_id[0] != "@" else chat_id, "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        return json_reply(200, {"ok": True, "result": result})


# -- Twilio -------------------------------------------------------------------------------


class Twilio(Provider):
    name = "twilio"
    PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
    MAX_BODY = 1600

    @staticmethod
    def error(status: int, code: int, message: str) -> Reply:
        return json_reply(
            status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def authorize(self, request: Request) -> Reply | None:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        match = self.PATH.match(request.path)
        sid = self.credentials.twilio_account_sid
        if (
            scheme != "Basic"
            or not hmac.compare_digest(user, sid)
            or not hmac.compare_digest(password, self.credentials.twilio_auth_token)
            or (match is not None and unquote(match.group(1)) != sid)
        ):
            return self.error(401, 20003, "Authenticate")
        return None

    def throttled(self, seconds: str) -> Reply:
        reply = self.error(429, 20429, "Too Many Requests")
        reply.headers["Retry-After"] = seconds
        return reply

    def server_error(self, status: int) -> Reply:
        return self.error(status, 20500, "An internal server error has occurred")

    def handle(self, request: Request) -> Reply:
        if request.method != "POST" or not self.PATH.match(request.path):
            raise self.bad(self.error(404, 20404, "The requested resource was not found"))
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        to, body = form.get("To", "").strip(), form.get("Body")
        sender = form.get("From") or form.get("MessagingServiceSid")
        state = self.state
        state.count("records_received")
        if not to:
            raise self.bad(self.error(400, 21604, "A 'To' phone number is required."))
        if not sender:
            raise self.bad(self.error(400, 21603, "A 'From' phone number is required."))
        if not body:
            raise self.bad(self.error(400, 21602, "Message body is required."))
        if not E164.match(to):
            state.count("rejections")
            return self.error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if len(body) > self.MAX_BODY:
            state.count("rejections")
            return self.error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if to in self.options.unsubscribed:
            state.count("rejections")
            return self.error(400, 21610, "Attempt to send to unsubscribed recipient")
        with state.lock:
            state.message(to, body)
        sid = "SM" + uuid.uuid4().hex
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        return json_reply(
            201,
            {
                "sid": sid,
                "account_sid": self.credentials.twilio_account_sid,
                "to": to,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": body,
                "status": "accepted" if form.get("MessagingServiceSid") else "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "date_created": now,
                "error_code": None,
                "error_message": None,
                "uri": f"/2010-04-01/Accounts/{self.credentials.twilio_account_sid}"
                f"/Messages/{sid}.json",
            },
        )


PROVIDER_CLASSES: dict[str, type[Provider]] = {
    cls.name: cls for cls in (Webhook, Braze, Klaviyo, OneSignal, Telegram, Twilio)
}
