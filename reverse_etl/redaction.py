"""Keeping e-mails, phone numbers and secrets out of logs and stored error texts."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")


def fingerprint(value: str) -> str:
    """A short, stable stand-in for an address (the same address, the same stand-in)."""
    return "#" + hashlib.sha256(value.encode()).hexdigest()[:10]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with every e-mail and phone number replaced by a fingerprint, and every
    secret by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = EMAIL.sub(lambda match: fingerprint(match.group(0).lower()), text)
    return PHONE.sub(lambda match: fingerprint(re.sub(r"\D", "", match.group(0))), text)


class RedactingFilter(logging.Filter):
    """Rewrites every record of the logger it is attached to through `redact`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = set(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = ()
        return True
