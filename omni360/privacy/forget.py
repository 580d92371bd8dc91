"""`omni360 forget`: erase one person everywhere, and prove it.

1. resolve the identifier to the person through the identity graph (`person.resolve`);
2. ask every destination that can delete a user to delete them, and forget them in the sync
   state (`reverse_etl.erasure`): done first, while the warehouse still knows their customer
   ids and record keys;
3. remove them from the warehouse and suppress them (`erase.erase_person`), and write the audit
   row, in one transaction; then checkpoint, so the removed rows leave the database file's
   write-ahead log;
4. optionally (`verify`) search every table for what identified them (`search.find_mentions`).

A destination that could not be reached keeps what it needs for a retry in
`privacy.pending_erasures` (the person's customer ids, e-mails and phones: the only copy left,
kept for that purpose alone) until `retry_pending` gets it accepted. `dry_run` runs step 3 in a
transaction that is rolled back: the exact counts, nothing changed, no destination called.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from omni360.db import connect
from omni360.privacy.erase import Erased, erase_person
from omni360.privacy.person import Person, resolve
from omni360.privacy.schema import ERASURES, SCHEMA, ensure_privacy_schema, hashed_sql, salt
from omni360.privacy.search import find_mentions
from reverse_etl.config import SyncSpec
from reverse_etl.destinations.base import ErasureSubject
from reverse_etl.erasure import DestinationErasure, erase_at_destinations

PENDING = f"{SCHEMA}.pending_erasures"
PENDING_DDL = f"""
create table if not exists {PENDING} (
    erasure_id varchar primary key,
    subject json not null,
    destinations json not null,
    failed_at timestamp not null
)"""


@dataclass
class ForgetReport:
    """What one erasure found and did (no identifier in it: the audit's salted hash only)."""

    erasure_id: str
    identifier_hash: str
    status: str  # erased | not_found | destinations_pending | dry_run
    customers: int
    identifiers: int
    records: int
    erased: Erased
    destinations: list[DestinationErasure] = field(default_factory=list)
    remaining: dict[str, int] | None = None  # verify: rows still mentioning the person

    @property
    def pending(self) -> list[DestinationErasure]:
        return [d for d in self.destinations if d.needs_retry]


def _subject(erasure_id: str, person: Person) -> ErasureSubject:
    return ErasureSubject(
        erasure_id=erasure_id,
        customer_ids=tuple(sorted(person.customer_ids)),
        emails=tuple(person.values("email")),
        phones=tuple(person.values("phone")),
        record_keys=(),
    )


def _status(person: Person, destinations: list[DestinationErasure], dry_run: bool) -> str:
    if dry_run:
        return "dry_run"
    if not person.found:
        return "not_found"
    return "destinations_pending" if any(d.needs_retry for d in destinations) else "erased"


def _audit(
    con: duckdb.DuckDBPyConnection, report: ForgetReport, identifier_type: str | None
) -> None:
    con.execute(
        f"""
        insert into {ERASURES} values (
            ?, now()::timestamp, now()::timestamp, ?, ?, ?, ?, ?, ?, ?, ?, ?
        )""",
        [
            report.erasure_id,
            identifier_type,
            report.identifier_hash,
            report.status,
            report.customers,
            report.identifiers,
            report.records,
            report.erased.rows,
            json.dumps(report.erased.rows_by_table, sort_keys=True),
            json.dumps([asdict(d) for d in report.destinations]),
        ],
    )


def _keep_pending(
    con: duckdb.DuckDBPyConnection, subject: ErasureSubject, pending: list[DestinationErasure]
) -> None:
    con.execute(PENDING_DDL)
    con.execute(
        f"insert or replace into {PENDING} values (?, ?, ?, now()::timestamp)",
        [subject.erasure_id, json.dumps(asdict(subject)), json.dumps([d.kind for d in pending])],
    )


def forget(
    db_path: Path,
    identifier: str,
    identifier_type: str | None = None,
    *,
    syncs: list[SyncSpec] | None = None,
    dry_run: bool = False,
    verify: bool = False,
) -> ForgetReport:
    """Erase the person `identifier` names from the warehouse, the sync state and the
    destinations of `syncs` (none: the warehouse alone)."""
    erasure_id = f"erasure-{uuid.uuid4().hex[:16]}"
    con = connect(db_path)
    try:
        ensure_privacy_schema(con)
        person = resolve(con, identifier, identifier_type)
        identifier_hash = con.execute(
            f"select {hashed_sql('?', salt(con))}", [identifier]
        ).fetchone()[0]
        subject = _subject(erasure_id, person)
        destinations = (
            erase_at_destinations(con, syncs, subject)
            if syncs and person.customer_ids and not dry_run
            else []
        )
        con.execute("begin transaction")
        try:
            erased = erase_person(con, person, identifier, erasure_id)
            report = ForgetReport(
                erasure_id,
                identifier_hash,
                _status(person, destinations, dry_run),
                len(person.customer_ids),
                len(person.identifiers),
                len(person.records),
                erased,
                destinations,
            )
            if dry_run:
                con.execute("rollback")
            else:
                _audit(con, report, identifier_type or _resolved_type(person))
                if report.pending:
                    _keep_pending(con, subject, report.pending)
                con.execute("commit")
                con.execute("checkpoint")
        except BaseException:
            con.execute("rollback")
            raise
        if verify:
            needles = {v for _, v in person.identifiers} | person.customer_ids | {identifier}
            report.remaining = find_mentions(con, needles, person.node_ids)
        return report
    finally:
        con.close()


def _resolved_type(person: Person) -> str | None:
    kinds = {t for t, _ in person.identifiers}
    return person.given_type or (next(iter(kinds)) if len(kinds) == 1 else None)


def retry_pending(
    db_path: Path, syncs: list[SyncSpec]
) -> list[tuple[str, list[DestinationErasure]]]:
    """Send again the erasures some destination did not accept; drop those now accepted."""
    con = connect(db_path)
    try:
        ensure_privacy_schema(con)
        con.execute(PENDING_DDL)
        results = []
        for erasure_id, subject_json in con.execute(
            f"select erasure_id, subject from {PENDING} order by failed_at"
        ).fetchall():
            fields = json.loads(subject_json)
            subject = ErasureSubject(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
            )
            reports = erase_at_destinations(con, syncs, subject)
            if not any(r.needs_retry for r in reports):
                con.execute(f"delete from {PENDING} where erasure_id = ?", [erasure_id])
                con.execute(
                    f"update {ERASURES} set status = 'erased', completed_at = now()::timestamp "
                    "where erasure_id = ?",
                    [erasure_id],
                )
            results.append((erasure_id, reports))
        return results
    finally:
        con.close()
