{#
    The values of `measure` in a group as one text, sorted ascending and
    separated by `delimiter_text` (a SQL string literal), so the same set
    always gives the same text. Feed it distinct values for a distinct list.
#}
{% macro sorted_listagg(measure, delimiter_text="', '") -%}
    {{ return(adapter.dispatch('sorted_listagg', 'omni360')(measure, delimiter_text)) }}
{%- endmacro %}

{% macro default__sorted_listagg(measure, delimiter_text) -%}
    {{ dbt.listagg(measure, delimiter_text, 'order by ' ~ measure) }}
{%- endmacro %}

{#- dbt-spark's listagg ignores the order: sort the collected array instead -#}
{% macro spark__sorted_listagg(measure, delimiter_text) -%}
    array_join(array_sort(collect_list({{ measure }})), {{ delimiter_text }})
{%- endmacro %}
