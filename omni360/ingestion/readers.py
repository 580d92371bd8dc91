"""Reading one landing file with DuckDB's own readers into two temp tables.

`_incoming` (a view over the file's temp table) holds every record the reader could split
into fields, with its line number (`_line`) and the contract columns as text (null where the
file lacks the column); `_malformed` holds the lines the reader could not split (line, raw
text, reason).
"""

from __future__ import annotations

import csv
import gzip
from typing import BinaryIO, TextIO

import duckdb

from omni360.contract import Source
from omni360.ingestion.discovery import LandingFile

# A field separator that cannot occur in UTF-8 text lines, to read JSONL line by line.
_LINE_DELIMITER = "\x00"
# The contract's CSV dialect: RFC 4180 with a header line; every field read as text.
_CSV_DIALECT = "header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _glob_escaped(file: LandingFile) -> str:
    """The file's path for DuckDB's readers, which take every path for a glob pattern
    (`a[1].csv` would read `a1.csv`, `b*.csv` every b file): its glob characters escaped.
    DuckDB no longer sees a `.gz` ending in an escaped pattern: give `_compression`."""
    return "".join(f"[{c}]" if c in "[*?" else c for c in str(file.path))


def _compression(file: LandingFile) -> str:
    return "gzip" if file.path.name.lower().endswith(".gz") else "none"


def _projection(source: Source, file_columns: list[str]) -> str:
    """Contract columns by name (case-insensitive), extra columns folded into `_extra` JSON."""
    by_lower: dict[str, str] = {}
    for c in file_columns:  # the first column of a name is the contract's; others are extras
        by_lower.setdefault(c.strip().lower(), c)
    wanted = set(source.column_names)
    parts = []
    for name in source.column_names:
        if name in by_lower:
            parts.append(f"cast({_quote_ident(by_lower[name])} as varchar) as {_quote_ident(name)}")
        else:
            parts.append(f"cast(null as varchar) as {_quote_ident(name)}")
    chosen = {by_lower[name] for name in wanted if name in by_lower}
    extras = [c for c in file_columns if c not in chosen]
    if extras:
        packed = ", ".join(
            f"{_quote_literal(c)}: cast({_quote_ident(c)} as varchar)" for c in extras
        )
        parts.append(f"cast(to_json({{{packed}}}) as varchar) as _extra")
    else:
        parts.append("cast(null as varchar) as _extra")
    return ",\n  ".join(parts)


def _missing_columns(source: Source, file_columns: list[str]) -> list[str]:
    present = {c.strip().lower() for c in file_columns}
    return [c.name for c in source.columns if c.name not in present]


