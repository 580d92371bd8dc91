{#
    The value at a dotted path of a JSON document held as text, as text: scalars
    unquoted, objects and arrays as JSON text, null when the path is missing or
    the value is JSON null. `path` is written without the leading `$.`, e.g.
    json_text('payload', 'context.device.id').
#}
{% macro json_text(json_column, path) -%}
    {{ return(adapter.dispatch('json_text', 'omni360')(json_column, path)) }}
{%- endmacro %}

{% macro default__json_text(json_column, path) -%}
    json_value({{ json_column }}, '$.{{ path }}')
{%- endmacro %}

{% macro duckdb__json_text(json_column, path) -%}
    json_extract_string({{ json_column }}, '$.{{ path }}')
{%- endmacro %}

{% macro spark__json_text(json_column, path) -%}
    get_json_object({{ json_column }}, '$.{{ path }}')
{%- endmacro %}
