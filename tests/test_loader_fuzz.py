"""Property-based fuzzing of the loader: whatever lands, it never raises and loses no line.

Hypothesis writes landing files for every source of the contract in its real formats (CSV, gzip
CSV and Parquet for the tabular sources; JSONL and gzip JSONL for events) from rows and lines
whose fate it knows:

- valid rows (enums in any case and padding, every timestamp style of the contract, decimals,
  integers, survey scores in their scale), with arbitrary text in the free-text columns and
  event properties: NUL, BOM, bidi marks, zero-width and combining marks, emoji, astral
  letters, every kind of line break, quotes and delimiters, very long values;
- rows with predictable contract violations (a required field empty, a value outside an enum,
  an unparseable or impossible timestamp or date, a bad decimal or integer, a score outside its
  scale; for events every rule of the contract), and rows with arbitrary text where the
  contract validates (their fate is not predicted, only counted);
- headers with missing and extra columns, names in other case and padding, empty and repeated
  names; ragged CSV lines, binary garbage lines, blank lines, lines of spaces;
- invalid JSON, JSON that is not an object, deeply nested JSON, NUL bytes in a line;
- duplicate rows within and across files (also with other values in extra columns) and
  duplicate messageIds (also padded, also a number);
- files that cannot be read at all: not gzip, gzip cut short, not Parquet, and gzip headers
  followed by garbage (those may inflate to something: then that is loaded and reconciled);
- file names with glob characters (`part_?`, `part_*`, `part_[01]`) beside the names they
  match, in the source folder and in a sub-folder.

Each example loads one source's files into a DuckDB file (one for the module, emptied before
every example) with the real loader, batched (`load_landing`) or file by file (`load_file`),
and proves:

- the loader never raises; an unreadable file is logged `failed` with an error and leaves no
  row in raw or the quarantine; a second run reads no loaded file again;
- rows_read is the number of records written, rows_read = loaded + quarantined + duplicates,
  and `raw.<source>` / `raw._quarantine` hold exactly rows_loaded / rows_quarantined rows of
  the file (nothing silently dropped); every quarantine reason is non-empty;
- a valid row is loaded with its values as delivered, or counted duplicate when an identical
  record (every contract column; for events the messageId) was loaded before it, and no record
  is loaded twice; a row with a predictable violation is quarantined with a reason that names
  every violation; where line numbers are predictable, every record lands on its own line.

What a record is (what the loader does, as the contract says):

- CSV (LF or CRLF line breaks, with or without a BOM): the header is line 1 and no record; a
  record is a line, or several when a quoted field spans line breaks, and takes the next line
  number (the first record is line 2). An empty line is no record when the header has several
  columns (DuckDB skips it, and its clean rows are then numbered as if it were not there while
  its rejected lines are not: such a file's line numbers are not checked); under a one-column
  header every line is a record, an empty one holding an empty value. A line with fewer or more
  fields than the header is malformed, except that surplus fields that are all empty (a
  trailing comma) are dropped by DuckDB: the line is a record. A file whose first line is empty
  has no header, and after a BOM DuckDB misreads a quoted first column name (one holding a
  comma, quote or line break): both fail.
- JSONL: every line is a record except empty lines and lines of spaces, which keep their line
  number; the first line is line 1.
- Parquet: every row is a record, numbered from 1.

Hypothesis is derandomized (the same examples on every run) and keeps no example database. The
tests at the end are plain regressions of what the fuzzing found wrong in the loader.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omni360.contract import EVENT_TYPES, SOURCES, SURVEY_SCALES, Column, Kind, Source
from omni360.db import connect
from omni360.ingestion.discovery import discover
from omni360.ingestion.loader import FileLoad, load_file, load_landing
from omni360.ingestion.schema import LOAD_LOG_TABLE, QUARANTINE_TABLE, ensure_raw_schema, raw_table

TABULAR = [name for name, source in SOURCES.items() if not source.is_events]
# The suite's share. A longer campaign: `OMNI360_FUZZ_SCALE=20` asks for twenty times as many
# examples (derandomized still: the same ones on every run at that scale).
SCALE = int(os.environ.get("OMNI360_FUZZ_SCALE", "1"))
EXAMPLES_PER_TABULAR_SOURCE = 10 * SCALE
EXAMPLES_FOR_EVENTS = 32 * SCALE
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
MALFORMED = "malformed line: "
NOT_AN_OBJECT = "not a JSON object"
LACKS = "file lacks required column(s)"

# ---------------------------------------------------------------------------------------------
# Text

# Characters that trip readers up: NUL, BOM, bidi marks, zero-width and combining marks, emoji
# (also joined), astral letters, line breaks of every kind, quotes, delimiters, escapes.
ODD_CHARACTERS = (
    "\x00",
    "\ufeff",
    "\u200f",
    "\u202e",
    "\u2067",
    "\u200b",
    "\u0301",
    "😀",
    "👩\u200d👩\u200d👧",
    "𝔘",
    "\r",
    "\n",
    "\r\n",
    "\u2028",
    "\x85",
    '"',
    '""',
    "'",
    ",",
    ";",
    "\t",
    "\\",
    "\x1b",
    "\x7f",
    "中",
    "İ",
)
ODD = st.sampled_from(ODD_CHARACTERS)
# Any text of Unicode scalar values (st.text never draws surrogates), often with odd ones.
SHORT_TEXT = st.one_of(
    st.text(max_size=12),
    st.builds(lambda a, odd, b: a + odd + b, st.text(max_size=6), ODD, st.text(max_size=6)),
    st.lists(ODD, max_size=4).map("".join),
)
LONG_TEXT = st.builds(
    lambda piece, times: piece * times,
    st.one_of(st.text(min_size=1, max_size=4), ODD),
    st.integers(256, 5_000),
)
TEXT = st.one_of(SHORT_TEXT, SHORT_TEXT, SHORT_TEXT, LONG_TEXT)
# Text that no contract rule accepts where it validates (no enum value, date or number starts
# with an x).
X_TEXT = st.builds(lambda text: "x" + text, SHORT_TEXT)
SPACES = st.sampled_from(("", "", " ", "   "))
BLANK = st.sampled_from((None, "", " ", "   "))


def padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The values with spaces around them (the loader trims before it validates)."""
    return st.builds(lambda left, value, right: left + value + right, SPACES, values, SPACES)


