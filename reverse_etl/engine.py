"""One sync run: capture the changes, deliver them in batches, remember what was confirmed.

The snapshot advances only for records the destination confirmed, in transactions written
while the run goes on; a run killed at any point has remembered every confirmation it wrote
and re-sends only the rest next time (with the same idempotency keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import httpx
import pyarrow as pa

from reverse_etl.cdc import ChangeCounts, ChangeSet, capture_changes
from reverse_etl.config import SyncSpec
from reverse_etl.delivery import DeliveryStats, Sender
from reverse_etl.destinations import build_destination
from reverse_etl.destinations.base import (
    Batch,
    BatchOutcome,
    ConfigurationError,
    DeliveryFailed,
    DeliveryInDoubt,
    Destination,
    Operation,
    Record,
)
from reverse_etl.redaction import RedactingFilter, redact
from reverse_etl.state import (
    CONFIRMED_SCHEMA,
    FAILED_SCHEMA,
    SCHEMA,
    ensure_state,
    forget_removed,
    mark_in_flight,
    mark_interrupted_runs,
    record_outcomes,
    settle_interrupted_sends,
)

log = logging.getLogger("reverse_etl")
# httpx logs every request's URL at INFO, and some providers carry a secret in the URL
# (Telegram's bot token, Twilio's account SID): its records go through the same redaction.
HTTP_LOG = logging.getLogger("httpx")

# Confirmations are written at least this often (records, seconds); a destination that is
# not idempotent has every batch written as soon as it is confirmed.
FLUSH_RECORDS = 20_000
FLUSH_SECONDS = 2.0
# Consecutive batches that fail after every retry before the run stops trying.
CIRCUIT_BREAKER_BATCHES = 3
# DuckDB memory for a run's queries (change capture, the sorted read of the changes): past it
# DuckDB spills to its temp directory, so the audience's size does not set the memory of the
# process (measured: `make bench-syncs`).
MEMORY_LIMIT = "512MB"
SIZE = re.compile(r"^\s*([\d.]+)\s*([KMGTP]?i?B|bytes?)\s*$", re.IGNORECASE)

Progress = Callable[[int, int], None]


@dataclass
class SyncResult:
    run_id: str
    sync_name: str
    status: str  # success | partial | failed | dry_run | unchanged
    counts: ChangeCounts | None
    confirmed: int = 0
    failed: int = 0
    in_doubt: int = 0
    duration_seconds: float = 0.0
    delivery: DeliveryStats = field(default_factory=DeliveryStats)
    error: str | None = None
    preview: list[dict[str, Any]] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "run_id": self.run_id,
            "status": self.status,
            "source_rows": counts.source_rows if counts else None,
            "added": counts.added if counts else None,
            "changed": counts.changed if counts else None,
            "removed": counts.removed if counts else None,
            "retried": counts.retried if counts else None,
            "holdout_skipped": counts.holdout_skipped if counts else None,
            "consent_blocked": counts.consent_blocked if counts else None,
            "frequency_capped": counts.frequency_capped if counts else None,
            "held_in_doubt": counts.held_in_doubt if counts else None,
            "confirmed": self.confirmed,
            "failed": self.failed,
            "in_doubt": self.in_doubt,
            "requests": self.delivery.requests,
            "throttled": self.delivery.throttled,
            "request_retries": self.delivery.retries,
            "duration_seconds": round(self.duration_seconds, 3),
        }


def secret_values(destination: dict[str, Any]) -> list[str]:
    """The values of every environment variable a destination's settings name."""
    return [
        os.environ[str(variable)]
        for setting, variable in destination.items()
        if setting.endswith("_env") and os.environ.get(str(variable))
    ]


def idempotency_key(sync: str, key: str, record_hash: str, operation: str, version: str) -> str:
    """The same for every send of one change (a retry, a re-send after a crash); another for
    the next change of the record, even one back to values it had before (`version`)."""
    text = f"{sync}\0{key}\0{record_hash}\0{operation}\0{version}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Pending:
    """What the engine keeps of a record while its batch is out."""

    record_hash: str
    operation: str
    customer_id: str | None
    channel: str | None


def _batches(
    changes: ChangeSet, spec: SyncSpec, size: int
) -> Iterator[tuple[Batch, dict[str, _Pending]]]:
    """Destination batches of one operation each, at most `size` records."""
    records: list[Record] = []
    pending: dict[str, _Pending] = {}
    operation: str | None = None

    def cut() -> tuple[Batch, dict[str, _Pending]]:
        batch_id = hashlib.sha256("".join(r.idempotency_key for r in records).encode()).hexdigest()[
            :32
        ]
        return Batch(spec.name, Operation(operation), tuple(records), batch_id), pending

    for arrow_batch in changes.batches(size):
        for row in arrow_batch.to_pylist():
            if records and (row["operation"] != operation or len(records) >= size):
                yield cut()
                records, pending = [], {}
            operation = row["operation"]
            key, record_hash = row["record_key"], row["record_hash"]
            fields = json.loads(row["payload"]) if row["payload"] is not None else {}
            records.append(
                Record(
                    key,
                    fields,
                    idempotency_key(spec.name, key, record_hash, operation, row["version"]),
                )
            )
            pending[key] = _Pending(record_hash, operation, row["customer_id"], row["channel"])
    if records:
        yield cut()


