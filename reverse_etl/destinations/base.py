"""What every destination provides, and what the sync engine hands it.

A destination turns a batch of records into requests to its provider and reads the
answers back into per-record outcomes. It never sleeps, retries or throttles itself: the
`send` callable it is given does that (rate limit, 429 + Retry-After, backoff with jitter on
5xx and timeouts) and raises `DeliveryFailed` once the attempts are spent.

A destination that `supports_erasure` also implements `erase`: the provider's documented way of
deleting one person ("right to be forgotten"), sent through the same kind of `send`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import httpx


class Operation(StrEnum):
    """What a record asks of the destination."""

    UPSERT = "upsert"  # create or update (upsert and mirror modes)
    DELETE = "delete"  # the record left the source (mirror mode only)
    INSERT = "insert"  # a new record, sent once (insert mode: messages)


class Mode(StrEnum):
    """How a sync treats the source's changes (declared per sync)."""

    UPSERT = "upsert"  # added and changed records
    MIRROR = "mirror"  # added, changed and removed records
    INSERT = "insert"  # added records only, each sent once


@dataclass(frozen=True)
class Limits:
    """The provider's documented limits (a sync may ask for less, never for more)."""

    max_batch_size: int  # records per batch handed to `deliver`
    requests: int  # at most this many requests ...
    per_seconds: float  # ... in any window of this many seconds
    concurrency: int = 4  # requests in flight at once


@dataclass(frozen=True)
class Record:
    """One record of a batch: its primary key, its mapped fields, its idempotency key."""

    key: str
    fields: Mapping[str, Any]
    # Stable for (sync, key, version of the fields, operation): a re-send after a crash
    # carries the same key, so a provider that deduplicates applies it once.
    idempotency_key: str


@dataclass(frozen=True)
class Batch:
    sync_name: str
    operation: Operation
    records: Sequence[Record]
    # Derived from the records' idempotency keys: the same batch re-sent has the same id.
    batch_id: str


@dataclass(frozen=True)
class Rejection:
    """A record the provider refused for a reason of its own (stored, retried next run), or
    one whose request went out without an answer to a destination that is not idempotent
    (`in_doubt`: held, never re-sent automatically, since it may have arrived)."""

    key: str
    reason: str
    in_doubt: bool = False


@dataclass
class BatchOutcome:
    confirmed: list[str] = field(default_factory=list)  # keys the provider accepted
    rejected: list[Rejection] = field(default_factory=list)


class DeliveryFailed(Exception):
    """The provider could not be reached or kept failing after every retry."""


class DeliveryInDoubt(DeliveryFailed):
    """A request went out and no answer came back; the provider may have applied it. Raised
    instead of re-sending when the destination is not idempotent."""


class ConfigurationError(ValueError):
    """A destination's settings are wrong or a secret is missing (names the setting, never the
    value)."""


Send = Callable[[httpx.Request], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class ErasureSubject:
    """The person to erase at one destination."""

    # Stable id of the erasure request: the same request sent again carries the same id.
    erasure_id: str
    customer_ids: tuple[str, ...]  # every customer id the person has had
    emails: tuple[str, ...]
    phones: tuple[str, ...]  # E.164
    # The keys under which this destination's syncs hold the person (their sync state's
    # `record_key`s); may be empty.
    record_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class ErasureOutcome:
    """What the provider answered to an erasure. `detail` never carries an e-mail address, a
    phone number or a secret."""

    requests: int  # requests the erasure took (not counting the sender's retries)
    accepted: bool  # every request was accepted
    detail: str


def secret(settings: Mapping[str, Any], name: str) -> str:
    """The secret `name` from the environment variable the settings name in `<name>_env`."""
    variable = settings.get(f"{name}_env")
    if not variable:
        raise ConfigurationError(f"setting '{name}_env' (the environment variable) is missing")
    value = os.environ.get(str(variable))
    if not value:
        raise ConfigurationError(f"environment variable {variable} ({name}) is not set")
    return value


class Destination(ABC):
    """A provider of one kind; built from the `destination:` settings of a sync."""

    kind: ClassVar[str]
    modes: ClassVar[frozenset[Mode]]
    # True when applying the same record twice has the effect of applying it once (upserts
    # keyed by the record, or a provider that deduplicates on the idempotency key).
    idempotent: ClassVar[bool]
    # Fields every record must carry (checked against the sync's mapping before a run).
    required_fields: ClassVar[frozenset[str]] = frozenset()
    # True when `erase` deletes a person at the provider.
    supports_erasure: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings

    @property
    @abstractmethod
    def limits(self) -> Limits: ...

    @property
    def base_url(self) -> str:
        """The provider's address: `base_url` (or `$<base_url_env>`), else its default."""
        variable = self.settings.get("base_url_env")
        url = os.environ.get(str(variable)) if variable else None
        return (url or self.settings.get("base_url") or self.default_base_url).rstrip("/")

    default_base_url: ClassVar[str] = ""

    @abstractmethod
    async def deliver(self, batch: Batch, send: Send) -> BatchOutcome:
        """Send one batch; every record of it ends confirmed, rejected, or in `DeliveryFailed`."""

    @property
    def erasure_limits(self) -> Limits:
        """The limits `erase` keeps to (the provider's limits of its deletion endpoint)."""
        return self.limits

    async def erase(self, subject: ErasureSubject, send: Send) -> ErasureOutcome:
        """Delete the person at the provider. A refusal of the provider's own is an outcome
        that is not `accepted`; an unreachable provider or refused credentials raise
        `DeliveryFailed`. Sending the same erasure twice is harmless."""
        raise NotImplementedError(f"{self.kind} does not support erasure")

    def close(self) -> None:  # noqa: B027 - most destinations hold nothing to release
        """Release what the destination holds (the file export closes its files)."""