def enum_values(allowed: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Allowed values in any case and padding (they match ignoring both)."""
    cases = st.sampled_from((str, str.upper, str.title))
    return padded(st.builds(lambda value, case: case(value), st.sampled_from(allowed), cases))


TIMESTAMP_STYLES = (
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S+03:00",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y-%m-%d",
)
TIMESTAMPS = st.builds(
    datetime.strftime,
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2025, 12, 31)),
    st.sampled_from(TIMESTAMP_STYLES),
)
BAD_TIMESTAMPS = st.one_of(
    st.sampled_from(
        (
            "2026-02-30T10:00:00Z",
            "1969-12-31T23:59:59Z",
            "2026-10-01T25:00:00",
            "01/10/2026",
            "9999-12-31T00:00:00Z",
            "2999-01-01",
            "not a time",
        )
    ),
    st.builds("2026-{:02d}-01T00:00:00Z".format, st.integers(13, 99)),
    X_TEXT,
)
DATES = st.dates(date(1900, 1, 2), date(2025, 12, 31)).map(date.isoformat)
BAD_DATES = st.one_of(
    st.sampled_from(("2026-02-30", "1899-12-31", "2026-13-01", "20261001", "2999-01-01")),
    X_TEXT,
)
DECIMALS = st.builds(
    lambda units, places: format(Decimal(units).scaleb(-places), "f"),
    st.integers(-(10**14), 10**14),
    st.integers(0, 6),
)
BAD_DECIMALS = st.one_of(
    st.sampled_from(("abc", "12,5", "1.2.3", "NaN", "--1", "1e", "9" * 33)), X_TEXT
)
INTEGERS = st.integers(-(2**62), 2**62).map(str)
BAD_INTEGERS = st.one_of(
    st.sampled_from(("2.5", "two", "1.5e0", "0.1", "-7.25", "9223372036854775808")), X_TEXT
)
BAD_ENUM_VALUES = st.one_of(st.sampled_from(("shipped", "pigeon", "unknown", "e-mail")), X_TEXT)
# Required identifiers: a few shared ones (duplicates) and arbitrary text behind a letter.
REQUIRED_TEXT = st.one_of(
    st.sampled_from(("a", "b", "c")), st.builds(lambda text: "k" + text, TEXT)
)

# ---------------------------------------------------------------------------------------------
# What a record must become


class Fate(StrEnum):
    VALID = "valid"  # loaded, or a duplicate of an identical record loaded before
    INVALID = "invalid"  # quarantined, with a reason that holds every phrase
    UNKNOWN = "unknown"  # arbitrary values where the contract validates: only counted


@dataclass(frozen=True)
class Expected:
    fate: Fate
    key: object = None  # the record's identity: contract columns as stored, or the messageId
    phrases: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class Drop:
    """One landing file and what each of its records must become."""

    relative: str
    data: bytes
    records: tuple[Expected, ...] = ()
    readable: bool | None = True  # None: a corrupt gzip that may still inflate to something
    numbered: bool = True  # whether the loader's line numbers are predictable

    def __repr__(self) -> str:
        fates = dict(Counter(record.fate.value for record in self.records))
        return (
            f"Drop({self.relative!r}, {len(self.data)} bytes, {fates}, "
            f"readable={self.readable}, numbered={self.numbered})"
        )


# ---------------------------------------------------------------------------------------------
# Tabular rows


@dataclass(frozen=True)
class Cell:
    value: str | None  # as written (None: an empty CSV field, a Parquet null)
    phrase: str | None = None  # the violation it makes
    wild: bool = False  # arbitrary text where the contract validates


Row = dict[str, Cell]  # every contract column of the source


def validated(column: Column) -> bool:
    return column.required or column.kind is not Kind.TEXT or bool(column.allowed)


def valid_cells(column: Column) -> st.SearchStrategy[Cell]:
    if column.allowed:
        values = enum_values(column.allowed)
    elif column.kind is Kind.TIMESTAMP:
        values = padded(TIMESTAMPS)
    elif column.kind is Kind.DATE:
        values = padded(DATES)
    elif column.kind is Kind.DECIMAL:
        values = padded(DECIMALS)
    elif column.kind is Kind.INTEGER:
        values = padded(INTEGERS)
    elif column.required:
        values = REQUIRED_TEXT
    else:
        values = TEXT
    if not column.required:
        values = st.one_of(values, BLANK)
    return values.map(Cell)


def bad_cells(column: Column) -> st.SearchStrategy[Cell]:
    """Values that break the column's rule, each with the phrase the reason must hold."""
    name = column.name
    options = []
    if column.required:
        options.append(BLANK.map(lambda v: Cell(v, f"missing required field {name}")))
    if column.allowed:
        options.append(BAD_ENUM_VALUES.map(lambda v: Cell(v, f"unknown {name} '")))
    typed = {
        Kind.TIMESTAMP: (BAD_TIMESTAMPS, "bad timestamp"),
        Kind.DATE: (BAD_DATES, "bad date"),
        Kind.DECIMAL: (BAD_DECIMALS, "not a decimal"),
        Kind.INTEGER: (BAD_INTEGERS, "not an integer"),
    }
    if column.kind in typed:
        values, phrase = typed[column.kind]
        options.append(padded(values).map(lambda v: Cell(v, f"{phrase} in {name}: '")))
    return st.one_of(options)


def clean(cell: Cell) -> bool:
    return cell.phrase is None and not cell.wild


@st.composite
def survey_scores(draw: st.DrawFn, row: Row) -> Cell:
    """A score in the scale of the row's survey type, or outside it; unchanged when the type
    or the score already breaks a rule (no scale applies then)."""
    kind, score = row["survey_type"], row["score"]
    if not (clean(kind) and clean(score)) or not (kind.value or "").strip():
        return score
    survey = kind.value.strip().lower()
    low, high = SURVEY_SCALES[survey]
    if draw(st.integers(0, 3)):
        return Cell(draw(padded(st.integers(low, high).map(str))))
    outside = draw(st.one_of(st.integers(high + 1, 1000), st.integers(-1000, low - 1)))
    return Cell(str(outside), f"score out of range for {survey}")


@st.composite
def tabular_rows(draw: st.DrawFn, source: Source) -> Row:
    """A row of every contract column: valid, with 1-3 violations, or with arbitrary text in
    1-2 validated columns."""
    row = {column.name: draw(valid_cells(column)) for column in source.columns}
    checked = [column for column in source.columns if validated(column)]
    pick = st.lists(st.sampled_from(checked), min_size=1, max_size=3, unique_by=lambda c: c.name)
    fate = draw(st.sampled_from(("valid", "valid", "invalid", "wild")))
    if fate == "invalid":
        for column in draw(pick):
            row[column.name] = draw(bad_cells(column))
    elif fate == "wild":
        for column in draw(pick)[:2]:
            row[column.name] = Cell(draw(TEXT), wild=True)
    if source.name == "survey_responses":
        row["score"] = draw(survey_scores(row))
    return row


@dataclass(frozen=True)
class Header:
    names: tuple[str, ...]  # as written
    columns: tuple[str | None, ...]  # the contract column each name carries (None: an extra)

    @property
    def present(self) -> set[str]:
        return {column for column in self.columns if column}


EXTRA_NAMES = st.one_of(
    st.sampled_from(("", "", "till operator", "_extra", "_line", "_k", "_record_hash", "column2")),
    SHORT_TEXT,
)


@st.composite
def headers(draw: st.DrawFn, source: Source) -> Header:
    """Contract columns (some may be missing; names in other case and padding), extra columns
    (empty, repeated, any text), shuffled; then names equal to a present column but for case,
    which the loader keeps as extras."""
    contract = set(source.column_names)
    dropped = (
        draw(st.sets(st.sampled_from(source.column_names))) if draw(st.integers(0, 3)) else set()
    )
    present = [name for name in source.column_names if name not in dropped]
    variants = (str, str.upper, str.title, lambda n: f" {n} ", lambda n: f"{n.upper()}  ")
    written = [(draw(st.sampled_from(variants))(name), name) for name in present]
    extras = draw(
        st.lists(
            EXTRA_NAMES.filter(
                lambda n: n.strip().lower() not in contract and not n.startswith("\ufeff")
            ),
            max_size=3,
        )
    )
    pairs = draw(st.permutations(written + [(name, None) for name in extras]))
    if present:
        pairs += [
            (name.upper(), None) for name in draw(st.lists(st.sampled_from(present), max_size=2))
        ]
    if not pairs or (len(pairs) == 1 and not pairs[0][0]):  # else line 1 would be empty
        pairs = [("note", None)]
    return Header(tuple(n for n, _ in pairs), tuple(c for _, c in pairs))


def expect_row(
    source: Source, row: Row, present: set[str], stored: Callable[[str, str | None], object]
) -> Expected:
    """What the row becomes in a file with the `present` contract columns (no line yet)."""
    missing = [c.name for c in source.columns if c.required and c.name not in present]
    phrases = [LACKS] if missing else []
    wild = False
    for column in source.columns:
        if column.name not in present:
            continue
        cell = row[column.name]
        if cell.phrase and not (cell.phrase.startswith("score out of") and missing):
            phrases.append(cell.phrase)
        wild = wild or cell.wild
    key = tuple(
        stored(c.name, row[c.name].value) if c.name in present else None for c in source.columns
    )
    fate = Fate.INVALID if phrases else Fate.UNKNOWN if wild else Fate.VALID
    return Expected(fate, key, tuple(phrases))


# ---------------------------------------------------------------------------------------------
# CSV


def csv_field(value: str | None, quote_all: bool) -> str:
    text = value or ""
    if quote_all or any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(fields: list[str | None], quote_all: bool) -> bytes:
    return ",".join(csv_field(field, quote_all) for field in fields).encode()


@dataclass(frozen=True)
class RowLine:
    row: Row
    extras: tuple[str, ...]  # values of the header's extra columns


@dataclass(frozen=True)
class RawLine:
    data: bytes
    kind: str  # ragged | garbage | empty


@st.composite
def ragged_lines(draw: st.DrawFn, width: int) -> RawLine:
    """A line with fewer or more fields than the header (never an empty line). A surplus of
    empty fields only (a trailing comma) holds nothing, and DuckDB reads such a line as a
    record: the last field is never empty."""
    counts = [n for n in range(1, width + 4) if n != width]
    count = draw(st.sampled_from(counts))
    fields = draw(st.lists(SHORT_TEXT, min_size=count, max_size=count))
    if not fields[-1]:
        fields[-1] = "?"
    return RawLine(csv_line(fields, draw(st.booleans())), "ragged")


# Bytes that are not UTF-8 (a lone 0xff can never be), without line breaks or quotes.
GARBAGE = st.builds(
    lambda head, tail: head + b"\xff" + tail,
    st.binary(max_size=30).map(lambda b: bytes(x for x in b if x not in b'\r\n"')),
    st.binary(max_size=30).map(lambda b: bytes(x for x in b if x not in b'\r\n"')),
)


@st.composite
def csv_lines(
    draw: st.DrawFn, source: Source, pool: list[Row], width: int, extras: int
) -> RowLine | RawLine:
    kind = draw(st.sampled_from(("pool", "pool", "fresh", "fresh", "odd")))
    if kind == "odd":
        return draw(
            st.one_of(
                ragged_lines(width),
                GARBAGE.map(lambda data: RawLine(data, "garbage")),
                st.just(RawLine(b"", "empty")),
            )
        )
    row = draw(st.sampled_from(pool)) if kind == "pool" else draw(tabular_rows(source))
    values = draw(st.lists(TEXT, min_size=extras, max_size=extras))
    return RowLine(row, tuple(values))


def csv_stored(_: str, value: str | None) -> str | None:
    """A CSV field as DuckDB stores it: empty (quoted or not) is null."""
    return value or None


@st.composite
def csv_drops(draw: st.DrawFn, source: Source, pool: list[Row], stem: str) -> Drop:
    header = draw(headers(source))
    width = len(header.names)
    extras = sum(column is None for column in header.columns)
    items = draw(st.lists(csv_lines(source, pool, width, extras), max_size=10))
    quote_all = draw(st.booleans())
    terminator = draw(st.sampled_from((b"\n", b"\r\n")))
    lines = [csv_line(list(header.names), quote_all)]
    records: list[Expected] = []
    numbered = True
    for item in items:
        if isinstance(item, RawLine):
            lines.append(item.data)
            if item.kind != "empty":
                records.append(Expected(Fate.INVALID, phrases=(MALFORMED,)))
            elif width == 1:  # the empty value of the one column: no required field
                records.append(Expected(Fate.INVALID))
            else:  # skipped by the reader
                numbered = False
            continue
        extra_values = iter(item.extras)
        fields = [item.row[c].value if c else next(extra_values) for c in header.columns]
        lines.append(csv_line(fields, quote_all))
        records.append(expect_row(source, item.row, header.present, csv_stored))
    records = [replace(record, line=1 + n) for n, record in enumerate(records, start=1)]
    final = draw(st.booleans()) or lines[-1] == b""
    data = terminator.join(lines) + (terminator if final else b"")
    readable = True
    if draw(st.integers(0, 9)) == 0:  # no header on line 1: unreadable
        data, readable = terminator + data, False
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
        if any(ch in header.names[0] for ch in ',"\r\n'):  # DuckDB would misread: refused
            readable = False
    gz = draw(st.booleans())
    relative = f"{source.name}/{stem}.csv" + (".gz" if gz else "")
    return Drop(relative, gzip.compress(data) if gz else data, tuple(records), readable, numbered)


# ---------------------------------------------------------------------------------------------
# Parquet


TYPED_EXTRAS = st.sampled_from(
    (
        (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
        (pa.float64(), st.floats()),
        (pa.bool_(), st.booleans()),
        (pa.binary(), st.binary(max_size=20)),
        (pa.list_(pa.string()), st.lists(SHORT_TEXT, max_size=3)),
        (
            pa.struct([("a", pa.string()), ("b", pa.int32())]),
            st.fixed_dictionaries({"a": SHORT_TEXT, "b": st.integers(-(2**31), 2**31 - 1)}),
        ),
        (pa.timestamp("us"), st.datetimes()),
    )
)


def integer_column(rows: list[Row], name: str) -> bool:
    """Whether the column can be written as int64: every value a clean integer."""
    return all(clean(row[name]) and (row[name].value or "").strip() for row in rows)


@st.composite
def parquet_drops(draw: st.DrawFn, source: Source, pool: list[Row], stem: str) -> Drop:
    header = draw(headers(source))
    rows = draw(st.lists(st.one_of(st.sampled_from(pool), tabular_rows(source)), max_size=10))
    typed = {
        c.name
        for c in source.columns
        if c.kind is Kind.INTEGER
        and c.name in header.present
        and integer_column(rows, c.name)
        and draw(st.booleans())
    }
    arrays = []
    for column in header.columns:
        if column in typed:
            arrays.append(pa.array([int(row[column].value) for row in rows], pa.int64()))
        elif column:
            arrays.append(pa.array([row[column].value for row in rows], pa.string()))
        else:
            kind, values = draw(st.one_of(st.just((pa.string(), TEXT)), TYPED_EXTRAS))
            column_values = draw(
                st.lists(st.one_of(st.none(), values), min_size=len(rows), max_size=len(rows))
            )
            arrays.append(pa.array(column_values, kind))
    table = pa.Table.from_arrays(arrays, names=list(header.names))
    buffer = io.BytesIO()
    pq.write_table(table, buffer)

    def stored(name: str, value: str | None) -> str | None:
        return str(int(value)) if name in typed and value is not None else value

    records = tuple(
        replace(expect_row(source, row, header.present, stored), line=n)
        for n, row in enumerate(rows, start=1)
    )
    return Drop(f"{source.name}/{stem}.parquet", buffer.getvalue(), records)


# ---------------------------------------------------------------------------------------------
# Events (JSONL)


EVENT_KEYS = ("messageId", "type", "event", "timestamp", "anonymousId", "userId")
MESSAGE_IDS = tuple(f"m{n}" for n in range(5))
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        TEXT,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(SHORT_TEXT, children, max_size=3)
    ),
    max_leaves=8,
)
# How a field can be absent: not there, null, empty, spaces.
ABSENT = st.sampled_from(("drop", None, "", "   "))