class _Recorder:
    """Buffers outcomes and writes them to the state tables in transactions."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, spec: SyncSpec, secrets: list[str], eager: bool
    ) -> None:
        self.con, self.spec, self.secrets, self.eager = con, spec, secrets, eager
        self.confirmed_rows: list[tuple] = []
        self.failed_rows: list[tuple] = []
        self.confirmed = 0
        self.failed = 0
        self.in_doubt = 0
        self.last_flush = time.monotonic()

    def add(self, outcome: BatchOutcome, pending: dict[str, _Pending]) -> None:
        for key in outcome.confirmed:
            state = pending.pop(key, None)
            if state is not None:
                self.confirmed_rows.append(
                    (key, state.record_hash, state.operation, state.customer_id, state.channel)
                )
        for rejection in outcome.rejected:
            state = pending.pop(rejection.key, None)
            if state is not None:
                reason = redact(rejection.reason, self.secrets)
                self.failed_rows.append(
                    (rejection.key, state.record_hash, state.operation, reason, rejection.in_doubt)
                )
        # A record the destination neither confirmed nor rejected is not confirmed.
        for key, state in pending.items():
            self.failed_rows.append(
                (key, state.record_hash, state.operation, "not confirmed by the destination", False)
            )
        pending.clear()
        buffered = len(self.confirmed_rows) + len(self.failed_rows)
        if (
            self.eager
            or buffered >= FLUSH_RECORDS
            or time.monotonic() - self.last_flush >= FLUSH_SECONDS
        ):
            self.flush()

    def fail(self, pending: dict[str, _Pending], reason: str, in_doubt: bool = False) -> None:
        reason = redact(reason, self.secrets)
        for key, state in pending.items():
            self.failed_rows.append((key, state.record_hash, state.operation, reason, in_doubt))
        pending.clear()
        self.flush()

    def mark_in_flight(self, pending: dict[str, _Pending]) -> None:
        """Before a batch goes to a destination that is not idempotent: write it down."""
        mark_in_flight(
            self.con,
            self.spec.name,
            pa.table(
                {
                    "record_key": list(pending),
                    "record_hash": [state.record_hash for state in pending.values()],
                    "operation": [state.operation for state in pending.values()],
                }
            ),
        )

    def flush(self) -> None:
        confirmed = pa.Table.from_pylist(
            [dict(zip(CONFIRMED_SCHEMA.names, row, strict=True)) for row in self.confirmed_rows],
            schema=CONFIRMED_SCHEMA,
        )
        failed = pa.Table.from_pylist(
            [dict(zip(FAILED_SCHEMA.names, row, strict=True)) for row in self.failed_rows],
            schema=FAILED_SCHEMA,
        )
        record_outcomes(
            self.con,
            self.spec.name,
            confirmed,
            failed,
            record_sends=self.spec.frequency_cap is not None,
        )
        self.confirmed += confirmed.num_rows
        self.failed += failed.num_rows
        self.in_doubt += sum(1 for row in self.failed_rows if row[4])
        self.confirmed_rows, self.failed_rows = [], []
        self.last_flush = time.monotonic()


async def _deliver(
    changes: ChangeSet,
    spec: SyncSpec,
    destination: Destination,
    recorder: _Recorder,
    stats_out: list[DeliveryStats],
    progress: Progress | None,
) -> str | None:
    """Send every change; returns why the run stopped early, if it did."""
    limits = destination.limits
    size = min(spec.batch_size or limits.max_batch_size, limits.max_batch_size)
    workers = max(1, min(spec.concurrency or limits.concurrency, limits.concurrency))
    total = changes.counts.to_send
    queue: asyncio.Queue[tuple[Batch, dict[str, _Pending]] | None] = asyncio.Queue(workers * 2)
    done = 0
    consecutive_failures = 0
    stop_reason: str | None = None

    async with httpx.AsyncClient(
        timeout=spec.retry.timeout,
        limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
    ) as client:
        sender = Sender(
            client,
            limits,
            spec.retry,
            spec.concurrency,
            resend_unanswered=destination.idempotent,
        )
        stats_out.append(sender.stats)

        async def work() -> None:
            nonlocal done, consecutive_failures, stop_reason
            while (item := await queue.get()) is not None:
                batch, pending = item
                if stop_reason is not None:
                    continue  # not attempted: unconfirmed, so next run sends them
                if not destination.idempotent:
                    recorder.mark_in_flight(pending)
                try:
                    outcome = await destination.deliver(batch, sender)
                except DeliveryInDoubt as error:
                    recorder.fail(pending, str(error), in_doubt=True)
                except DeliveryFailed as error:
                    consecutive_failures += 1
                    recorder.fail(pending, str(error))
                    if consecutive_failures >= CIRCUIT_BREAKER_BATCHES:
                        stop_reason = f"destination unavailable: {error}"
                except ConfigurationError:
                    raise
                except Exception as error:  # a destination's bug must not lose the batch
                    consecutive_failures += 1
                    recorder.fail(pending, f"{type(error).__name__}: {error}")
                else:
                    consecutive_failures = 0
                    recorder.add(outcome, pending)
                done += len(batch.records)
                if progress:
                    progress(done, total)

        tasks = [asyncio.create_task(work()) for _ in range(workers)]
        try:
            for item in _batches(changes, spec, size):
                if stop_reason is not None:
                    break
                await queue.put(item)
                # Let the workers run while the reader waits on DuckDB.
                await asyncio.sleep(0)
        finally:
            for _ in tasks:
                await queue.put(None)
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
    recorder.flush()
    return stop_reason


def size_in_bytes(text: str) -> float | None:
    """A DuckDB size setting ('512MB', '18.8 GiB', '0 bytes') in bytes; None if unreadable."""
    found = SIZE.match(text)
    if found is None:
        return None
    unit = found[2].lower()
    if unit.startswith("byte") or unit == "b":
        return float(found[1])
    power = "kmgtp".index(unit[0]) + 1
    return float(found[1]) * (1024 if "i" in unit else 1000) ** power


@functools.cache
def default_memory_limit() -> str:
    """DuckDB's own memory limit on this machine, as it shows it."""
    with duckdb.connect() as probe:
        return str(probe.execute("select current_setting('memory_limit')").fetchall()[0][0])


