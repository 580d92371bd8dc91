{#
    An ISO-8601 text timestamp as a UTC `timestamp` without time zone.
    A value with an offset or zone (`Z`, `+03:00`, `-0500`, ...) is converted to
    UTC; a value without one is already UTC and kept as it is. Accepts 'T' or
    space between date and time, optional seconds and fractional seconds, and a
    bare date (midnight UTC). Empty text gives null.
#}
{% macro to_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'omni360')(column)) }}
{%- endmacro %}

{#- true when the trimmed text carries no offset or zone -#}
{% macro is_naive_timestamp(value) -%}
    {{ omni360.regexp_like(
        'upper(' ~ value ~ ')',
        "'^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?$'"
    ) }}
{%- endmacro %}

{# Postgres-style engines (DuckDB included): timestamptz, then its UTC wall clock. #}
{% macro default__to_utc_timestamp(column) -%}
    {%- set value = "nullif(trim(" ~ column ~ "), '')" -%}
    case
        when {{ omni360.is_naive_timestamp(value) }}
            then cast({{ value }} as timestamp)
        else cast(cast({{ value }} as timestamptz) at time zone 'UTC' as timestamp)
    end
{%- endmacro %}

{#
    Spark timestamps are instants shown in the session time zone: text with an
    offset casts to the right instant; text without one is read as session
    time, so it is shifted from UTC into the session zone.
#}
{% macro spark__to_utc_timestamp(column) -%}
    {%- set value = "nullif(trim(" ~ column ~ "), '')" -%}
    case
        when {{ omni360.is_naive_timestamp(value) }}
            then from_utc_timestamp(cast({{ value }} as timestamp), current_timezone())
        else cast({{ value }} as timestamp)
    end
{%- endmacro %}