@dataclass(frozen=True)
class EventLine:
    data: bytes
    expected: Expected | None  # None: a blank line, no record


def message_key(message_id: str | int) -> str:
    return str(message_id).strip(" ")


@st.composite
def valid_events(draw: st.DrawFn) -> dict:
    """A Segment event that breaks no rule, with arbitrary properties, traits and context."""
    message_id = draw(st.one_of(padded(st.sampled_from(MESSAGE_IDS)), st.integers(100, 102)))
    event_type = draw(enum_values(EVENT_TYPES))
    event: dict = {"messageId": message_id, "type": event_type, "timestamp": draw(TIMESTAMPS)}
    ids = draw(st.sampled_from((("userId",), ("anonymousId",), ("userId", "anonymousId"))))
    for name in ("userId", "anonymousId"):
        if name in ids:
            event[name] = draw(st.builds(lambda text: "u" + text, TEXT))
        else:
            absent = draw(ABSENT)
            if absent != "drop":
                event[name] = absent
    if event_type.strip().lower() == "track" or draw(st.booleans()):
        event["event"] = draw(st.builds(lambda text: "E" + text, TEXT))
    for name in draw(st.lists(st.sampled_from(("properties", "traits", "context")), unique=True)):
        event[name] = draw(JSON_VALUES)
    others = st.dictionaries(SHORT_TEXT.filter(lambda k: k not in EVENT_KEYS), JSON_VALUES)
    return {**draw(others), **event}


