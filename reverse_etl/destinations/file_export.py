"""File export for ad platforms' customer lists: hashed identifiers, one file per batch.

Each batch becomes `<directory>/<sync>/<operation>-<batch_id>.<csv|parquet>`, written to a
temporary file in the same folder, flushed and fsynced, then atomically renamed (and the
folder fsynced); only then is the batch confirmed, so a crash never confirms rows that are not
on disk. A re-sent batch has the same id and rewrites the same file (idempotent). Deletes in
mirror mode go to `delete-<batch_id>.*` files: the removal list to upload. A delete carries
only the record's key, so each sync folder keeps `.exported-rows.json`, the row last exported
for each key (hashes only, as in the files); a removal writes that row, and the key leaves the
index. A key never exported (or exported before the index existed) has nothing to remove.

Nothing raw leaves: e-mails are trimmed and lower-cased, phone numbers brought to E.164, names
trimmed, lower-cased and stripped of spaces, and each is written only as its SHA-256 hex digest.

Field mapping (fields read; at least `email` or `phone` per record, else it is rejected):
`email`, `phone`, `first_name`, `last_name`, `country` (ISO 3166 alpha-2), `zip`.

Layouts (`platform`):
- `google` - Google Ads Customer Match upload headers
  (https://support.google.com/google-ads/answer/7659867): `Email`, `Phone`, `First Name`,
  `Last Name` hashed (phone as E.164 with `+`, names lower-cased without whitespace,
  https://developers.google.com/display-video/api/guides/tasks/upload-customer-match-audience/prepare-data),
  `Country` and `Zip` in clear.
- `meta` - Meta custom audience multi-key schema
  (https://developers.facebook.com/docs/marketing-api/custom-audience-api): `EMAIL`, `PHONE`
  (digits with country code, no `+` and no leading zeros, as Meta normalizes), `FN`, `LN`,
  `ZIP`, `COUNTRY` (lower-case) hashed, and `EXTERN_ID` (the record key, not hashed).
- `generic` (default) - `key`, `email_sha256`, `phone_sha256` (E.164 with `+`),
  `first_name_sha256`, `last_name_sha256`, `country`, `zip`.

Settings: `directory` or `directory_env` (the variable naming it; one is required), `format`
(`csv`, default, or `parquet`), `platform`,
`default_calling_code` (digits, e.g. `49`, for national numbers written with a leading 0),
`max_batch_size` (<= 100,000), `concurrency`. Does not use `send`.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from reverse_etl.destinations._common import is_e164, require_setting, resolve_limits, safe_name
from reverse_etl.destinations.base import (
    Batch,
    BatchOutcome,
    ConfigurationError,
    Destination,
    Limits,
    Mode,
    Operation,
    Record,
    Rejection,
    Send,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_NOISE = re.compile(r"[\s().\-/]")
LAYOUTS: dict[str, tuple[str, ...]] = {
    "google": ("Email", "Phone", "First Name", "Last Name", "Country", "Zip"),
    "meta": ("EMAIL", "PHONE", "FN", "LN", "ZIP", "COUNTRY", "EXTERN_ID"),
    "generic": (
        "key",
        "email_sha256",
        "phone_sha256",
        "first_name_sha256",
        "last_name_sha256",
        "country",
        "zip",
    ),
}


INDEX_NAME = ".exported-rows.json"  # per sync folder: key -> the row last exported for it


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_email(value: Any) -> str | None:
    """Trimmed and lower-cased, or None when it is not an e-mail address."""
    text = str(value).strip().lower()
    return text if EMAIL.match(text) else None


def normalize_phone(value: Any, default_calling_code: str = "") -> str | None:
    """E.164 (`+` and up to 15 digits), or None when it cannot be made one."""
    text = PHONE_NOISE.sub("", str(value).strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+"):
        if default_calling_code and text.startswith("0") and text.isdigit():
            text = "+" + default_calling_code + text.lstrip("0")  # a national number
        else:
            text = "+" + text  # digits that carry their country code
    return text if is_e164(text) else None


def normalize_name(value: Any) -> str:
    return "".join(str(value).split()).lower()


def _present(fields: Mapping[str, Any], name: str) -> bool:
    return fields.get(name) not in (None, "")


class FileExportDestination(Destination):
    kind: ClassVar[str] = "file_export"
    modes: ClassVar[frozenset[Mode]] = frozenset({Mode.UPSERT, Mode.MIRROR, Mode.INSERT})
    idempotent: ClassVar[bool] = True
    required_fields: ClassVar[frozenset[str]] = frozenset()
    default_base_url: ClassVar[str] = ""
    DOCUMENTED = Limits(max_batch_size=100_000, requests=1000, per_seconds=1.0, concurrency=2)

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        variable = settings.get("directory_env")
        folder = os.environ.get(str(variable)) if variable else None
        self.directory = Path(folder or require_setting(settings, "directory"))
        self.format = str(settings.get("format") or "csv").lower()
        if self.format not in ("csv", "parquet"):
            raise ConfigurationError("setting 'format' must be csv or parquet")
        self.platform = str(settings.get("platform") or "generic").lower()
        if self.platform not in LAYOUTS:
            raise ConfigurationError("setting 'platform' must be google, meta or generic")
        code = str(settings.get("default_calling_code") or "").lstrip("+")
        if code and not code.isdigit():
            raise ConfigurationError("setting 'default_calling_code' must be digits")
        self.calling_code = code
        self._limits = resolve_limits(self.kind, self.DOCUMENTED, settings)

    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def columns(self) -> tuple[str, ...]:
        return LAYOUTS[self.platform]

    def row(self, record: Record) -> tuple[list[str], None] | tuple[None, str]:
        """The record's row, or why it cannot be written."""
        fields = record.fields
        email = phone = None
        if _present(fields, "email"):
            email = normalize_email(fields["email"])
            if email is None:
                return None, "file_export: email is not a valid address"
        if _present(fields, "phone"):
            phone = normalize_phone(fields["phone"], self.calling_code)
            if phone is None:
                return None, "file_export: phone cannot be brought to E.164"
        if email is None and phone is None:
            return None, "file_export: needs an email or a phone"

        def hashed(value: str | None) -> str:
            return sha256_hex(value) if value else ""

        first = normalize_name(fields["first_name"]) if _present(fields, "first_name") else None
        last = normalize_name(fields["last_name"]) if _present(fields, "last_name") else None
        country = str(fields.get("country") or "").strip()
        zip_code = str(fields.get("zip") or "").strip()
        if self.platform == "google":
            return [
                hashed(email),
                hashed(phone),
                hashed(first),
                hashed(last),
                country.upper(),
                zip_code,
            ], None
        if self.platform == "meta":
            return [
                hashed(email),
                hashed(phone[1:] if phone else None),
                hashed(first),
                hashed(last),
                hashed("".join(zip_code.split()).lower() or None),
                hashed(country.lower() or None),
                record.key,
            ], None
        return [
            record.key,
            hashed(email),
            hashed(phone),
            hashed(first),
            hashed(last),
            country.upper(),
            zip_code,
        ], None

    def path_for(self, batch: Batch) -> Path:
        folder = self.directory / safe_name(batch.sync_name)
        return folder / f"{batch.operation.value}-{safe_name(batch.batch_id)}.{self.format}"

    def _encode(self, rows: list[list[str]]) -> bytes:
        if self.format == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(self.columns)
            writer.writerows(rows)
            return buffer.getvalue().encode("utf-8")
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {
            name: pa.array([row[i] for row in rows], pa.string())
            for i, name in enumerate(self.columns)
        }
        table = pa.table(columns)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()

    def write_atomically(self, path: Path, content: bytes) -> None:
        """Temporary file, fsync, rename, fsync of the folder: the file is whole or absent."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(temporary, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def _index_path(self, batch: Batch) -> Path:
        return self.directory / safe_name(batch.sync_name) / INDEX_NAME

    def _read_index(self, batch: Batch) -> dict[str, list[str]]:
        path = self._index_path(batch)
        return json.loads(path.read_text()) if path.exists() else {}

    def _removals(self, batch: Batch) -> BatchOutcome:
        """A delete batch: the rows last exported for its keys, as the removal list."""
        index = self._read_index(batch)
        keys = [record.key for record in batch.records]
        rows = [index[key] for key in keys if key in index]
        if rows:
            self.write_atomically(self.path_for(batch), self._encode(rows))
            for key in keys:
                index.pop(key, None)
            self.write_atomically(self._index_path(batch), json.dumps(index).encode())
        return BatchOutcome(confirmed=keys)

    def _deliver(self, batch: Batch) -> BatchOutcome:
        if batch.operation is Operation.DELETE:
            return self._removals(batch)
        outcome = BatchOutcome()
        rows: dict[str, list[str]] = {}
        for record in batch.records:
            row, problem = self.row(record)
            if row is None:
                outcome.rejected.append(Rejection(record.key, str(problem)))
            else:
                rows[record.key] = row
        if rows:
            self.write_atomically(self.path_for(batch), self._encode(list(rows.values())))
            index = self._read_index(batch) | rows
            self.write_atomically(self._index_path(batch), json.dumps(index).encode())
        outcome.confirmed.extend(rows)
        return outcome

    async def deliver(self, batch: Batch, send: Send) -> BatchOutcome:
        return await asyncio.to_thread(self._deliver, batch)
