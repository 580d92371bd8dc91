"""Helpers the destinations share (not part of the destination interface)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, TypeVar

import httpx

from reverse_etl.destinations.base import (
    Batch,
    BatchOutcome,
    ConfigurationError,
    DeliveryFailed,
    DeliveryInDoubt,
    Limits,
    Record,
    Rejection,
)
from reverse_etl.redaction import redact

T = TypeVar("T")

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
NAME_UNSAFE = re.compile(r"[^a-z0-9_]+")


def _positive(settings: Mapping[str, Any], name: str, cast: type) -> Any:
    value = settings.get(name)
    if value is None:
        return None
    try:
        number = cast(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"setting '{name}' must be a number") from None
    if number <= 0:
        raise ConfigurationError(f"setting '{name}' must be positive")
    return number


def resolve_limits(
    kind: str,
    default: Limits,
    settings: Mapping[str, Any],
    ceiling: Limits | None = None,
) -> Limits:
    """The limits a destination works with: its `default` (the provider's documented limits),
    lowered by the settings `max_batch_size`, `requests_per_second` and `concurrency`.

    A setting above the `ceiling` (the documented maximum, the default unless a provider's
    default is deliberately below what it allows) is refused rather than silently clamped.
    """
    ceiling = ceiling or default
    batch = _positive(settings, "max_batch_size", int) or default.max_batch_size
    if batch > ceiling.max_batch_size:
        raise ConfigurationError(
            f"setting 'max_batch_size' ({batch}) is above {kind}'s documented maximum "
            f"({ceiling.max_batch_size})"
        )
    requests, per_seconds = default.requests, default.per_seconds
    rate = _positive(settings, "requests_per_second", float)
    if rate is not None:
        most = ceiling.requests / ceiling.per_seconds
        if rate > most * (1 + 1e-9):
            raise ConfigurationError(
                f"setting 'requests_per_second' ({rate:g}) is above {kind}'s documented "
                f"maximum ({most:g} per second)"
            )
        fraction = Fraction(rate).limit_denominator(100)
        requests, per_seconds = max(1, fraction.numerator), float(fraction.denominator)
    concurrency = _positive(settings, "concurrency", int) or default.concurrency
    if concurrency > ceiling.concurrency:
        raise ConfigurationError(
            f"setting 'concurrency' ({concurrency}) is above {kind}'s maximum "
            f"({ceiling.concurrency})"
        )
    return Limits(batch, requests, per_seconds, concurrency)


def require_setting(settings: Mapping[str, Any], name: str) -> str:
    value = settings.get(name)
    if value is None or str(value).strip() == "":
        raise ConfigurationError(f"setting '{name}' is missing")
    return str(value)


def flag(settings: Mapping[str, Any], name: str, default: bool) -> bool:
    """A yes/no setting (YAML booleans, or the words true/false, yes/no, 1/0)."""
    value = settings.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ConfigurationError(f"setting '{name}' must be true or false")


def safe_name(text: str) -> str:
    """`text` as a lower_snake identifier (attribute and tag names)."""
    return NAME_UNSAFE.sub("_", text.lower()).strip("_") or "audience"


def membership_name(settings: Mapping[str, Any], setting: str, sync_name: str) -> str:
    """The attribute (or tag) that marks membership: the setting, else `omni360_<audience>`,
    the audience being the `audience` setting or the sync's name."""
    explicit = settings.get(setting)
    if explicit:
        return str(explicit)
    return "omni360_" + safe_name(str(settings.get("audience") or sync_name))


def jsonable(value: Any) -> Any:
    """`value` with what JSON cannot carry turned into what it can (dates as ISO 8601)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return jsonable(item())
    return str(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=jsonable)


def dumps(payload: Any) -> bytes:
    """Compact JSON; what JSON cannot carry goes through `jsonable` (only those values)."""
    return _ENCODER.encode(payload).encode()


def body_json(response: httpx.Response) -> Any:
    """The response's JSON body, or None when it has none."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def short(text: Any, limit: int = 200) -> str:
    """A provider's words, safe to store: no e-mail or phone number, and not too long."""
    cleaned = redact(" ".join(str(text).split()))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def credentials_refused(kind: str, response: httpx.Response, hint: str) -> DeliveryFailed:
    """A refusal of the credentials fails the whole batch (no record is at fault)."""
    return DeliveryFailed(
        f"{kind}: credentials refused (HTTP {response.status_code}); check {hint}"
    )


def unexpected(kind: str, response: httpx.Response) -> DeliveryFailed:
    return DeliveryFailed(f"{kind}: unexpected answer HTTP {response.status_code}")


def is_e164(value: str) -> bool:
    return bool(E164.match(value))


def unique(values: Iterable[str]) -> list[str]:
    """The non-blank values, each once, in their first order."""
    return list(dict.fromkeys(str(v) for v in values if v is not None and str(v).strip()))


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), max(1, size))]


async def gather_limited(factories: Sequence[Callable[[], Awaitable[T]]], width: int) -> list[T]:
    """Run the coroutines the factories make, at most `width` at once, in order; the first
    exception cancels the rest and propagates."""
    semaphore = asyncio.Semaphore(max(1, width))

    async def one(factory: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await factory()

    tasks = [asyncio.ensure_future(one(factory)) for factory in factories]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def deliver_each(
    batch: Batch,
    one: Callable[[Record], Awaitable[Rejection | None]],
    width: int,
) -> BatchOutcome:
    """Deliver a batch one request per record: every record ends confirmed or rejected on its
    own, so one record's failure never un-confirms the others. A record whose request got no
    answer is rejected `in_doubt`. When every record failed to be delivered at all, the batch
    fails (the provider is unavailable), which lets the engine stop early."""

    async def guarded(record: Record) -> Rejection | DeliveryFailed | None:
        try:
            return await one(record)
        except DeliveryInDoubt as error:
            return Rejection(record.key, str(error), in_doubt=True)
        except DeliveryFailed as error:
            return error

    results = await gather_limited(
        [lambda record=record: guarded(record) for record in batch.records], width
    )
    failures = [result for result in results if isinstance(result, DeliveryFailed)]
    if failures and len(failures) == len(results):
        raise failures[0]
    outcome = BatchOutcome()
    for record, result in zip(batch.records, results, strict=True):
        if result is None:
            outcome.confirmed.append(record.key)
        elif isinstance(result, DeliveryFailed):
            outcome.rejected.append(Rejection(record.key, str(result)))
        else:
            outcome.rejected.append(result)
    return outcome
