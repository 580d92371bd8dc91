"""Telegram: a message to each opted-in chat through the Bot API's `sendMessage`.

Contract (https://core.telegram.org/bots/api#sendmessage): `POST /bot<token>/sendMessage` with
JSON `{"chat_id", "text"}` (1-4096 characters after entity parsing); the token lives in the
URL path, so the URL of a request is as secret as the token. Answers are
`{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description", "parameters"}`
(https://core.telegram.org/bots/api#making-requests); on flood control the answer is 429 with
`parameters.retry_after` seconds (the engine's sender honours it). Limits
(https://core.telegram.org/bots/faq, "My bot is hitting limits"): about 30
messages per second overall and about one per second per chat.

Field mapping: `chat_id` (required; the opted-in chat id, the audience's `address` for the
telegram channel) plus whatever fields `text_template` names, e.g.
`text_template: "Hi {first_name}, your cart is waiting"`. A record lacking a field the template
uses is rejected (the field is named, nothing is sent).

Answers: `ok: true` confirms; 403 (the user blocked the bot or is deactivated) and 400 (chat
not found, text too long) reject that record; 401/404 (token refused) fail the batch.

Settings: `bot_token_env` and `text_template` (required), `parse_mode` (`HTML` or `MarkdownV2`;
field values are escaped for it), `disable_notification`, `max_batch_size` (<= 30),
`requests_per_second` (<= 30), `concurrency`.

Insert mode only, and not idempotent: the Bot API has no idempotency key, so a message whose
answer was lost and is sent again reaches the chat twice (at-least-once).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx

from reverse_etl.destinations._common import (
    body_json,
    credentials_refused,
    deliver_each,
    dumps,
    flag,
    resolve_limits,
    short,
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

MAX_TEXT = 4096
CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,})$")
MARKDOWN_SPECIAL = re.compile(r"([_*\[\]()~`>#+\-=|{}.!\\])")


def _markdown_v2(text: str) -> str:
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _plain(text: str) -> str:
    return text


ESCAPES: dict[str, Callable[[str], str]] = {
    "": _plain,
    "HTML": lambda text: html.escape(text, quote=False),
    "MarkdownV2": _markdown_v2,
}


class TelegramDestination(Destination):
    kind: ClassVar[str] = "telegram"
    modes: ClassVar[frozenset[Mode]] = frozenset({Mode.INSERT})
    idempotent: ClassVar[bool] = False
    required_fields: ClassVar[frozenset[str]] = frozenset({"chat_id"})
    default_base_url: ClassVar[str] = "https://api.telegram.org"
    DOCUMENTED = Limits(max_batch_size=30, requests=30, per_seconds=1.0, concurrency=8)

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self._token = secret(settings, "bot_token")
        self.template = MessageTemplate(settings.get("text_template"), "text_template")
        self.parse_mode = str(settings.get("parse_mode") or "")
        self.silent = flag(settings, "disable_notification", False)
        if self.parse_mode not in ESCAPES:
            raise ConfigurationError("setting 'parse_mode' must be HTML or MarkdownV2")
        self._limits = resolve_limits(self.kind, self.DOCUMENTED, settings)

    @property
    def limits(self) -> Limits:
        return self._limits

    def request(self, chat_id: str, text: str) -> httpx.Request:
        payload: dict[str, Any] = {"chat_id": int(chat_id) if chat_id[0] != "@" else chat_id}
        payload["text"] = text
        if self.parse_mode:
            payload["parse_mode"] = self.parse_mode
        if self.silent:
            payload["disable_notification"] = True
        return httpx.Request(
            "POST",
            f"{self.base_url}/bot{self._token}/sendMessage",
            content=dumps(payload),
            headers={"Content-Type": "application/json"},
        )

    async def _one(self, record: Record, send: Send) -> Rejection | None:
        chat_id = str(record.fields.get("chat_id") or "").strip()
        if not CHAT_ID.match(chat_id):
            return Rejection(record.key, "telegram: chat_id is not a chat id")
        try:
            text = self.template.render(record.fields, ESCAPES[self.parse_mode])
        except MissingFields as missing:
            return Rejection(record.key, f"telegram: template fields missing: {missing}")
        if len(text) > MAX_TEXT:
            return Rejection(record.key, f"telegram: text longer than {MAX_TEXT} characters")
        response = await send(self.request(chat_id, text))
        status = response.status_code
        body = body_json(response)
        if status == 200 and isinstance(body, Mapping) and body.get("ok") is True:
            return None
        if status in (401, 404):
            raise credentials_refused(self.kind, response, "bot_token_env")
        description = body.get("description") if isinstance(body, Mapping) else None
        if status in (400, 403):
            return Rejection(record.key, f"telegram {status}: {short(description or 'refused')}")
        raise DeliveryFailed(f"telegram: unexpected answer HTTP {status}")

    async def deliver(self, batch: Batch, send: Send) -> BatchOutcome:
        return await deliver_each(
            batch, lambda record: self._one(record, send), self.limits.concurrency
        )