def absent(event: dict, name: str, how: str | None) -> None:
    if how == "drop":
        event.pop(name, None)
    else:
        event[name] = how


# Violations of the events contract, each with the phrase the reason must hold. At most one of
# each exclusive group (a type missing or unknown is no track event).
VIOLATIONS = {
    "messageId": "missing required field messageId",
    "type": "missing required field type",
    "unknown type": "unknown type '",
    "track": "track event without event name",
    "timestamp": "missing required field timestamp",
    "bad timestamp": "bad timestamp '",
    "ids": "neither anonymousId nor userId",
}
EXCLUSIVE = (("type", "unknown type", "track"), ("timestamp", "bad timestamp"))


@st.composite
def invalid_events(draw: st.DrawFn) -> tuple[dict, tuple[str, ...]]:
    event = draw(valid_events())
    chosen = draw(st.lists(st.sampled_from(list(VIOLATIONS)), min_size=1, max_size=3, unique=True))
    for group in EXCLUSIVE:
        clash = [v for v in chosen if v in group][1:]
        chosen = [v for v in chosen if v not in clash]
    for violation in chosen:
        if violation in ("messageId", "type", "timestamp"):
            absent(event, violation, draw(ABSENT))
        elif violation == "unknown type":
            event["type"] = draw(BAD_ENUM_VALUES)
        elif violation == "track":
            event["type"] = draw(enum_values(("track",)))
            absent(event, "event", draw(ABSENT))
        elif violation == "bad timestamp":
            event["timestamp"] = draw(st.one_of(padded(BAD_TIMESTAMPS), st.integers(0, 2**40)))
        else:
            absent(event, "userId", draw(ABSENT))
            absent(event, "anonymousId", draw(ABSENT))
    return event, tuple(VIOLATIONS[v] for v in chosen)


