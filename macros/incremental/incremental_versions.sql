{#
    Incremental builds of the models over the large sources (events, message
    events, orders). Each of those models keeps one row per key: the winning
    version among the raw rows delivered for it. An incremental run rebuilds
    exactly the keys that may have changed, from every raw version of them:

    - every key with a version loaded since the newest load already built
      (`_loaded_at`, stamped by the loader): late data is caught whatever its
      event time;
    - every key whose day lies in the look-back window, the last
      `incremental_lookback_days` days up to the newest day built: a safety net
      for raw tables whose `_loaded_at` does not order arrival (written by other
      ingestion, or committed out of order).

    DuckDB (default): `delete+insert` on the key, so a key that moved to another
    day leaves no copy behind. Spark (Parquet tables, no merge): dynamic
    `insert_overwrite` of day partitions, so the batch also holds every key of
    each day it touches (the day of a key's new version and of its stored one).
#}

{% macro incremental_versions_config(unique_key, day_column) -%}
    {{ return(adapter.dispatch('incremental_versions_config', 'omni360')(unique_key, day_column)) }}
{%- endmacro %}

{% macro default__incremental_versions_config(unique_key, day_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
        'tags': ['incremental'],
    }) }}
{%- endmacro %}

{% macro spark__incremental_versions_config(unique_key, day_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'file_format': 'parquet',
        'partition_by': [day_column],
        'on_schema_change': 'fail',
        'tags': ['incremental'],
    }) }}
{%- endmacro %}

{#
    A `where` clause for the raw relation of such a model: nothing on a full
    build; on an incremental run, the raw rows of the keys to rebuild.
    `key_expression` is the model's key computed from the raw row (it must
    equal `key_column` of the model); `day_expression` the raw row's day.
#}
{% macro incremental_versions_filter(raw_relation, key_expression, day_expression, key_column, day_column) -%}
    {%- if is_incremental() -%}
        where {{ key_expression }} in (
            {{ omni360.incremental_batch_keys(
                raw_relation, key_expression, day_expression, key_column, day_column) }}
        )
    {%- endif -%}
{%- endmacro %}

{#- the newest load built; the whole raw table when nothing is built yet -#}
{% macro incremental_loaded_since() -%}
    (select coalesce(max(_loaded_at), cast('1900-01-01' as timestamp)) from {{ this }})
{%- endmacro %}

{#- `expression` of every raw row loaded since the newest load built -#}
{% macro incremental_new_raw(raw_relation, expression) -%}
    select {{ expression }}
    from {{ raw_relation }}
    where _loaded_at >= {{ omni360.incremental_loaded_since() }}
{%- endmacro %}

{#- the first day of the look-back window -#}
{% macro incremental_window_start(day_column) -%}
    (
        select
            {{ dbt.dateadd('day', -1 * var('incremental_lookback_days'), 'max(' ~ day_column ~ ')') }}
        from {{ this }}
    )
{%- endmacro %}

{#- the keys an incremental run rebuilds (dispatched: Spark rebuilds whole days) -#}
{% macro incremental_batch_keys(raw_relation, key_expression, day_expression, key_column, day_column) -%}
    {{ return(adapter.dispatch('incremental_batch_keys', 'omni360')(
        raw_relation, key_expression, day_expression, key_column, day_column)) }}
{%- endmacro %}

{% macro default__incremental_batch_keys(raw_relation, key_expression, day_expression, key_column, day_column) -%}
    {{ omni360.incremental_new_raw(raw_relation, key_expression) }}
    union
    select {{ key_column }}
    from {{ this }}
    where {{ day_column }} >= {{ omni360.incremental_window_start(day_column) }}
{%- endmacro %}

{% macro spark__incremental_batch_keys(raw_relation, key_expression, day_expression, key_column, day_column) -%}
    select {{ key_column }}
    from {{ this }}
    where
        {{ day_column }} >= {{ omni360.incremental_window_start(day_column) }}
        or {{ day_column }} in (
            {{ omni360.incremental_new_raw(raw_relation, 'cast(' ~ day_expression ~ ' as date)') }}
        )
        or {{ day_column }} in (
            select stored.{{ day_column }}
            from {{ this }} as stored
            where stored.{{ key_column }} in (
                {{ omni360.incremental_new_raw(raw_relation, key_expression) }}
            )
        )
    union
    {{ omni360.incremental_new_raw(raw_relation, key_expression) }}
{%- endmacro %}

{#
    The rows of the records an incremental run rebuilds, for a model with
    several rows a record (the key of `delete+insert` is the record's key, so a
    row the record no longer gives is deleted too). Dispatched: Spark, which
    overwrites whole day partitions, takes every row of each day those records
    touch, now or as stored.
#}
{% macro incremental_record_rows(rows, records, key_columns, day_column) -%}
    {{ return(adapter.dispatch('incremental_record_rows', 'omni360')(rows, records, key_columns, day_column)) }}
{%- endmacro %}

{#- `left.k = right.k and ...` over the key columns -#}
{% macro incremental_keys_match(left, right, key_columns) -%}
    {%- for key in key_columns -%}
        {{ left }}.{{ key }} = {{ right }}.{{ key }}{% if not loop.last %} and {% endif %}
    {%- endfor -%}
{%- endmacro %}

{% macro default__incremental_record_rows(rows, records, key_columns, day_column) -%}
    select {{ rows }}.*
    from {{ rows }}
    inner join {{ records }}
        on {{ omni360.incremental_keys_match(rows, records, key_columns) }}
{%- endmacro %}

{% macro spark__incremental_record_rows(rows, records, key_columns, day_column) -%}
    select *
    from {{ rows }}
    where {{ day_column }} in (
        select {{ rows }}.{{ day_column }}
        from {{ rows }}
        inner join {{ records }}
            on {{ omni360.incremental_keys_match(rows, records, key_columns) }}
        union
        select stored.{{ day_column }}
        from {{ this }} as stored
        inner join {{ records }}
            on {{ omni360.incremental_keys_match('stored', records, key_columns) }}
    )
{%- endmacro %}