@contextlib.contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """DuckDB's memory limit lowered to `limit` for the block (it applies to the whole
    database instance), then reset. Only an instance on DuckDB's default limit is touched: a
    limit its owner chose stays (DuckDB shows limits rounded, so one could not be put back
    exactly), and so does the default when DuckDB cannot free enough memory to go down."""
    previous = str(con.execute("select current_setting('memory_limit')").fetchall()[0][0])
    wanted, current = size_in_bytes(limit), size_in_bytes(previous)
    lowered = False
    if (
        previous == default_memory_limit()
        and wanted is not None
        and (current is None or wanted < current)
    ):
        try:
            con.execute(f"set memory_limit = '{limit}'")
            lowered = True
        except duckdb.OutOfMemoryException:
            log.warning("DuckDB cannot work within %s here; keeping its limit %s", limit, previous)
    try:
        yield
    finally:
        if lowered:
            con.execute("reset memory_limit")


def _start_run(con: duckdb.DuckDBPyConnection, spec: SyncSpec, run_id: str) -> None:
    con.execute(
        f"""
        insert into {SCHEMA}.sync_runs (run_id, sync_name, destination_kind, mode, dry_run,
            status, started_at)
        values (?, ?, ?, ?, false, 'running', now())
        """,
        [run_id, spec.name, spec.destination_kind, spec.mode.value],
    )


def _finish_run(con: duckdb.DuckDBPyConnection, result: SyncResult) -> None:
    counts = result.counts
    con.execute(
        f"""
        update {SCHEMA}.sync_runs set
            status = ?, finished_at = now(), duration_seconds = ?,
            source_rows = ?, holdout_skipped = ?, consent_blocked = ?, frequency_capped = ?,
            held_in_doubt = ?, added = ?, changed = ?, removed = ?, retried = ?,
            confirmed = ?, failed = ?, in_doubt = ?, requests = ?, throttled = ?,
            request_retries = ?,
            error = ?
        where run_id = ?
        """,
        [
            result.status,
            result.duration_seconds,
            counts.source_rows if counts else None,
            counts.holdout_skipped if counts else None,
            counts.consent_blocked if counts else None,
            counts.frequency_capped if counts else None,
            counts.held_in_doubt if counts else None,
            counts.added if counts else None,
            counts.changed if counts else None,
            counts.removed if counts else None,
            counts.retried if counts else None,
            result.confirmed,
            result.failed,
            result.in_doubt,
            result.delivery.requests,
            result.delivery.throttled,
            result.delivery.retries,
            result.error,
            result.run_id,
        ],
    )


