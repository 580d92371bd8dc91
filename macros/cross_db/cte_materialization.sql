{#
    What a CTE's `as` is followed by to say whether the engine stores the CTE's
    rows once (`materialized`) or reads its query again where it is used (`not
    materialized`). DuckDB stores any CTE used more than once, so an import CTE
    of a large table read in two places is copied whole: say `not materialized`
    there, and `materialized` for a small batch used several times. Engines
    without the hint (Spark) get nothing and plan as they do.
#}
{% macro cte_materialization(materialize) -%}
    {{ return(adapter.dispatch('cte_materialization', 'omni360')(materialize)) }}
{%- endmacro %}

{% macro default__cte_materialization(materialize) -%}
{%- endmacro %}

{% macro duckdb__cte_materialization(materialize) -%}
    {{ 'materialized' if materialize else 'not materialized' }}
{%- endmacro %}