def nested(depth: int) -> str:
    return '{"a":' * depth + "null" + "}" * depth


@st.composite
def json_text(draw: st.DrawFn, value: object) -> str:
    """The value as one JSON line: ASCII or raw UTF-8, compact or spaced."""
    separators = draw(st.sampled_from(((",", ":"), (", ", ": "))))
    return json.dumps(value, ensure_ascii=draw(st.booleans()), separators=separators)


@st.composite
def event_lines(draw: st.DrawFn) -> EventLine:
    kind = draw(
        st.sampled_from(
            (
                "valid",
                "valid",
                "valid",
                "deep",
                "invalid",
                "invalid",
                "wild field",
                "wild object",
                "not an object",
                "cut",
                "text",
                "nul",
                "garbage",
                "blank",
            )
        )
    )
    if kind == "blank":
        return EventLine(draw(st.sampled_from((b"", b" ", b"    "))), None)
    if kind == "garbage":
        return EventLine(draw(GARBAGE), Expected(Fate.INVALID, phrases=(MALFORMED,)))
    if kind == "not an object":
        value = draw(
            st.one_of(
                st.lists(JSON_VALUES, max_size=3), TEXT, st.integers(), st.booleans(), st.none()
            )
        )
        text = draw(json_text(value))
        return EventLine(text.encode(), Expected(Fate.INVALID, phrases=(NOT_AN_OBJECT,)))
    if kind == "text":  # any text at all (not blank, one line): never a valid event
        text = draw(
            st.builds(lambda a, b: a + "~" + b, SHORT_TEXT, SHORT_TEXT).filter(
                lambda t: not any(ch in t for ch in "\r\n\x00") and not t.startswith("\ufeff")
            )
        )
        return EventLine(text.encode(), Expected(Fate.INVALID))
    if kind == "wild object":
        value = draw(st.dictionaries(SHORT_TEXT, JSON_VALUES, max_size=5))
        expected = (
            Expected(Fate.UNKNOWN)
            if "messageId" in value
            else Expected(Fate.INVALID, phrases=(VIOLATIONS["messageId"],))
        )
        return EventLine(draw(json_text(value)).encode(), expected)
    if kind in ("invalid", "cut", "nul"):
        event, phrases = draw(invalid_events())
        text = draw(json_text(event))
        if kind == "cut":  # a truncated object is no JSON
            cut = draw(st.integers(1, len(text) - 1))
            return EventLine(text[:cut].encode(), Expected(Fate.INVALID, phrases=(NOT_AN_OBJECT,)))
        if kind == "nul":  # a NUL byte splits the line for the reader (one at the very end
            # would leave an empty last field, which DuckDB drops)
            at = draw(st.integers(0, len(text) - 1))
            data = (text[:at] + "\x00" + text[at:]).encode()
            return EventLine(data, Expected(Fate.INVALID, phrases=(MALFORMED,)))
        return EventLine(text.encode(), Expected(Fate.INVALID, phrases=phrases))
    event = draw(valid_events())
    if kind == "wild field":
        event[draw(st.sampled_from(EVENT_KEYS))] = draw(JSON_VALUES)
        return EventLine(draw(json_text(event)).encode(), Expected(Fate.UNKNOWN))
    text = draw(json_text(event))
    if kind == "deep":  # nesting deeper than any recursive parser would go
        depth = draw(st.integers(1, 3000))
        text = text[:-1] + ', "nested": ' + nested(depth) + "}"
    text = draw(padded(st.just(text)))
    return EventLine(text.encode(), Expected(Fate.VALID, message_key(event["messageId"])))


@st.composite
def jsonl_drops(draw: st.DrawFn, pool: list[EventLine], stem: str) -> Drop:
    items = draw(st.lists(st.one_of(st.sampled_from(pool), event_lines()), max_size=12))
    terminator = draw(st.sampled_from((b"\n", b"\r\n")))
    records = tuple(
        replace(item.expected, line=n)
        for n, item in enumerate(items, start=1)
        if item.expected is not None
    )
    data = terminator.join(item.data for item in items)
    if items and draw(st.booleans()):
        data += terminator
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    gz = draw(st.booleans())
    relative = f"events/{stem}.jsonl" + (".gz" if gz else "")
    return Drop(relative, gzip.compress(data) if gz else data, records)


# ---------------------------------------------------------------------------------------------
# Files that cannot be read


