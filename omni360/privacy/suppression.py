"""Keeping erased people out of later loads: the loader's side of the suppression lists.

A row is suppressed when its record was removed by an erasure (same `_record_hash`: the same
file delivered again) or when one of its identifiers, in token form, is an erased one (a new
file about the same person). It goes to the quarantine with `ERASED_REASON` and without its
text, so it is counted (read = loaded + quarantined + duplicates) and never silently lost, and
the person's data does not come back. A quarantined row whose text mentions an erased
identifier (a broken line about them) keeps its reason but loses its text.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from omni360.contract import Source
from omni360.privacy.schema import (
    SUPPRESSED_IDENTIFIERS,
    SUPPRESSED_RECORDS,
    ensure_privacy_schema,
    hashed_sql,
    salt,
)

ERASED_REASON = "erased person: suppressed by an erasure request"
# Identifier values inside an event's JSON payload (traits, context, properties).
PAYLOAD_IDENTIFIERS = r"""'"(?:email|phone|userId|anonymousId)"\s*:\s*"([^"]*)"'"""
# Tokens of a quarantined text: the words as written, and with blanks and dashes removed.
TEXT_TOKENS = r"'[a-z0-9@._+-]+'"
_ERASED_HASHES = f"(select coalesce(list(identifier_hash), []) from {SUPPRESSED_IDENTIFIERS})"


@dataclass(frozen=True)
class Suppression:
    """The suppression lists of a warehouse that has some; SQL to apply them while loading."""

    salt: str

    def _hashes_sql(self, values_sql: str) -> str:
        return f"list_transform({values_sql}, lambda v: {hashed_sql('v', self.salt)})"

    def suppressed_sql(self, source: Source) -> str:
        """Boolean SQL over a checked row: true when the row must not be loaded."""
        columns = [f'"{name}"' for name in source.personal_columns]
        values = f"[{', '.join(columns)}]"
        conditions = [
            f"_record_hash in (select record_hash from {SUPPRESSED_RECORDS})",
            f"list_has_any({self._hashes_sql(values)}, {_ERASED_HASHES})",
        ]
        if source.is_events:
            extracted = f"regexp_extract_all(payload, {PAYLOAD_IDENTIFIERS}, 1)"
            conditions.append(f"list_has_any({self._hashes_sql(extracted)}, {_ERASED_HASHES})")
        return " or ".join(f"coalesce({c}, false)" for c in conditions)

    def checked_sql(self, source: Source, checked: str) -> str:
        """`checked` (rows with `_reason`) with the suppressed rows' reason set."""
        return f"""
            select * replace (
                case when _reason is null and ({self.suppressed_sql(source)})
                    then '{ERASED_REASON}' else _reason end as _reason
            )
            from ({checked})"""

    def text_sql(self, text: str, reason: str = "_reason") -> str:
        """A quarantined row's text, or null when it is suppressed or mentions an erased
        identifier."""
        tokens = (
            f"list_concat(regexp_extract_all(lower({text}), {TEXT_TOKENS}), "
            f"regexp_extract_all(lower(regexp_replace({text}, '[\\s()-]', '', 'g')), "
            f"{TEXT_TOKENS}))"
        )
        return (
            f"case when {reason} = '{ERASED_REASON}' then null "
            f"when list_has_any({self._hashes_sql(tokens)}, {_ERASED_HASHES}) then null "
            f"else {text} end"
        )


def active_suppression(con: duckdb.DuckDBPyConnection) -> Suppression | None:
    """The warehouse's suppression, or None when nobody was ever erased (nothing to check)."""
    ensure_privacy_schema(con)
    erased = con.execute(
        f"select (select count(*) from {SUPPRESSED_RECORDS}) "
        f"+ (select count(*) from {SUPPRESSED_IDENTIFIERS})"
    ).fetchone()
    if not erased or not erased[0]:
        return None
    return Suppression(salt(con))