def _columns_of(con: duckdb.DuckDBPyConnection, relation_sql: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe select * from {relation_sql}").fetchall()]


def _open(file: LandingFile, mode: str = "rt") -> TextIO | BinaryIO:
    opener = gzip.open if _compression(file) == "gzip" else open
    if mode == "rb":
        return opener(file.path, "rb")
    return opener(file.path, "rt", encoding="utf-8-sig", errors="replace", newline="")


def _starts_with_bom(file: LandingFile) -> bool:
    with _open(file, "rb") as handle:
        return handle.read(3) == b"\xef\xbb\xbf"


def _after_header(file: LandingFile) -> tuple[str, bool]:
    """The line break that ends the header record (a quoted field may span lines), and whether
    a non-empty line follows it."""
    with _open(file) as handle:
        quotes, line = 0, ""
        for line in handle:
            quotes += line.count('"')
            if quotes % 2 == 0:
                break
        return line[len(line.rstrip("\r\n")) :], any(rest.strip("\r\n") for rest in handle)


def _csv_header(file: LandingFile) -> list[str]:
    """Column names from the header record, made unique (a repeated name gets a suffix).

    Names are compared as DuckDB and the contract match them: ignoring case and surrounding
    spaces. An empty name is called `column<position>`. Only the header is read here
    (Python's csv module copes with a BOM and any line ending); the records themselves are
    read by DuckDB. A blank first line followed by records is no header: the file cannot be
    read (DuckDB would take the blank line for the header and load the real one as a record).
    """
    with _open(file) as handle:
        reader = csv.reader(handle)
        names = next(reader, [])
        if not names and any(reader):
            raise csv.Error("the first line, where the header belongs, is blank")
    unique: list[str] = []
    seen: set[str] = set()  # the names so far, as compared
    for position, name in enumerate(names, start=1):
        base = name or f"column{position}"
        candidate, n = base, 1
        while candidate.strip().lower() in seen:
            n += 1
            candidate = f"{base}_{n}"
        unique.append(candidate)
        seen.add(candidate.strip().lower())
    return unique


# DuckDB stores the lines its CSV reader rejects in these temp tables (one scan at a time).
_REJECT_OPTIONS = "store_rejects = true, rejects_table = '_rej_errors', rejects_scan = '_rej_scans'"


def _reset_rejects(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("drop table if exists _rej_errors")
    con.execute("drop table if exists _rej_scans")


def _number_records(con: duckdb.DuckDBPyConnection, header_lines: int, keep: str = "true") -> None:
    """Fill `_malformed` from the reader's rejects and `_incoming` from `_accepted` (`_k`-th
    accepted record), giving each record its line: header + k + rejected lines before it.

    Without rejected lines (the usual case) the k-th record is on line header + k, and
    `_incoming` is a plain view over `_accepted`.
    """
    con.execute(
        """
        create or replace temp table _malformed as
        select line as _line, any_value(csv_line) as raw_text,
               'malformed line: ' || lower(string_agg(distinct error_type, ', ')) as reason
        from _rej_errors
        group by line
        """
    )
    if con.execute("select count(*) from _malformed").fetchone()[0] == 0:
        con.execute(
            f"""
            create or replace temp view _incoming as
            select a.* exclude (_k), {header_lines} + a._k as _line
            from _accepted as a
            where {keep}
            """
        )
        return
    con.execute(
        f"""
        create or replace temp table _numbered as
        with rejected as (
            select _line - {header_lines} as data_line,
                   row_number() over (order by _line) as n_before_incl
            from _malformed
        ),
        boundaries as (
            select data_line - n_before_incl as accepted_before, max(n_before_incl) as n
            from rejected
            group by 1
        )
        select a.* exclude (_k), {header_lines} + a._k + coalesce(b.n, 0) as _line
        from _accepted as a
        asof left join boundaries as b on a._k > b.accepted_before
        where {keep}
        """
    )
    con.execute("create or replace temp view _incoming as select * from _numbered")


def _read_csv(con: duckdb.DuckDBPyConnection, file: LandingFile) -> list[str]:
    _reset_rejects(con)
    file_columns = _csv_header(file)
    if not file_columns:  # an empty file holds no record
        _create_empty(con, file.source)
        return []
    columns = "{" + ", ".join(f"{_quote_literal(c)}: 'VARCHAR'" for c in file_columns) + "}"
    # DuckDB takes the first line break it meets for the file's, even one quoted in the header,
    # and with the wrong one it reads no record at all, without an error. After a BOM, it takes
    # the quote that opens the first name for a character: a comma, quote or line break in that
    # name then splits the header, which swallows the file or leaves a piece read as a record.
    line_break, more = _after_header(file)
    if any(c in file_columns[0] for c in ',"\r\n') and _starts_with_bom(file):
        raise csv.Error("a BOM, then a quoted first column name: DuckDB misreads the header")
    new_line = ""
    if line_break and any("\n" in c or "\r" in c for c in file_columns):
        new_line = f", new_line = {_quote_literal(line_break.encode('unicode_escape').decode())}"
    con.execute(
        f"""
        create or replace temp table _accepted as
        select row_number() over () as _k, {_projection(file.source, file_columns)}
        from read_csv({_quote_literal(_glob_escaped(file))}, {_CSV_DIALECT}, columns = {columns},
                      compression = {_quote_literal(_compression(file))},
                      {_REJECT_OPTIONS}, null_padding = false{new_line})
        """
    )
    _number_records(con, header_lines=1)
    read = con.execute(
        "select (select count(*) from _accepted) + (select count(*) from _malformed)"
    ).fetchone()[0]
    if more and not read:
        raise csv.Error("the CSV reader found no record after the header (mixed line breaks?)")
    return _missing_columns(file.source, file_columns)


def _create_empty(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    con.execute(
        f"create or replace temp table _numbered as select {_projection(source, [])}, "
        "cast(null as bigint) as _line limit 0"
    )
    con.execute("create or replace temp view _incoming as select * from _numbered")
    con.execute(
        "create or replace temp table _malformed (_line bigint, raw_text varchar, reason varchar)"
    )


def _read_parquet(con: duckdb.DuckDBPyConnection, file: LandingFile) -> list[str]:
    path = _quote_literal(_glob_escaped(file))
    file_columns = _columns_of(con, f"read_parquet({path})")
    con.execute(
        f"""
        create or replace temp table _numbered as
        select {_projection(file.source, file_columns)}, file_row_number + 1 as _line
        from read_parquet({path}, file_row_number = true)
        """
    )
    con.execute("create or replace temp view _incoming as select * from _numbered")
    con.execute(
        "create or replace temp table _malformed (_line bigint, raw_text varchar, reason varchar)"
    )
    return _missing_columns(file.source, file_columns)


def _read_jsonl(con: duckdb.DuckDBPyConnection, file: LandingFile) -> list[str]:
    _reset_rejects(con)
    con.execute(
        f"""
        create or replace temp table _accepted as
        select row_number() over () as _k, line
        from read_csv(?, columns = {{'line': 'VARCHAR'}}, header = false, delim = ?,
                      quote = '', escape = '', auto_detect = false, compression = ?,
                      {_REJECT_OPTIONS})
        """,
        [_glob_escaped(file), _LINE_DELIMITER, _compression(file)],
    )
    # Blank lines keep their place in the numbering but are not records.
    _number_records(con, header_lines=0, keep="trim(coalesce(a.line, '')) <> ''")
    return []


READERS = {"csv": _read_csv, "parquet": _read_parquet, "jsonl": _read_jsonl}


def read_file(con: duckdb.DuckDBPyConnection, file: LandingFile) -> list[str]:
    """Fill `_incoming` and `_malformed` from the file; return contract columns it lacks."""
    return READERS[file.fmt](con, file)