@st.composite
def unreadable_drops(draw: st.DrawFn, source: Source) -> Drop:
    """Not gzip, gzip cut short, not Parquet: failed. A gzip header followed by garbage may
    inflate to something: then it is loaded (and must reconcile) or failed."""
    ext = "jsonl.gz" if source.is_events else "csv.gz"
    kinds = ["not gzip", "cut gzip", "gzip garbage"] + ([] if source.is_events else ["parquet"])
    kind = draw(st.sampled_from(kinds))
    relative = f"{source.name}/zz_broken.{ext}"
    if kind == "not gzip":
        data = draw(st.binary(min_size=1, max_size=200).filter(lambda b: b[0] != 0x1F))
        return Drop(relative, data, readable=False)
    if kind == "cut gzip":
        text = '{"messageId": "m1"}\n' if source.is_events else ",".join(source.column_names) + "\n"
        whole = gzip.compress((text * draw(st.integers(1, 50))).encode())
        return Drop(relative, whole[: draw(st.integers(1, len(whole) - 1))], readable=False)
    if kind == "gzip garbage":
        data = b"\x1f\x8b\x08\x00" + draw(st.binary(max_size=200))
        return Drop(relative, data, readable=None)
    data = draw(st.sampled_from((b"", b"PAR1"))) + draw(st.binary(max_size=200))
    return Drop(f"{source.name}/zz_broken.parquet", data, readable=False)


# ---------------------------------------------------------------------------------------------
# A landing zone for one source


class Landing:
    """The files of one example (a plain class, so that a failure report stays short)."""

    def __init__(self, drops: list[Drop]) -> None:
        self.drops = drops

    def __repr__(self) -> str:
        return f"Landing({self.drops!r})"


# File names, some with glob characters that match the others' names.
STEMS = ("part_0", "part_1", "part_?", "part_*", "part_[01]")


@st.composite
def landings(draw: st.DrawFn, source: Source) -> Landing:
    """1-3 files of the source (sharing a pool of rows, so records repeat across them; one in a
    sub-folder; names with glob characters beside the names they match) and, at times, one
    that cannot be read."""
    names = draw(st.lists(st.sampled_from(STEMS), min_size=1, max_size=3, unique=True))
    stems = [f"{'2026/10/' if n == 1 else ''}{name}" for n, name in enumerate(names)]
    if source.is_events:
        pool = draw(st.lists(event_lines(), min_size=1, max_size=5))
        drops = [draw(jsonl_drops(pool, stem)) for stem in stems]
    else:
        pool = draw(st.lists(tabular_rows(source), min_size=1, max_size=5))
        writers = (csv_drops, csv_drops, parquet_drops)
        drops = [draw(draw(st.sampled_from(writers))(source, pool, stem)) for stem in stems]
    if draw(st.integers(0, 4)) == 0:
        drops.append(draw(unreadable_drops(source)))
    return Landing(drops)


# ---------------------------------------------------------------------------------------------
# Loading and checking


@dataclass
class Workspace:
    """One DuckDB file and one landing zone for all examples, emptied before each."""

    landing: Path
    con: duckdb.DuckDBPyConnection

    def write(self, source: Source, drops: list[Drop]) -> None:
        shutil.rmtree(self.landing, ignore_errors=True)
        for drop in drops:
            path = self.landing / drop.relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(drop.data)
        for table in (raw_table(source), QUARANTINE_TABLE, LOAD_LOG_TABLE):
            self.con.execute(f"delete from {table}")

    def load(self, source: Source, batched: bool) -> list[FileLoad]:
        """The real loader: batched (`load_landing`) or one file at a time (`load_file`)."""
        if batched:
            return load_landing(self.con, self.landing, [source.name])[source.name]
        files = discover(self.landing, [source.name])[source.name]
        return [load for file in files if (load := load_file(self.con, file)) is not None]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("loader_fuzz")
    con = connect(root / "warehouse.duckdb")
    ensure_raw_schema(con)
    yield Workspace(root / "landing", con)
    con.close()


@dataclass(frozen=True)
class Stored:
    """What the loader kept of one file: clean rows (line, key) and quarantine (line, reason)."""

    rows: list[tuple[int, object]]
    quarantine: list[tuple[int, str]]


def stored(con: duckdb.DuckDBPyConnection, source: Source, relative: str) -> Stored:
    if source.is_events:
        key_sql = "message_id"
    else:
        key_sql = "[" + ", ".join(f'"{name}"' for name in source.column_names) + "]"
    rows = con.execute(
        f"select _source_line, {key_sql} from {raw_table(source)} where _source_file = ?",
        [relative],
    ).fetchall()
    quarantine = con.execute(
        f"select source_line, reason from {QUARANTINE_TABLE} where source = ? and source_file = ?",
        [source.name, relative],
    ).fetchall()
    keys = [(line, key if source.is_events else tuple(key)) for line, key in rows]
    return Stored(keys, quarantine)


def check_lines(drop: Drop, kept: Stored, seen: set) -> None:
    """Every record on its own line: violations quarantined with every phrase, valid rows not
    quarantined and stored as delivered, each new record loaded at its first occurrence."""
    quarantined = dict(kept.quarantine)
    loaded = dict(kept.rows)
    assert len(quarantined) == len(kept.quarantine), "a line quarantined twice"
    assert len(loaded) == len(kept.rows), "a line loaded twice"
    assert set(quarantined) | set(loaded) <= {record.line for record in drop.records}
    first: dict[object, int] = {}
    for record in drop.records:
        if record.fate is Fate.INVALID:
            assert record.line in quarantined, (
                f"line {record.line} {record.phrases} not quarantined"
            )
            reason = quarantined[record.line]
            assert all(phrase in reason for phrase in record.phrases), (record.phrases, reason)
        elif record.fate is Fate.VALID:
            assert record.line not in quarantined, (record.line, quarantined.get(record.line))
            if record.line in loaded:
                assert loaded[record.line] == record.key, "values not stored as delivered"
            if record.key not in seen:
                first.setdefault(record.key, record.line)
    line_of = {key: line for line, key in kept.rows}
    for key, line in first.items():
        assert line_of[key] <= line, f"line {line}: a new record not loaded first"


def check_records(drop: Drop, load: FileLoad, kept: Stored, seen: set) -> None:
    """The file's counts and rows against the records it was written with."""
    records = len(drop.records)
    assert load.rows_read == records, f"{drop!r}: {load}"
    fates = Counter(record.fate for record in drop.records)
    low = fates[Fate.INVALID]
    assert low <= load.rows_quarantined <= low + fates[Fate.UNKNOWN], load
    loaded_keys = {key for _, key in kept.rows}
    valid = [record.key for record in drop.records if record.fate is Fate.VALID]
    new = {key for key in valid if key not in seen}
    assert new <= loaded_keys, "a valid record neither loaded nor a duplicate"
    if not fates[Fate.UNKNOWN]:
        assert loaded_keys == new
        assert load.rows_duplicate == len(valid) - len(new), load
    if drop.numbered:
        check_lines(drop, kept, seen)


