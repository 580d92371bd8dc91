"""The demo data generator: deterministic, complete, contract-valid, with an exact truth."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from omni360.contract import EVENT_TYPES, SOURCES, SURVEY_SCALES, Kind, Source
from omni360.generator import GenerationSummary, delivery, generate

CUSTOMERS = 150
DAYS = 21
SEED = 5
BROKEN = 24


@dataclass(frozen=True)
class Run:
    landing: Path
    truth: Path
    summary: GenerationSummary


def _generate(root: Path, seed: int = SEED, broken_rows: int = 0) -> Run:
    with pytest.MonkeyPatch.context() as patch:  # several render groups, as at full size
        patch.setattr(delivery, "RENDER_ROWS", 1_500)
        summary = _run(root, seed, broken_rows)
    return Run(root / "landing", root / "truth", summary)


def _run(root: Path, seed: int, broken_rows: int) -> GenerationSummary:
    return generate(
        root / "landing",
        root / "truth",
        customers=CUSTOMERS,
        seed=seed,
        days=DAYS,
        end_date=date(2026, 10, 31),
        broken_rows=broken_rows,
    )


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _generate(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _generate(tmp_path_factory.mktemp("broken"), broken_rows=BROKEN)


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _files(landing: Path, source: str) -> list[Path]:
    """A source's files in load order (sorted relative path)."""
    return sorted(
        (p for p in (landing / source).rglob("*") if p.is_file()),
        key=lambda p: p.relative_to(landing).as_posix(),
    )


def _text(path: Path) -> str:
    data = path.read_bytes()
    return (gzip.decompress(data) if path.name.endswith(".gz") else data).decode("utf-8")


def _records(path: Path, source: Source) -> list[dict[str, str | None]]:
    """Contract columns of every data row, as text (Parquet values as their string)."""
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
        return [
            {c: None if r.get(c) is None else str(r[c]) for c in source.column_names} for r in rows
        ]
    reader = csv.DictReader(io.StringIO(_text(path)))
    return [{c: r.get(c) for c in source.column_names} for r in reader]


