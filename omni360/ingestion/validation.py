"""SQL that states, for each incoming record, why it breaks the contract (null when it doesn't).

Every failed rule adds a phrase; a record's reason is all its phrases joined by "; ", so a
quarantined row says everything that is wrong with it at once.
"""

from __future__ import annotations

from omni360.contract import EVENT_TYPES, SURVEY_SCALES, Column, Kind, Source

# Timestamps outside this window are impossible for this data (epoch start to a day ahead).
_TS_BOUNDS = "timestamptz '1970-01-01 00:00:00+00' and now() + interval 1 day"
_DATE_BOUNDS = "date '1900-01-01' and current_date + interval 366 day"


def _q(name: str) -> str:
    return '"' + name + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _value(expr: str) -> str:
    """The trimmed value, null when empty."""
    return f"nullif(trim({expr}), '')"


def _type_rule(kind: Kind, value: str, label: str) -> str | None:
    shown = f" in {label}: ''' || left({value}, 60) || ''''"
    if kind is Kind.TIMESTAMP:
        return (
            f"case when {value} is not null and coalesce(try_cast({value} as timestamptz) "
            f"not between {_TS_BOUNDS}, true) then 'bad timestamp{shown} end"
        )
    if kind is Kind.DATE:
        return (
            f"case when {value} is not null and coalesce(try_cast({value} as date) "
            f"not between {_DATE_BOUNDS}, true) then 'bad date{shown} end"
        )
    if kind is Kind.DECIMAL:
        return (
            f"case when {value} is not null and try_cast({value} as decimal(38, 6)) is null "
            f"then 'not a decimal{shown} end"
        )
    if kind is Kind.INTEGER:
        # A cast to bigint rounds ('2.5' would load as 3): a fractional part is no integer.
        return (
            f"case when {value} is not null and (try_cast({value} as bigint) is null "
            f"or try_cast({value} as double) <> try_cast({value} as bigint)) "
            f"then 'not an integer{shown} end"
        )
    return None


def _column_rules(column: Column, value: str, label: str) -> list[str]:
    rules = []
    if column.required:
        rules.append(f"case when {value} is null then 'missing required field {label}' end")
    typed = _type_rule(column.kind, value, label)
    if typed:
        rules.append(typed)
    if column.allowed:
        allowed = ", ".join(_lit(v) for v in column.allowed)
        rules.append(
            f"case when {value} is not null and lower({value}) not in ({allowed}) "
            f"then 'unknown {label} ''' || left({value}, 60) || '''' end"
        )
    return rules


def _survey_scale_rule() -> str:
    cases = " ".join(
        f"when {_lit(kind)} then try_cast({_value(_q('score'))} as bigint) between {lo} and {hi}"
        for kind, (lo, hi) in SURVEY_SCALES.items()
    )
    return (
        f"case when not coalesce(case lower({_value(_q('survey_type'))}) {cases} end, true) "
        "then 'score out of range for ' || lower(trim(survey_type)) end"
    )


def tabular_reason(source: Source, missing_columns: list[str]) -> str:
    """Reason expression over `_incoming` for a tabular source."""
    rules: list[str] = []
    missing_required = [c for c in source.columns if c.required and c.name in missing_columns]
    if missing_required:
        names = ", ".join(c.name for c in missing_required)
        rules.append(_lit(f"file lacks required column(s) {names}"))
    for column in source.columns:
        if column.name in missing_columns:
            continue
        rules.extend(_column_rules(column, _value(_q(column.name)), column.name))
    if source.name == "survey_responses":
        rules.append(_survey_scale_rule())
    return f"nullif(concat_ws('; ', {', '.join(rules)}), '')"


# Events: fields lifted from the JSON line (`line`) of `_incoming`.
EVENT_FIELDS = {
    "message_id": "$.messageId",
    "event_type": "$.type",
    "event_name": "$.event",
    "event_timestamp": "$.timestamp",
    "anonymous_id": "$.anonymousId",
    "user_id": "$.userId",
}


# The line as a JSON object, or null when it is not one (guards every extraction).
EVENT_OBJECT = (
    "case when json_valid(line) then case when json_type(line) = 'OBJECT' then line end end"
)


# Every field of EVENT_FIELDS extracted at once: the line is parsed once, not once per field.
EVENT_VALUES = (
    "json_extract_string(_object, ["
    + ", ".join(_lit(path) for path in EVENT_FIELDS.values())
    + "])"
)


def event_field(name: str) -> str:
    """A field of the event, trimmed, null when empty: over `_event_values` (EVENT_VALUES)."""
    position = list(EVENT_FIELDS).index(name) + 1
    return f"nullif(trim(_event_values[{position}]), '')"


def events_reason() -> str:
    """Reason expression for events, over `_incoming` with `_object` (see EVENT_OBJECT) and
    `_event_values` (EVENT_VALUES)."""
    types = ", ".join(_lit(t) for t in EVENT_TYPES)
    rules = [
        f"case when {event_field('message_id')} is null "
        "then 'missing required field messageId' end",
        f"case when {event_field('event_type')} is null then 'missing required field type' "
        f"when lower({event_field('event_type')}) not in ({types}) "
        f"then 'unknown type ''' || left({event_field('event_type')}, 60) || '''' end",
        f"case when {event_field('event_timestamp')} is null "
        "then 'missing required field timestamp' "
        f"when coalesce(try_cast({event_field('event_timestamp')} as timestamptz) "
        f"not between {_TS_BOUNDS}, true) then 'bad timestamp ''' || "
        f"left({event_field('event_timestamp')}, 60) || '''' end",
        f"case when {event_field('anonymous_id')} is null and {event_field('user_id')} is null "
        "then 'neither anonymousId nor userId' end",
        f"case when lower({event_field('event_type')}) = 'track' "
        f"and {event_field('event_name')} is null then 'track event without event name' end",
    ]
    return (
        "case when _object is null then 'not a JSON object' "
        f"else nullif(concat_ws('; ', {', '.join(rules)}), '') end"
    )