def check_source(
    con: duckdb.DuckDBPyConnection, source: Source, drops: list[Drop], loads: list[FileLoad]
) -> None:
    """Every file accounted for, in path order (the order duplicates are decided in)."""
    by_file = {load.file: load for load in loads}
    assert len(by_file) == len(loads) and set(by_file) == {d.relative for d in drops}
    seen: set = set()
    for drop in sorted(drops, key=lambda d: d.relative):
        load = by_file[drop.relative]
        kept = stored(con, source, drop.relative)
        if load.status == "failed":
            assert drop.readable is not True, f"{drop.relative}: {load.error}"
            assert load.error and not kept.rows and not kept.quarantine
            assert (load.rows_read, load.rows_loaded, load.rows_quarantined) == (0, 0, 0)
            continue
        assert load.status == "loaded" and drop.readable is not False, load
        assert load.reconciles, load
        assert len(kept.rows) == load.rows_loaded, load
        assert len(kept.quarantine) == load.rows_quarantined, load
        assert all(reason and reason.strip() for _, reason in kept.quarantine)
        keys = [key for _, key in kept.rows]
        assert len(set(keys)) == len(keys) and seen.isdisjoint(keys), "a record loaded twice"
        if drop.readable:
            check_records(drop, load, kept, seen)
        seen.update(keys)
    totals = con.execute(
        f"select (select count(*) from {raw_table(source)}), "
        f"(select count(*) from {QUARANTINE_TABLE})"
    ).fetchone()
    assert totals == (
        sum(load.rows_loaded for load in loads),
        sum(load.rows_quarantined for load in loads),
    )


def load_and_check(workspace: Workspace, source: Source, drops: list[Drop], batched: bool) -> None:
    """Load the drops (never raising), check them, then run again: only failures are retried."""
    workspace.write(source, drops)
    loads = workspace.load(source, batched)
    check_source(workspace.con, source, drops, loads)
    again = workspace.load(source, batched)
    assert {load.file for load in again} == {load.file for load in loads if load.status == "failed"}
    assert all(load.status == "failed" for load in again)


@pytest.mark.parametrize("name", TABULAR)
@settings(FUZZ, max_examples=EXAMPLES_PER_TABULAR_SOURCE)
@given(data=st.data())
def test_tabular_files_lose_no_row(workspace: Workspace, name: str, data: st.DataObject) -> None:
    """CSV, gzip CSV and Parquet files of the source: the properties of the module docstring."""
    source = SOURCES[name]
    landing = data.draw(landings(source), label="landing")
    load_and_check(workspace, source, landing.drops, data.draw(st.booleans(), label="batched"))


@settings(FUZZ, max_examples=EXAMPLES_FOR_EVENTS)
@given(data=st.data())
def test_event_files_lose_no_line(workspace: Workspace, data: st.DataObject) -> None:
    """JSONL and gzip JSONL event files: the properties of the module docstring."""
    source = SOURCES["events"]
    landing = data.draw(landings(source), label="landing")
    load_and_check(workspace, source, landing.drops, data.draw(st.booleans(), label="batched"))


# ---------------------------------------------------------------------------------------------
# Regressions: inputs the fuzzing found the loader getting wrong, written out plainly


def load_files(workspace: Workspace, name: str, files: dict[str, bytes]) -> dict[str, FileLoad]:
    """Load hand-written files of one source (batched); the loads by file."""
    source = SOURCES[name]
    workspace.write(source, [Drop(relative, data) for relative, data in files.items()])
    return {load.file: load for load in workspace.load(source, batched=True)}


def test_header_names_equal_but_for_case_or_padding_or_empty_load(workspace: Workspace) -> None:
    """Such names made DuckDB raise (a Binder or Parser error) and the whole load with it: the
    first of a name is the contract's column, the others and the unnamed are extras."""
    header = b"store_id,STORE_ID, Store_Id ,,name,\n"
    loads = load_files(workspace, "stores", {"stores/a.csv": header + b"s1,s2,s3,x,Kyiv,y\n"})
    load = loads["stores/a.csv"]
    assert (load.status, load.rows_read, load.rows_loaded) == ("loaded", 1, 1)
    store_id, name, extra = workspace.con.execute(
        "select store_id, name, _extra from raw.stores"
    ).fetchone()
    assert (store_id, name) == ("s1", "Kyiv")
    assert json.loads(extra) == {
        "STORE_ID_2": "s2",
        " Store_Id _2": "s3",
        "column4": "x",
        "column6": "y",
    }


