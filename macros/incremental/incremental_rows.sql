{#
    Models kept incrementally row by row downstream of the identity graph (the
    customer of each record, the journey sessions): an incremental run deletes
    and inserts the rows of the keys it rebuilds. Dispatched: Spark, whose
    Parquet tables can neither delete nor merge rows, rebuilds them as tables.
    Tagged `incremental` on every engine: `+tag:incremental` selects what a
    next day's run must rebuild, whatever the engine materializes.
#}
{% macro incremental_rows_config(unique_key, post_hook=none) -%}
    {{ return(adapter.dispatch('incremental_rows_config', 'omni360')(unique_key, post_hook)) }}
{%- endmacro %}

{% macro default__incremental_rows_config(unique_key, post_hook) -%}
    {%- set model_config = {
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
        'tags': ['incremental'],
    } -%}
    {%- if post_hook -%}
        {%- do model_config.update({'post_hook': post_hook}) -%}
    {%- endif -%}
    {{ return(model_config) }}
{%- endmacro %}

{% macro spark__incremental_rows_config(unique_key, post_hook) -%}
    {{ return({'materialized': 'table', 'tags': ['incremental']}) }}
{%- endmacro %}

{#-
    The records of `assignments` (int_identity__record_customers) whose customer
    was assigned after the newest assignment the current model has stored (its
    own `customer_assigned_at` column): the records re-keyed since its last build.
-#}
{% macro reassigned_records(assignments) -%}
    select
        source_name,
        record_id
    from {{ assignments }}
    where customer_assigned_at > {{ omni360.incremental_assigned_since() }}
{%- endmacro %}

{#- the newest assignment the current model holds; 1900-01-01 when it holds none -#}
{% macro incremental_assigned_since() -%}
    (select coalesce(max(customer_assigned_at), cast('1900-01-01' as timestamp)) from {{ this }})
{%- endmacro %}
