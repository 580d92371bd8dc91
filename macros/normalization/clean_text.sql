{# Trimmed text; null when nothing is left. For identifiers and free text. #}
{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{# Trimmed, lower-case text; null when nothing is left. For enum values. #}
{% macro clean_enum(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}