def _masked_preview(changes: ChangeSet, per_operation: int) -> list[dict[str, Any]]:
    preview = []
    for row in changes.sample(per_operation):
        fields = json.loads(row["payload"]) if row["payload"] else {}
        preview.append(
            {
                "operation": row["operation"],
                "key": redact(row["record_key"]),
                "fields": {
                    name: redact(value) if isinstance(value, str) else value
                    for name, value in fields.items()
                },
            }
        )
    return preview


def check_destination(spec: SyncSpec, destination: Destination) -> None:
    if spec.mode not in destination.modes:
        raise ConfigurationError(
            f"sync '{spec.name}': {destination.kind} does not support mode {spec.mode.value} "
            f"(supports {sorted(m.value for m in destination.modes)})"
        )
    missing = sorted(destination.required_fields - set(spec.fields))
    if missing:
        raise ConfigurationError(
            f"sync '{spec.name}': {destination.kind} needs fields {missing} in `fields:`"
        )


def run_sync(
    con: duckdb.DuckDBPyConnection,
    spec: SyncSpec,
    *,
    dry_run: bool = False,
    preview_rows: int = 5,
    progress: Progress | None = None,
) -> SyncResult:
    """Run one sync against the warehouse `con` (a dry run sends nothing and writes nothing
    but the state tables' definitions)."""
    started = time.monotonic()
    run_id = str(uuid.uuid4())
    secrets = secret_values(dict(spec.destination))
    redactor = RedactingFilter(secrets)
    log.addFilter(redactor)
    HTTP_LOG.addFilter(redactor)
    reader, writer = con.cursor(), con.cursor()
    within_memory = contextlib.ExitStack()
    try:
        within_memory.enter_context(memory_limit(writer, MEMORY_LIMIT))
        destination = build_destination(spec.destination)
        check_destination(spec, destination)
        ensure_state(writer)
        if not dry_run:
            interrupted = mark_interrupted_runs(writer, spec.name)
            if interrupted:
                log.warning("sync %s: %d earlier run(s) were interrupted", spec.name, interrupted)
            unsettled = settle_interrupted_sends(writer, spec.name)
            if unsettled:
                log.warning(
                    "sync %s: %d record(s) were being sent when a run stopped; held as in doubt",
                    spec.name,
                    unsettled,
                )
            _start_run(writer, spec, run_id)
        changes = capture_changes(reader, spec)
        counts = changes.counts
        log.info(
            "sync %s: %d source rows, %d added, %d changed, %d removed, %d retried, "
            "%d holdout, %d blocked by consent, %d frequency-capped",
            spec.name,
            counts.source_rows,
            counts.added,
            counts.changed,
            counts.removed,
            counts.retried,
            counts.holdout_skipped,
            counts.consent_blocked,
            counts.frequency_capped,
        )
        if dry_run:
            return SyncResult(
                run_id,
                spec.name,
                "dry_run",
                counts,
                duration_seconds=time.monotonic() - started,
                preview=_masked_preview(changes, preview_rows),
            )
        recorder = _Recorder(writer, spec, secrets, eager=not destination.idempotent)
        stats: list[DeliveryStats] = []
        error: str | None = None
        try:
            error = asyncio.run(_deliver(changes, spec, destination, recorder, stats, progress))
        finally:
            destination.close()
        if spec.mode.value == "insert" and changes.forgotten.num_rows:
            forget_removed(writer, spec.name, changes.forgotten)
        failed = recorder.failed
        if error or (failed and not recorder.confirmed):
            status = "failed"
        elif failed:
            status = "partial"
        else:
            status = "success" if counts.to_send else "unchanged"
        result = SyncResult(
            run_id,
            spec.name,
            status,
            counts,
            confirmed=recorder.confirmed,
            failed=failed,
            in_doubt=recorder.in_doubt,
            duration_seconds=time.monotonic() - started,
            delivery=stats[0] if stats else DeliveryStats(),
            error=redact(error, secrets) if error else None,
        )
        _finish_run(writer, result)
        log.info(
            "sync %s: %s, %d confirmed, %d failed (%d in doubt), %d requests (%d throttled, "
            "%d retried) in %.1f s",
            spec.name,
            status,
            result.confirmed,
            result.failed,
            result.in_doubt,
            result.delivery.requests,
            result.delivery.throttled,
            result.delivery.retries,
            result.duration_seconds,
        )
        return result
    except Exception as error:
        if not dry_run:
            failed_result = SyncResult(
                run_id,
                spec.name,
                "failed",
                None,
                duration_seconds=time.monotonic() - started,
                error=redact(f"{type(error).__name__}: {error}", secrets),
            )
            with contextlib.suppress(duckdb.Error):
                _finish_run(writer, failed_result)
        raise
    finally:
        within_memory.close()
        log.removeFilter(redactor)
        HTTP_LOG.removeFilter(redactor)
        reader.close()
        writer.close()
