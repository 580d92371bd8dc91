"""Syncs declared in YAML: what to read, where to send it, and how.

```yaml
defaults:                       # any sync setting, applied where a sync leaves it out
  schedule: "0 * * * *"
syncs:
  - name: sms_abandoned_cart
    source: aud_abandoned_cart  # a dbt model (or schema.table) in the warehouse
    where: "channel = 'sms'"    # optional filter on the source rows
    destination: {kind: twilio, account_sid_env: TWILIO_ACCOUNT_SID, ...}
    mode: insert                # upsert | mirror | insert
    primary_key: customer_id    # one column, or a list of columns
    fields: {to: address, first_name: first_name}   # destination field: source column
    batch_size: 50              # capped by the destination's documented maximum
    schedule: "0 * * * *"
    consent_gate: {channel: channel, address: address}   # refuse what is not sendable
    frequency_cap: {customer: customer_id, channel: channel}
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reverse_etl.destinations.base import ConfigurationError, Mode

DEFAULT_SYNCS_FILE = Path(__file__).resolve().parent / "syncs.yml"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RELATION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
KNOWN_KEYS = {
    "name",
    "description",
    "source",
    "where",
    "destination",
    "mode",
    "primary_key",
    "fields",
    "batch_size",
    "schedule",
    "consent_gate",
    "frequency_cap",
    "retry",
    "concurrency",
}


@dataclass(frozen=True)
class ConsentGate:
    """Source columns holding the channel and the address checked against the permissions."""

    channel: str
    address: str


@dataclass(frozen=True)
class FrequencyCap:
    """At most `messages` confirmed sends per customer in `days` days, across every capped
    sync."""

    customer: str
    channel: str
    messages: int = 3
    days: int = 7


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5  # seconds; doubled every attempt, full jitter
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a longer Retry-After fails the batch for the next run
    timeout: float = 30.0  # seconds per request


@dataclass(frozen=True)
class SyncSpec:
    name: str
    source: str
    destination: Mapping[str, Any]
    mode: Mode
    primary_key: tuple[str, ...]
    fields: Mapping[str, str]
    batch_size: int | None = None
    schedule: str = "0 * * * *"
    where: str | None = None
    consent_gate: ConsentGate | None = None
    frequency_cap: FrequencyCap | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int | None = None
    description: str = ""

    @property
    def destination_kind(self) -> str:
        return str(self.destination["kind"])

    @property
    def source_columns(self) -> set[str]:
        """Every source column the sync reads."""
        columns = set(self.primary_key) | set(self.fields.values())
        if self.consent_gate:
            columns |= {self.consent_gate.channel, self.consent_gate.address}
        if self.frequency_cap:
            columns |= {self.frequency_cap.customer, self.frequency_cap.channel}
        return columns


# A destination setting that would hold a secret itself rather than name its variable (`_env`).
SECRET_SETTING = re.compile(r"(key|token|secret|password)$")


def _require(condition: bool, sync: str, message: str) -> None:
    if not condition:
        raise ConfigurationError(f"sync '{sync}': {message}")


def _identifier(value: Any, sync: str, what: str) -> str:
    _require(isinstance(value, str) and bool(IDENTIFIER.match(value)), sync, f"{what} {value!r}")
    return str(value)


def parse_sync(raw: Mapping[str, Any], defaults: Mapping[str, Any] | None = None) -> SyncSpec:
    """One sync from its YAML mapping (defaults filled in), checked; errors name the setting."""
    merged = {**(defaults or {}), **raw}
    name = str(merged.get("name", ""))
    _require(bool(NAME.match(name)), name or "?", "name must be lower_snake_case")
    unknown = set(merged) - KNOWN_KEYS
    _require(not unknown, name, f"unknown settings {sorted(unknown)}")
    source = merged.get("source")
    _require(isinstance(source, str) and bool(RELATION.match(source)), name, "source (a model)")
    destination = merged.get("destination")
    _require(isinstance(destination, Mapping) and "kind" in destination, name, "destination.kind")
    inline = sorted(k for k in destination if SECRET_SETTING.search(str(k)))
    _require(
        not inline,
        name,
        f"destination.{inline[0] if inline else ''} holds a secret in the file: secrets come "
        f"from the environment ('{inline[0] if inline else ''}_env: VARIABLE_NAME')",
    )
    try:
        mode = Mode(str(merged.get("mode", "upsert")))
    except ValueError:
        raise ConfigurationError(
            f"sync '{name}': mode must be one of {[m.value for m in Mode]}"
        ) from None
    key = merged.get("primary_key")
    keys = (key,) if isinstance(key, str) else tuple(key or ())
    _require(bool(keys), name, "primary_key")
    primary_key = tuple(_identifier(k, name, "primary_key column") for k in keys)
    fields = merged.get("fields") or {}
    _require(isinstance(fields, Mapping) and bool(fields), name, "fields (destination: column)")
    mapped = {str(k): _identifier(v, name, f"column of field {k!r}") for k, v in fields.items()}
    batch_size = merged.get("batch_size")
    _require(batch_size is None or int(batch_size) > 0, name, "batch_size must be positive")
    gate = merged.get("consent_gate")
    consent_gate = (
        ConsentGate(
            channel=_identifier(gate.get("channel", "channel"), name, "consent_gate.channel"),
            address=_identifier(gate.get("address", "address"), name, "consent_gate.address"),
        )
        if gate
        else None
    )
    cap = merged.get("frequency_cap")
    frequency_cap = (
        FrequencyCap(
            customer=_identifier(cap.get("customer", "customer_id"), name, "frequency_cap"),
            channel=_identifier(cap.get("channel", "channel"), name, "frequency_cap.channel"),
            messages=int(cap.get("messages", 3)),
            days=int(cap.get("days", 7)),
        )
        if cap
        else None
    )
    retry = RetryPolicy(**(merged.get("retry") or {}))
    concurrency = merged.get("concurrency")
    return SyncSpec(
        name=name,
        source=str(source),
        destination=dict(destination),
        mode=mode,
        primary_key=primary_key,
        fields=mapped,
        batch_size=int(batch_size) if batch_size else None,
        schedule=str(merged.get("schedule", "0 * * * *")),
        where=merged.get("where"),
        consent_gate=consent_gate,
        frequency_cap=frequency_cap,
        retry=retry,
        concurrency=int(concurrency) if concurrency else None,
        description=str(merged.get("description", "")),
    )


def load_syncs(path: Path | None = None) -> list[SyncSpec]:
    """Every sync of a syncs file (default: the project's `reverse_etl/syncs.yml`)."""
    path = path or DEFAULT_SYNCS_FILE
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"cannot read syncs file {path.name}: {error}") from None
    defaults = document.get("defaults") or {}
    syncs = [parse_sync(raw, defaults) for raw in document.get("syncs") or []]
    names = [sync.name for sync in syncs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(f"syncs file {path.name}: duplicate sync names {duplicates}")
    return syncs