# A small, independent reading of the contract, to check the files against.
def _timestamp_ok(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _value_ok(kind: Kind, value: str) -> bool:
    try:
        if kind is Kind.TIMESTAMP:
            return _timestamp_ok(value)
        if kind is Kind.DATE:
            return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and bool(
                date.fromisoformat(value)
            )
        if kind is Kind.DECIMAL:
            return Decimal(value).is_finite()
        if kind is Kind.INTEGER:
            return bool(re.fullmatch(r"-?\d+", value))
    except (ValueError, InvalidOperation):
        return False
    return True


def _row_ok(source: Source, row: dict[str, str | None]) -> bool:
    for column in source.columns:
        value = (row.get(column.name) or "").strip()
        if not value:
            if column.required:
                return False
            continue
        if column.allowed and value not in column.allowed:
            return False
        if not _value_ok(column.kind, value):
            return False
    if source.name == "survey_responses":
        low, high = SURVEY_SCALES[row["survey_type"]]
        return low <= int(row["score"]) <= high
    return True


def _event_ok(line: str) -> bool:
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return False
    return (
        bool(event.get("messageId"))
        and event.get("type") in EVENT_TYPES
        and _timestamp_ok(event.get("timestamp") or "")
        and bool(event.get("anonymousId") or event.get("userId"))
        and (event["type"] != "track" or bool(event.get("event")))
    )


def _invalid_lines(landing: Path) -> set[tuple[str, str, int]]:
    """(source, file, line) of every line or row breaking the contract."""
    bad = set()
    for name, source in SOURCES.items():
        for path in _files(landing, name):
            rel = path.relative_to(landing).as_posix()
            if source.is_events:
                for n, line in enumerate(_text(path).splitlines(), start=1):
                    if not _event_ok(line):
                        bad.add((name, rel, n))
            elif path.suffix == ".parquet":
                for n, row in enumerate(_records(path, source), start=1):
                    if not _row_ok(source, row):
                        bad.add((name, rel, n))
            else:
                lines = _text(path).split("\n")[:-1]
                header = next(csv.reader([lines[0]]))
                for n, line in enumerate(lines[1:], start=2):
                    fields = next(csv.reader([line]))
                    if len(fields) != len(header) or not _row_ok(
                        source, dict(zip(header, fields, strict=True))
                    ):
                        bad.add((name, rel, n))
    return bad


def test_same_arguments_give_identical_files_and_another_seed_does_not(
    clean: Run, tmp_path: Path
) -> None:
    again = _generate(tmp_path / "again")
    other = _generate(tmp_path / "other", seed=SEED + 1)
    assert _hashes(again.landing) == _hashes(clean.landing)
    assert _hashes(again.truth) == _hashes(clean.truth)
    first, second = _hashes(clean.landing), _hashes(other.landing)
    shared = set(first) & set(second)
    assert sum(first[p] == second[p] for p in shared) < len(shared) // 10


def test_every_source_folder_is_populated_and_the_summary_adds_up(clean: Run) -> None:
    for name, source in SOURCES.items():
        files = _files(clean.landing, name)
        assert files, name
        assert all(any(p.name.endswith("." + f) for f in source.formats) for p in files), name
        assert clean.summary.files_written[name] == len(files)
        assert clean.summary.rows_written[name] > 0
    assert any(p.name.endswith(".jsonl.gz") for p in _files(clean.landing, "events"))
    assert any(p.suffix == ".parquet" for p in _files(clean.landing, "message_events"))
    assert all(p.suffix == ".parquet" for p in _files(clean.landing, "products"))


def test_daily_files_hold_the_rows_of_their_day(clean: Run) -> None:
    """A day's file holds that day's rows (and, when it overlaps, a few of the day before)."""
    checked = 0
    for path in _files(clean.landing, "events"):
        day = re.search(r"_(\d{4}-\d{2}-\d{2})\.jsonl", path.name)
        if not day:
            continue  # late drops and re-deliveries
        for line in _text(path).splitlines():
            stamp = datetime.fromisoformat(json.loads(line)["timestamp"])
            lag = date.fromisoformat(day.group(1)) - stamp.astimezone(UTC).date()
            assert lag.days in (0, 1), (path.name, stamp)
            checked += 1
    assert checked > 1_000


def test_every_tabular_file_has_the_contract_columns(clean: Run) -> None:
    con = duckdb.connect()
    extra = 0
    for name, source in SOURCES.items():
        if source.is_events:
            continue
        for path in _files(clean.landing, name):
            reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
            columns = [
                r[0] for r in con.execute(f"describe select * from {reader}('{path}')").fetchall()
            ]
            assert columns[: len(source.column_names)] == source.column_names, path
            extra += len(columns) > len(source.column_names)
    assert extra > 0  # a few files carry a column the contract does not know


def test_without_broken_rows_every_row_meets_the_contract(clean: Run) -> None:
    assert _invalid_lines(clean.landing) == set()
    with (clean.truth / "expected_quarantine.csv").open() as handle:
        assert list(csv.DictReader(handle)) == []


def test_timestamps_parse_in_duckdb_and_keep_their_instant(clean: Run) -> None:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for name, source in SOURCES.items():
        stamps = [c.name for c in source.columns if c.kind is Kind.TIMESTAMP]
        csvs = [p for p in _files(clean.landing, name) if ".csv" in p.name]
        if not stamps or not csvs:
            continue
        files = ", ".join(f"'{p}'" for p in csvs)
        for column in stamps:
            unparsed = con.execute(
                f"select count(*) from read_csv([{files}], all_varchar = true, "
                f"union_by_name = true) where {column} is not null "
                f"and try_cast({column} as timestamptz) is null"
            ).fetchone()[0]
            assert unparsed == 0, (name, column)
    # An app order's `Order Completed` (Kyiv offset) is the order's instant (UTC) in `orders`.
    events = ", ".join(f"'{p}'" for p in _files(clean.landing, "events"))
    orders = ", ".join(f"'{p}'" for p in _files(clean.landing, "orders") if p.suffix == ".csv")
    rows = con.execute(f"""
        with completed as (
            select json_extract_string(line, '$.properties.order_id') as order_id,
                   json_extract_string(line, '$.timestamp') as ts
            from read_csv([{events}], columns = {{'line': 'VARCHAR'}}, header = false,
                          delim = '\x01', quote = '', escape = '')
            where json_extract_string(line, '$.event') = 'Order Completed'
        )
        select c.ts, o.ordered_at, c.ts::timestamptz = o.ordered_at::timestamptz
        from completed as c
        join read_csv([{orders}], all_varchar = true, union_by_name = true) as o using (order_id)
        where o.status = 'completed'""").fetchall()
    assert rows and all(same for _, _, same in rows)
    assert any(ts.endswith(("+03:00", "+02:00")) for ts, _, _ in rows)


def test_injected_broken_rows_are_where_the_truth_says(broken: Run) -> None:
    with (broken.truth / "expected_quarantine.csv").open() as handle:
        expected = [
            (r["source"], r["source_file"], int(r["source_line"]), r["reason_class"])
            for r in csv.DictReader(handle)
        ]
    assert len(expected) == broken.summary.broken_rows == BROKEN
    assert {e[3] for e in expected} == {
        "malformed_line",
        "missing_required",
        "bad_type",
        "bad_enum",
        "bad_timestamp",
    }
    assert len({e[0] for e in expected}) >= 8
    assert _invalid_lines(broken.landing) == {e[:3] for e in expected}


def _duplicates(landing: Path) -> dict[str, int]:
    """Rows repeating a record read before, files read in sorted order of their path."""
    found = {}
    for name, source in SOURCES.items():
        seen: set = set()
        for path in _files(landing, name):
            if source.is_events:
                keys = [json.loads(line)["messageId"] for line in _text(path).splitlines()]
            else:
                keys = [tuple(r.values()) for r in _records(path, source)]
            found[path.relative_to(landing).as_posix()] = sum(k in seen for k in keys)
            seen.update(keys)
    return found


def test_expected_duplicates_are_exact(clean: Run) -> None:
    with (clean.truth / "expected_duplicates.csv").open() as handle:
        expected = {r["source_file"]: int(r["duplicates"]) for r in csv.DictReader(handle)}
    found = _duplicates(clean.landing)
    assert expected == found
    assert sum(found.values()) > 0
    assert any(p.endswith("_resend.csv") for p in found)
    assert any("_late." in p for p in found)


def test_shared_identifiers_are_in_the_truth_and_in_the_data(clean: Run) -> None:
    identities = pq.read_table(clean.truth / "identities.parquet").to_pylist()
    shared = pq.read_table(clean.truth / "shared_identifiers.parquet").to_pylist()
    kinds = {s["identifier_type"] for s in shared}
    assert {"email", "phone", "device_id", "anonymous_id"} <= kinds
    assert all(s["people"] >= 2 for s in shared)
    owners = Counter((i["identifier_type"], i["identifier"]) for i in identities if i["is_shared"])
    assert owners == Counter({(s["identifier_type"], s["identifier"]): s["people"] for s in shared})
    assert not any(
        i["is_shared"] for i in identities if (i["identifier_type"], i["identifier"]) not in owners
    )
    text = "\n".join(
        _text(p).lower()
        for name in SOURCES
        for p in _files(clean.landing, name)
        if p.suffix != ".parquet"
    )
    digits = re.sub(r"[^0-9\n]", "", text)
    for s in shared:
        if s["identifier_type"] == "phone":
            assert s["identifier"][-9:] in digits, s
        else:
            assert s["identifier"].lower() in text, s


def test_order_identifiers_normalize_to_their_buyer_in_the_truth(clean: Run) -> None:
    con = duckdb.connect()
    orders = ", ".join(f"'{p}'" for p in _files(clean.landing, "orders") if p.suffix == ".csv")
    con.execute(f"create view truth_ids as select * from '{clean.truth}/identities.parquet'")
    con.execute(f"create view truth_orders as select * from '{clean.truth}/orders.parquet'")
    digits = "regexp_replace(o.phone, '[^0-9]', '', 'g')"
    e164 = (
        f"'+' || case when {digits} like '00%' then substr({digits}, 3) "
        f"when length({digits}) = 10 and {digits} like '0%' then '380' || substr({digits}, 2)"
        f" else {digits} end"
    )
    for column, kind, value in (
        ("email", "email", "lower(trim(o.email))"),
        ("phone", "phone", e164),
        ("user_id", "user_id", "o.user_id"),
        ("loyalty_card_id", "loyalty_card_id", "o.loyalty_card_id"),
    ):
        total, unknown = con.execute(f"""
            select count(*), count(*) filter (where i.person_id is null)
            from read_csv([{orders}], all_varchar = true, union_by_name = true) as o
            join truth_orders as t using (order_id)
            left join truth_ids as i on i.person_id = t.person_id
                and i.identifier_type = '{kind}' and i.identifier = {value}
            where o.{column} is not null""").fetchone()
        assert total > 0 and unknown == 0, column
    variants = con.execute(f"""
        select count(distinct email) filter (where email <> lower(trim(email))),
               count(distinct phone) filter (where phone not like '+%')
        from read_csv([{orders}], all_varchar = true, union_by_name = true)""").fetchone()
    assert min(variants) > 0


def test_a_non_empty_landing_zone_is_refused_and_left_alone(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    (landing / "orders" / "mine.csv").write_text("order_id\n1\n")
    with pytest.raises(ValueError, match="empty"):
        generate(landing, tmp_path / "truth", customers=10)
    assert [p.name for p in landing.rglob("*")] == ["orders", "mine.csv"]
    assert not (tmp_path / "truth").exists()


def test_the_truth_folder_must_be_outside_the_landing_zone(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for truth in (landing, landing / "truth", landing / "a" / "b"):
        with pytest.raises(ValueError, match="outside"):
            generate(landing, truth, customers=10)
    assert not landing.exists()
