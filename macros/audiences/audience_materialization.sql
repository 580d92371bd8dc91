{#
    materialized='audience' (every model of models/audiences): the model's SQL
    (ending with audience_members) selects every candidate of the audience with
    its outcome. Two tables are built from it:
    - <model>__outcomes: every candidate with the contract columns, outcome,
      eligible_channel_count, max_eligible_cost_per_message and
      recent_message_count (read by fct_audience_summary);
    - <model>: the members (outcome = member) with the contract columns only,
      what the sync engine reads.
#}
{% materialization audience, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set outcomes_relation = audience_outcomes_relation(this) -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation = make_backup_relation(target_relation, 'table') -%}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% do adapter.drop_relation(outcomes_relation) %}
    {% call statement('outcomes') -%}
        {{ get_create_table_as_sql(False, outcomes_relation, sql) }}
    {%- endcall %}

    {%- set members_sql -%}
        select
            {{ audience_contract_columns() | join(',\n            ') }}
        from {{ outcomes_relation }}
        where outcome = 'member'
    {%- endset -%}
    {% call statement('main') -%}
        {{ get_create_table_as_sql(False, intermediate_relation, members_sql) }}
    {%- endcall %}

    {% if existing_relation is not none %}
        {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ drop_relation_if_exists(backup_relation) }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation, outcomes_relation]}) }}
{% endmaterialization %}

{# The outcomes table of an audience model's relation: same schema, name + `__outcomes`. #}
{% macro audience_outcomes_relation(members_relation) -%}
    {{ return(members_relation.incorporate(
        path={'identifier': members_relation.identifier ~ '__outcomes'}, type='table')) }}
{%- endmacro %}
