"""Erasure ("right to be forgotten") at the destinations the syncs deliver to.

For one person (`ErasureSubject`: every customer id, e-mail and phone number they have had):

1. every sync's state (schema `reverse_etl`) is searched for the record keys it holds for the
   person: keys built from the sync's `primary_key` whose customer-id column (`customer_id`, or
   the frequency cap's customer column) is one of the person's customer ids; a composite key
   joins its parts with `|`, as change capture does. Keys of the frequency-capped sends
   recorded for those customer ids count too, and so does the customer id itself when it is
   the whole key;
2. the syncs are grouped by destination (kind, address and the environment variables of the
   credentials): several syncs to one Braze workspace make one destination;
3. each destination whose kind `supports_erasure` gets one erasure, with the union of its
   syncs' keys, through a `Sender` (its rate limit, retries and 429 handling), all
   destinations at once. The call is made even when the state holds no key of the person: a
   provider keeps users that left an audience (mirror mode only clears their membership);
4. the person's rows leave the sync state (`snapshots`, `failures`, `in_flight`, `departures`,
   `sends`, by record key, and `sends` by customer id too) for the syncs of every destination
   that accepted, and of every destination with no erasure call. A destination that refused,
   failed after its retries or lacks its credentials keeps its syncs' rows, so that the next
   attempt knows the keys; it is reported, never raised.

```python
subject = ErasureSubject("erasure-42", customer_ids=("c1", "c7"), emails=(...), phones=(...))
for destination in erase_at_destinations(con, load_syncs(), subject):
    if destination.needs_retry:
        ...  # record it; call again later with the same subject
```
Reports carry no e-mail address, phone number or secret.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import httpx

from reverse_etl.config import RetryPolicy, SyncSpec
from reverse_etl.delivery import Sender
from reverse_etl.destinations import DESTINATIONS, build_destination
from reverse_etl.destinations.base import (
    ConfigurationError,
    DeliveryFailed,
    Destination,
    ErasureOutcome,
    ErasureSubject,
)
from reverse_etl.engine import secret_values
from reverse_etl.redaction import redact
from reverse_etl.state import SCHEMA, ensure_state

log = logging.getLogger("reverse_etl")

# The state tables holding record keys (and, for `sends`, customer ids).
STATE_TABLES = ("snapshots", "failures", "in_flight", "departures", "sends")
CUSTOMER_COLUMN = "customer_id"


@dataclass(frozen=True)
class DestinationErasure:
    """What one destination was asked and answered."""

    kind: str
    syncs: tuple[str, ...]  # the syncs delivering to it
    keys_sent: int  # the person's record keys sent (or, without an erasure call, held)
    requests: int  # HTTP requests made, retries included
    accepted: bool  # the provider accepted the erasure
    detail: str  # what happened; no e-mail address, phone number or secret
    supported: bool = True  # False: the kind has no erasure call (state forgotten only)
    state_rows_deleted: int = 0

    @property
    def needs_retry(self) -> bool:
        """The erasure call failed: its syncs kept their state, call again later."""
        return self.supported and not self.accepted


@dataclass
class _Destination:
    """Syncs that deliver to one destination, and the person's keys in each."""

    kind: str
    specs: list[SyncSpec] = field(default_factory=list)
    keys: dict[str, list[str]] = field(default_factory=dict)  # sync name -> keys

    @property
    def settings(self) -> Mapping[str, object]:
        return self.specs[0].destination

    @property
    def all_keys(self) -> list[str]:
        return list(dict.fromkeys(key for keys in self.keys.values() for key in keys))

    @property
    def supported(self) -> bool:
        cls = DESTINATIONS.get(self.kind)
        return cls is not None and cls.supports_erasure


def erase_at_destinations(
    con: duckdb.DuckDBPyConnection,
    syncs: Sequence[SyncSpec],
    subject: ErasureSubject,
) -> list[DestinationErasure]:
    """Erase the person at every destination of `syncs` and forget them in the sync state of
    the warehouse `con` (see the module's docstring). `subject.record_keys` may be empty: each
    destination is sent its own syncs' keys (with any given added). One report per
    destination, in the order of the syncs."""
    ensure_state(con)
    destinations = group_by_destination(syncs)
    for destination in destinations:
        for spec in destination.specs:
            destination.keys[spec.name] = person_keys(con, spec, subject.customer_ids)
    answers = iter(asyncio.run(_erase_all([d for d in destinations if d.supported], subject)))
    reports = []
    for destination in destinations:
        report = next(answers) if destination.supported else _without_call(destination)
        if report.accepted or not report.supported:
            deleted = forget_person(con, destination, subject.customer_ids)
            report = dataclasses.replace(report, state_rows_deleted=deleted)
        log.info("erasure %s: %s %s", subject.erasure_id, report.kind, report.detail)
        reports.append(report)
    return reports


def destination_identity(settings: Mapping[str, object]) -> tuple[str, str, tuple]:
    """What makes two syncs' destinations one: kind, address (base URL and path), and the
    environment variables naming the credentials."""
    kind = str(settings.get("kind"))
    cls = DESTINATIONS.get(kind)
    variable = settings.get("base_url_env")
    url = os.environ.get(str(variable)) if variable else None
    base = str(url or settings.get("base_url") or (cls.default_base_url if cls else ""))
    address = base.rstrip("/") + str(settings.get("path") or "")
    credentials = tuple(
        sorted(
            (name, str(value))
            for name, value in settings.items()
            if name.endswith("_env") and name != "base_url_env"
        )
    )
    return kind, address, credentials


def group_by_destination(syncs: Sequence[SyncSpec]) -> list[_Destination]:
    groups: dict[tuple, _Destination] = {}
    for spec in syncs:
        identity = destination_identity(spec.destination)
        groups.setdefault(identity, _Destination(identity[0])).specs.append(spec)
    return list(groups.values())


