"""Twilio: an SMS to each recipient through the Messages API.

Contract (https://www.twilio.com/docs/sms/api/message-resource):
`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To` (E.164), `Body`
(at most 1,600 characters) and either `From` (a Twilio number or sender id) or
`MessagingServiceSid`; HTTP basic auth with the Account SID as user and the Auth Token as
password. 201 answers the created message; an error answers
`{"code", "message", "more_info", "status"}` (https://www.twilio.com/docs/api/errors), e.g.
400 with 21211 for an invalid `To` number, 21610 for a recipient who replied STOP.

Limits: Twilio queues messages per sender at its messages-per-second rate (1 segment/s for a
US/Canada long code, 3 for toll-free, 100 for a short code; a Messaging Service adds up its
senders) and keeps at most hours of queue; the REST API refuses too many concurrent requests
with 429 / 20429. The default, `requests_per_second: 1`, matches one long code; raise it to
your senders' throughput, up to 100.

Field mapping: `to` (required; the E.164 phone number, the audience's `address` for sms) plus
whatever fields `body_template` names, e.g. `body_template: "Hi {first_name}, ..."`. A record
lacking a template field, or whose `to` is not E.164, is rejected before anything is sent.
Rejection reasons carry Twilio's error code and a fixed description, never the number.

Settings: `account_sid_env`, `auth_token_env` and `body_template` (required), `from_number` or
`messaging_service_sid` (one of them), `status_callback`, `requests_per_second` (default 1,
<= 100), `max_batch_size` (<= 100), `concurrency` (<= 100).

Insert mode only, and not idempotent: Twilio documents no idempotency key for creating a
message (its `I-Twilio-Idempotency-Token` header is one Twilio sends on its own webhooks so
that receivers can drop Twilio's retries), so a message whose answer was lost and is sent again
reaches the phone twice (at-least-once).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from reverse_etl.destinations._common import (
    body_json,
    credentials_refused,
    deliver_each,
    is_e164,
    resolve_limits,
)
from reverse_etl.destinations._template import MessageTemplate, MissingFields
from reverse_etl.destinations.base import (
    Batch,
    BatchOutcome,
    ConfigurationError,
    DeliveryFailed,
    Destination,
    Limits,
    Mode,
    Record,
    Rejection,
    Send,
    secret,
)

MAX_BODY = 1600
# Descriptions of the per-message errors worth naming (Twilio's own messages may quote the
# number, so they are not stored).
KNOWN_ERRORS = {
    21211: "invalid 'To' phone number",
    21408: "no permission to send to this region",
    21610: "recipient unsubscribed (replied STOP)",
    21612: "'To' number cannot be reached from this sender",
    21614: "'To' number is not a mobile number",
    21617: "body exceeds 1,600 characters",
    21602: "message body is required",
    21604: "'To' number is required",
    21606: "'From' number cannot send SMS",
    21608: "trial accounts may only send to verified numbers",
    21635: "'To' number cannot receive SMS",
}


class TwilioDestination(Destination):
    kind: ClassVar[str] = "twilio"
    modes: ClassVar[frozenset[Mode]] = frozenset({Mode.INSERT})
    idempotent: ClassVar[bool] = False
    required_fields: ClassVar[frozenset[str]] = frozenset({"to"})
    default_base_url: ClassVar[str] = "https://api.twilio.com"
    DEFAULT = Limits(max_batch_size=100, requests=1, per_seconds=1.0, concurrency=4)
    CEILING = Limits(max_batch_size=100, requests=100, per_seconds=1.0, concurrency=100)

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self._account_sid = secret(settings, "account_sid")
        self._auth_token = secret(settings, "auth_token")
        pair = f"{self._account_sid}:{self._auth_token}".encode()
        self._authorization = "Basic " + base64.b64encode(pair).decode()
        self.template = MessageTemplate(settings.get("body_template"), "body_template")
        self.sender: dict[str, str] = {}
        if settings.get("messaging_service_sid"):
            self.sender["MessagingServiceSid"] = str(settings["messaging_service_sid"])
        if settings.get("from_number"):
            self.sender["From"] = str(settings["from_number"])
        if not self.sender:
            raise ConfigurationError("setting 'from_number' or 'messaging_service_sid' is missing")
        self._limits = resolve_limits(self.kind, self.DEFAULT, settings, self.CEILING)

    @property
    def limits(self) -> Limits:
        return self._limits

    def request(self, to: str, body: str) -> httpx.Request:
        form = {"To": to, "Body": body, **self.sender}
        if self.settings.get("status_callback"):
            form["StatusCallback"] = str(self.settings["status_callback"])
        url = (
            f"{self.base_url}/2010-04-01/Accounts/{quote(self._account_sid, safe='')}/Messages.json"
        )
        return httpx.Request(
            "POST",
            url,
            data=form,
            headers={"Accept": "application/json", "Authorization": self._authorization},
        )

    @staticmethod
    def _reason(response: httpx.Response) -> str:
        body = body_json(response)
        code = body.get("code") if isinstance(body, Mapping) else None
        if isinstance(code, int):
            return f"twilio {code}: {KNOWN_ERRORS.get(code, 'message refused')}"
        return f"twilio: HTTP {response.status_code}: message refused"

    async def _one(self, record: Record, send: Send) -> Rejection | None:
        to = str(record.fields.get("to") or "").strip()
        if not is_e164(to):
            return Rejection(record.key, "twilio: 'to' is not an E.164 phone number")
        try:
            body = self.template.render(record.fields)
        except MissingFields as missing:
            return Rejection(record.key, f"twilio: template fields missing: {missing}")
        if len(body) > MAX_BODY:
            return Rejection(record.key, f"twilio: body longer than {MAX_BODY} characters")
        response = await send(self.request(to, body))
        status = response.status_code
        if 200 <= status < 300:
            return None
        if status in (401, 403):
            raise credentials_refused(self.kind, response, "account_sid_env and auth_token_env")
        if status == 404:
            raise DeliveryFailed("twilio: account or endpoint not found (HTTP 404)")
        if 400 <= status < 500:
            return Rejection(record.key, self._reason(response))
        raise DeliveryFailed(f"twilio: unexpected answer HTTP {status}")

    async def deliver(self, batch: Batch, send: Send) -> BatchOutcome:
        return await deliver_each(
            batch, lambda record: self._one(record, send), self.limits.concurrency
        )
