{#
    dbt.safe_cast (null instead of an error when the text does not convert) for
    the engines whose dbt adapter falls back to a plain cast. Dispatched from
    dbt's own `safe_cast`, which looks in this project first.
#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
