{# A KPI value as text for messages: four decimals, 'n/a' when missing. #}
{% macro kpi_number(expression) -%}
    coalesce(cast(round({{ expression }}, 4) as {{ dbt.type_string() }}), 'n/a')
{%- endmacro %}