def test_parquet_column_named_like_a_contract_column_but_for_case_stays_an_extra(
    workspace: Workspace,
) -> None:
    """The last of such columns used to win: its values replaced the contract column's, which
    were lost (not even in `_extra`)."""
    table = pa.Table.from_arrays(
        [pa.array(["p1"]), pa.array([True])], names=["product_id", " PRODUCT_ID "]
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    loads = load_files(workspace, "products", {"products/a.parquet": buffer.getvalue()})
    assert loads["products/a.parquet"].rows_loaded == 1
    row = workspace.con.execute("select product_id, _extra from raw.products").fetchone()
    assert row == ("p1", '{" PRODUCT_ID ":"true"}')


def test_csv_whose_first_line_is_blank_fails_instead_of_loading_nothing(
    workspace: Workspace,
) -> None:
    """It used to be logged as loaded with no row (and so never read again): its rows were
    lost silently. DuckDB would take the blank line for the header."""
    loads = load_files(workspace, "stores", {"stores/a.csv": b"\nstore_id,name\ns1,Kyiv\n"})
    load = loads["stores/a.csv"]
    assert load.status == "failed" and "blank" in (load.error or "")
    assert load_files(workspace, "stores", {"stores/a.csv": b"\n\n"})["stores/a.csv"].reconciles


def test_cut_or_corrupt_gzip_is_a_failed_file_not_an_exception(workspace: Workspace) -> None:
    """A gzip cut inside its header line (EOFError) or corrupt after its magic (zlib.error)
    made `load_landing` raise; the other files of the source load."""
    whole = gzip.compress(b"store_id,name\n" + b"s1,Kyiv\n" * 100)
    loads = load_files(
        workspace,
        "stores",
        {
            "stores/cut.csv.gz": whole[:15],
            "stores/corrupt.csv.gz": whole[:10] + b"\xff" * 50,
            "stores/good.csv": b"store_id\ns1\n",
        },
    )
    assert loads["stores/cut.csv.gz"].status == loads["stores/corrupt.csv.gz"].status == "failed"
    assert loads["stores/cut.csv.gz"].error and loads["stores/corrupt.csv.gz"].error
    assert (loads["stores/good.csv"].status, loads["stores/good.csv"].rows_loaded) == ("loaded", 1)


def test_quoted_line_break_in_the_header_of_a_crlf_file_loads(workspace: Workspace) -> None:
    """DuckDB took the quoted line break for the file's and read no record, without an error:
    the file was logged as loaded with no row. With mixed line breaks it now fails."""
    data = b'store_id,"opening\nhours",city\r\ns1,9-18,Kyiv\r\ns2,10-20,Lviv\r\n'
    load = load_files(workspace, "stores", {"stores/a.csv": data})["stores/a.csv"]
    assert (load.status, load.rows_read, load.rows_loaded) == ("loaded", 2, 2)
    extras = workspace.con.execute("select _extra from raw.stores order by store_id").fetchall()
    assert [json.loads(extra) for (extra,) in extras] == [
        {"opening\nhours": "9-18"},
        {"opening\nhours": "10-20"},
    ]
    mixed = b'store_id,"opening\nhours"\r\ns1,9-18\ns2,10-20\n'
    load = load_files(workspace, "stores", {"stores/a.csv": mixed})["stores/a.csv"]
    assert load.status == "failed" and load.error


def test_bom_then_a_quoted_first_column_name_fails(workspace: Workspace) -> None:
    """After a BOM, DuckDB takes the opening quote for a character: it ended a first name that
    spans lines at its line break and loaded the rest of the header as a row, and read nothing
    at all (without an error) when the name ends with a comma."""
    for first in (b'"opening\nhours"', b'"hours,"'):
        data = b"\xef\xbb\xbf" + first + b",store_id\n9-18,s1\n"
        load = load_files(workspace, "stores", {"stores/a.csv": data})["stores/a.csv"]
        assert load.status == "failed" and load.error
        assert workspace.con.execute("select count(*) from raw.stores").fetchone() == (0,)
    data = b'\xef\xbb\xbf"hours",store_id\n9-18,s1\n'
    load = load_files(workspace, "stores", {"stores/a.csv": data})["stores/a.csv"]
    assert (load.status, load.rows_loaded) == ("loaded", 1)


def test_integer_with_a_fractional_part_is_quarantined(workspace: Workspace) -> None:
    """'2.5' passed as an integer (DuckDB's cast rounds it to 3, and so did staging); whole
    numbers written otherwise ('3.0', '1e3') still load."""
    data = (
        b"order_id,line_no,product_id,quantity,unit_price\n"
        b"o1,1,p1,2.5,10\n"
        b"o1,1.5,p1,2,10\n"
        b"o1,2,p1,3.0,10\n"
        b"o1,3,p1,1e3,10\n"
    )
    load = load_files(workspace, "order_items", {"order_items/a.csv": data})["order_items/a.csv"]
    assert (load.rows_read, load.rows_loaded, load.rows_quarantined) == (4, 2, 2)
    reasons = workspace.con.execute(
        f"select source_line, reason from {QUARANTINE_TABLE} order by 1"
    ).fetchall()
    assert reasons == [
        (2, "not an integer in quantity: '2.5'"),
        (3, "not an integer in line_no: '1.5'"),
    ]


def test_lines_longer_than_the_reader_takes_are_quarantined(workspace: Workspace) -> None:
    """A field past DuckDB's line size (2 MB) makes its line malformed, counted and kept."""
    huge = b"y" * 3_000_000
    csv_load = load_files(
        workspace, "stores", {"stores/a.csv": b"store_id,name\ns1," + huge + b"\ns2,x\n"}
    )["stores/a.csv"]
    assert (csv_load.rows_read, csv_load.rows_loaded, csv_load.rows_quarantined) == (2, 1, 1)
    event = {"messageId": "m1", "type": "page", "timestamp": "2026-01-01", "userId": "u1"}
    lines = [json.dumps({**event, "blob": huge.decode()}), json.dumps({**event, "messageId": "m2"})]
    events = load_files(workspace, "events", {"events/a.jsonl": "\n".join(lines).encode()})
    load = events["events/a.jsonl"]
    assert (load.rows_read, load.rows_loaded, load.rows_quarantined) == (2, 1, 1)
    reason = workspace.con.execute(f"select reason from {QUARANTINE_TABLE}").fetchone()[0]
    assert reason.startswith(MALFORMED) and "line size" in reason


def test_file_names_with_glob_characters_read_only_their_own_file(workspace: Workspace) -> None:
    """DuckDB takes a path for a glob pattern: `a[1].csv` read `a1.csv` (its own row was lost,
    the other's counted twice) and `b*.jsonl` read every b file."""
    files = {"stores/a[1].csv": b"store_id\ns1\n", "stores/a1.csv": b"store_id\ns2\n"}
    loads = load_files(workspace, "stores", files)
    assert [(load.rows_read, load.rows_loaded) for load in loads.values()] == [(1, 1), (1, 1)]
    assert workspace.con.execute(
        "select _source_file, store_id from raw.stores order by 1"
    ).fetchall() == [("stores/a1.csv", "s2"), ("stores/a[1].csv", "s1")]
    event = {"messageId": "m1", "type": "page", "timestamp": "2026-01-01", "userId": "u"}
    files = {"events/b*.jsonl": json.dumps(event).encode(), "events/bb.jsonl": b""}
    loads = load_files(workspace, "events", files)
    assert [(load.file, load.rows_read) for load in loads.values()] == [
        ("events/b*.jsonl", 1),
        ("events/bb.jsonl", 0),
    ]