def customer_key_position(spec: SyncSpec) -> int | None:
    """Which part of the sync's record key is the customer id (None: no part is)."""
    columns = list(spec.primary_key)
    if CUSTOMER_COLUMN in columns:
        return columns.index(CUSTOMER_COLUMN)
    cap = spec.frequency_cap
    if cap is not None and cap.customer in columns:
        return columns.index(cap.customer)
    return None


def _key_match(position: int, parts: int) -> str:
    """SQL: `held.record_key` is a key whose customer-id part is `person.customer_id` (the
    parts of a composite key are joined with '|')."""
    if parts == 1:
        return "held.record_key = person.customer_id"
    if position == 0:
        return "starts_with(held.record_key, person.customer_id || '|')"
    if position == parts - 1:
        return "ends_with(held.record_key, '|' || person.customer_id)"
    return "contains(held.record_key, '|' || person.customer_id || '|')"


def person_keys(
    con: duckdb.DuckDBPyConnection, spec: SyncSpec, customer_ids: Sequence[str]
) -> list[str]:
    """The record keys of the person (these customer ids) in one sync's state, sorted."""
    ids = [str(value) for value in customer_ids if str(value)]
    if not ids:
        return []
    held = " union all ".join(
        f"select record_key from {SCHEMA}.{table} where sync_name = $sync" for table in STATE_TABLES
    )
    queries = [
        f"select record_key from {SCHEMA}.sends "
        "where sync_name = $sync and list_contains($ids::varchar[], customer_id)"
    ]
    position = customer_key_position(spec)
    if position is not None:
        queries.append(
            f"""select held.record_key from ({held}) as held
            inner join (select unnest($ids::varchar[]) as customer_id) as person
                on {_key_match(position, len(spec.primary_key))}"""
        )
    rows = con.execute(
        f"select distinct record_key from ({' union all '.join(queries)}) order by 1",
        {"sync": spec.name, "ids": ids},
    ).fetchall()
    keys = [row[0] for row in rows]
    if position is not None and len(spec.primary_key) == 1:
        keys = sorted(set(keys) | set(ids))  # the customer id is the whole key
    return keys


def forget_person(
    con: duckdb.DuckDBPyConnection, destination: _Destination, customer_ids: Sequence[str]
) -> int:
    """Delete the person's rows from the state of the destination's syncs (one transaction);
    returns how many rows went."""
    ids = [str(value) for value in customer_ids]
    deleted = 0
    con.begin()
    try:
        for spec in destination.specs:
            keys = destination.keys.get(spec.name, [])
            for table in STATE_TABLES:
                condition = "list_contains($keys::varchar[], record_key)"
                parameters = {"sync": spec.name, "keys": keys}
                if table == "sends":
                    condition += " or list_contains($ids::varchar[], customer_id)"
                    parameters["ids"] = ids
                deleted += con.execute(
                    f"delete from {SCHEMA}.{table} where sync_name = $sync and ({condition})",
                    parameters,
                ).fetchall()[0][0]
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return deleted


def _without_call(destination: _Destination) -> DestinationErasure:
    keys = len(destination.all_keys)
    detail = (
        f"{destination.kind} has no erasure call: {keys} key(s) forgotten in the sync state "
        "only; erase the person at the provider by other means"
    )
    return DestinationErasure(
        destination.kind,
        tuple(spec.name for spec in destination.specs),
        keys,
        0,
        False,
        detail,
        supported=False,
    )


async def _erase_all(
    destinations: Sequence[_Destination], subject: ErasureSubject
) -> list[DestinationErasure]:
    return list(await asyncio.gather(*(_erase_one(d, subject) for d in destinations)))


async def _erase_one(destination: _Destination, subject: ErasureSubject) -> DestinationErasure:
    """One destination's erasure; every failure becomes a report that is not accepted."""
    syncs = tuple(spec.name for spec in destination.specs)
    keys = list(dict.fromkeys([*destination.all_keys, *subject.record_keys]))
    secrets = secret_values(dict(destination.settings))
    try:
        provider = build_destination(destination.settings)
    except ConfigurationError as error:
        detail = redact(f"{destination.kind}: not sent, configuration: {error}", secrets)
        return DestinationErasure(destination.kind, syncs, 0, 0, False, detail)
    try:
        ask = dataclasses.replace(subject, record_keys=tuple(keys))
        answer, requests = await _send_erasure(provider, ask, destination.specs[0].retry)
    finally:
        provider.close()
    if isinstance(answer, ErasureOutcome):
        accepted, detail = answer.accepted, answer.detail
    else:
        accepted, detail = False, answer
    detail = redact(detail, secrets)
    return DestinationErasure(destination.kind, syncs, len(keys), requests, accepted, detail)


async def _send_erasure(
    provider: Destination, subject: ErasureSubject, policy: RetryPolicy
) -> tuple[ErasureOutcome | str, int]:
    """The provider's outcome (or why there is none) and the HTTP requests it took."""
    async with httpx.AsyncClient(timeout=policy.timeout) as client:
        sender = Sender(client, provider.erasure_limits, policy)
        try:
            return await provider.erase(subject, sender), sender.stats.requests
        except DeliveryFailed as error:
            return _prefixed(provider.kind, str(error)), sender.stats.requests
        except Exception as error:  # a destination's bug must not stop the other erasures
            reason = f"{type(error).__name__}: {error}"
            return _prefixed(provider.kind, reason), sender.stats.requests


def _prefixed(kind: str, text: str) -> str:
    return text if text.startswith(f"{kind}:") else f"{kind}: {text}"
