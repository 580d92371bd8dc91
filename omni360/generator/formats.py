"""How source systems write values, as DuckDB macros used when files are written.

`ts_text(ms, style)` writes an instant in one of the `clock.Style`s, `money(cents)` and
`cost(units)` write decimals, `phone_text(e164, style)` and `email_text(email, typed, style)`
write an identifier the way a given system stores it. Styles are chosen per row when the row
is generated, so a re-delivered row is written exactly as before.
"""

from __future__ import annotations

from enum import IntEnum

import duckdb

from omni360.generator.clock import Window, summer_time_spans


class Phone(IntEnum):
    E164 = 0  # +380671234567
    SPACED = 1  # +380 67 123 45 67
    NATIONAL = 2  # 0671234567 (Ukrainian numbers only; others fall back to SPACED)
    PUNCTUATED = 3  # (067) 123-45-67 (Ukrainian numbers only)
    DIGITS = 4  # 380671234567
    INTERNATIONAL_00 = 5  # 00380671234567


class Email(IntEnum):
    LOWER = 0  # olena.k@gmail.com
    TYPED = 1  # Olena.K@Gmail.com
    LEADING_SPACE = 2  # " Olena.K@Gmail.com"
    TRAILING_SPACE = 3  # "Olena.K@Gmail.com "
    UPPER = 4  # OLENA.K@GMAIL.COM
    SPACED_LOWER = 5  # " olena.k@gmail.com"


def _kyiv_offset_sql(window: Window) -> str:
    spans = summer_time_spans(window.start_date.year - 6, window.end_date.year + 1)
    summer = " or ".join(f"(ms >= {a} and ms < {b})" for a, b in spans)
    return f"case when {summer} then 3 else 2 end"


def macros(window: Window) -> list[str]:
    local = "epoch_ms(ms + kyiv_offset(ms) * 3600000)"
    offset = "'+0' || kyiv_offset(ms) || ':00'"
    return [
        f"create or replace macro kyiv_offset(ms) as {_kyiv_offset_sql(window)}",
        f"""create or replace macro ts_text(ms, style) as case style
            when 0 then strftime(epoch_ms(ms), '%Y-%m-%dT%H:%M:%SZ')
            when 1 then strftime(epoch_ms(ms), '%Y-%m-%dT%H:%M:%S.%gZ')
            when 2 then strftime({local}, '%Y-%m-%dT%H:%M:%S') || {offset}
            when 3 then strftime(epoch_ms(ms), '%Y-%m-%d %H:%M:%S')
            when 4 then strftime({local}, '%Y-%m-%dT%H:%M:%S.%g') || {offset}
            else strftime(epoch_ms(ms), '%Y-%m-%dT%H:%M:%S.%f') || '+00:00' end""",
        "create or replace macro money(cents) as "
        "cast(cast(cents as decimal(18, 0)) / 100 as decimal(18, 2))::varchar",
        "create or replace macro cost(units) as "
        "cast(cast(units as decimal(18, 0)) / 10000 as decimal(18, 4))::varchar",
        """create or replace macro phone_text(p, style) as case
            when style = 0 then p
            when style = 4 then substr(p, 2)
            when style = 5 then '00' || substr(p, 2)
            when p like '+380%' and style = 2 then '0' || substr(p, 5)
            when p like '+380%' and style = 3 then '(0' || substr(p, 5, 2) || ') '
                || substr(p, 7, 3) || '-' || substr(p, 10, 2) || '-' || substr(p, 12, 2)
            when p like '+380%' then '+380 ' || substr(p, 5, 2) || ' ' || substr(p, 7, 3)
                || ' ' || substr(p, 10, 2) || ' ' || substr(p, 12, 2)
            when p like '+48%' then '+48 ' || substr(p, 4, 3) || ' ' || substr(p, 7, 3)
                || ' ' || substr(p, 10, 3)
            else '+49 ' || substr(p, 4, 3) || ' ' || substr(p, 7) end""",
        """create or replace macro email_text(e, typed, style) as case style
            when 0 then e
            when 1 then typed
            when 2 then ' ' || typed
            when 3 then typed || ' '
            when 4 then upper(e)
            else ' ' || e end""",
    ]


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """A DuckDB list literal; `sql_list(names)[code + 1]` turns a 0-based code into its name."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def connect(window: Window) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session in UTC with the writing macros."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    for statement in macros(window):
        con.execute(statement)
    return con
