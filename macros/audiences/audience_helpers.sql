{#
    Helpers of the audience models (models/audiences, docs/audiences.md).
#}

{# The columns every audience model outputs, in order: the audience contract. #}
{% macro audience_contract_columns() -%}
    {{ return([
        'audience_name', 'customer_id', 'channel', 'address_type', 'address',
        'channel_order', 'fallback_from_channel', 'cost_per_message', 'first_name',
        'is_holdout', 'reason', 'attributes', 'computed_at', 'priority',
    ]) }}
{%- endmacro %}

{#
    The configuration of an audience: its entry of var `audiences`, with
    defaults filled in (priority 0, holdout_percent 0, channels null = every
    channel, allow_human false). A compilation error when the audience has no
    entry or a setting is out of range.
#}
{% macro audience_config(audience_name) -%}
    {%- set audiences = var('audiences', {}) or {} -%}
    {%- if audience_name not in audiences -%}
        {{ exceptions.raise_compiler_error(
            "Audience '" ~ audience_name ~ "' is not configured: add it under vars: audiences: "
            ~ "in dbt_project.yml, e.g. " ~ audience_name
            ~ ": {priority: 10, holdout_percent: 10, channels: null, allow_human: false}"
        ) }}
    {%- endif -%}
    {%- set settings = audiences[audience_name] or {} -%}
    {%- set resolved = {
        'priority': settings.get('priority', 0),
        'holdout_percent': settings.get('holdout_percent', 0),
        'channels': settings.get('channels', none),
        'allow_human': settings.get('allow_human', false),
    } -%}
    {%- if resolved['holdout_percent'] is not number
        or resolved['holdout_percent'] < 0 or resolved['holdout_percent'] > 100 -%}
        {{ exceptions.raise_compiler_error(
            "Audience '" ~ audience_name ~ "': holdout_percent must be a number from 0 to 100, not "
            ~ resolved['holdout_percent']
        ) }}
    {%- endif -%}
    {%- if resolved['priority'] is not number -%}
        {{ exceptions.raise_compiler_error(
            "Audience '" ~ audience_name ~ "': priority must be a number, not " ~ resolved['priority']
        ) }}
    {%- endif -%}
    {%- if resolved['channels'] is not none
        and (resolved['channels'] is string or resolved['channels'] | length == 0) -%}
        {{ exceptions.raise_compiler_error(
            "Audience '" ~ audience_name ~ "': channels must be null or a non-empty list of "
            ~ "channels of seed channel_catalog, e.g. [email, sms]"
        ) }}
    {%- endif -%}
    {{ return(resolved) }}
{%- endmacro %}

{#
    A JSON object as text from (key, SQL expression) pairs, for the
    `attributes` of an audience member, null values as JSON null. Dispatched:
    DuckDB json_object, Spark to_json(named_struct(...)) with ignoreNullFields
    off (by default it leaves null values out), default json_build_object.
#}
{% macro json_object_text(pairs) -%}
    {{ return(adapter.dispatch('json_object_text', 'omni360')(pairs)) }}
{%- endmacro %}

{% macro default__json_object_text(pairs) -%}
    cast(json_build_object(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__json_object_text(pairs) -%}
    cast(json_object(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro spark__json_object_text(pairs) -%}
    to_json(named_struct(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}

{#
    A stable bucket from 0 to buckets - 1 for a text: the first 8 hex digits of
    its md5 as an integer, modulo buckets. The same text always falls in the
    same bucket, on every engine. Dispatched for the hex conversion.
#}
{% macro stable_bucket(expression, buckets=100) -%}
    ({{ hex_to_bigint('substr(' ~ dbt.hash(expression) ~ ', 1, 8)') }} % {{ buckets }})
{%- endmacro %}

{% macro hex_to_bigint(expression) -%}
    {{ return(adapter.dispatch('hex_to_bigint', 'omni360')(expression)) }}
{%- endmacro %}

{% macro default__hex_to_bigint(expression) -%}
    cast(('0x' || {{ expression }}) as bigint)
{%- endmacro %}

{% macro spark__hex_to_bigint(expression) -%}
    cast(conv({{ expression }}, 16, 10) as bigint)
{%- endmacro %}
