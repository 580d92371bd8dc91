{#
    The value at a dotted path of a JSON document held as text, as text: scalars
    unquoted, objects and arrays as JSON text, null when the path is missing or
    the value is JSON null. `path` is written without the leading `$.`, e.g.
    json_text('payload', 'context.device.id').

    `batch` (optional) lists every path the query reads from the same column.
    Engines that can read several paths in one parse use it: on DuckDB every
    call then shares one identical list extraction, which the engine computes
    once per row instead of parsing the document again for each path.
#}
{% macro json_text(json_column, path, batch=none) -%}
    {{ return(adapter.dispatch('json_text', 'omni360')(json_column, path, batch)) }}
{%- endmacro %}

{% macro default__json_text(json_column, path, batch) -%}
    json_value({{ json_column }}, '$.{{ path }}')
{%- endmacro %}

{% macro duckdb__json_text(json_column, path, batch) -%}
    {%- if batch and path in batch -%}
        json_extract_string({{ json_column }}, [
            {%- for each_path in batch -%}
                '$.{{ each_path }}'{% if not loop.last %}, {% endif %}
            {%- endfor -%}
        ])[{{ batch.index(path) + 1 }}]
    {%- else -%}
        json_extract_string({{ json_column }}, '$.{{ path }}')
    {%- endif -%}
{%- endmacro %}

{% macro spark__json_text(json_column, path, batch) -%}
    get_json_object({{ json_column }}, '$.{{ path }}')
{%- endmacro %}
