{#
    materialized='connected_components': the model selects the edges of a graph as
    (node_a, node_b) bigint pairs; the table built holds (node_id, component_id) for
    every node of those edges, component_id being the smallest node id of its
    connected component. See macros/identity/connected_components.sql.
#}
{% materialization connected_components, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation = make_backup_relation(target_relation, 'table') -%}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set components = connected_components(
        sql, this.identifier, this.schema, config.get('max_rounds', 100)) -%}
    {% call statement('main') -%}
        {{ get_create_table_as_sql(False, intermediate_relation, components['sql']) }}
    {%- endcall %}
    {%- do drop_connected_components_work(components) -%}

    {% if existing_relation is not none %}
        {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ drop_relation_if_exists(backup_relation) }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#
    The same stitching as an operation, for operators and the benchmark:
    dbt run-operation stitch_edges --args '{edges: main.edges, output: main.components}'
    `edges` is any relation with bigint columns node_a and node_b.
#}
{% macro stitch_edges(edges, output) %}
    {%- set parts = output.split('.') -%}
    {%- set components = connected_components(
        'select node_a, node_b from ' ~ edges, parts[-1], parts[0] if parts | length > 1
        else target.schema) -%}
    {%- do run_query('drop table if exists ' ~ output) -%}
    {%- do run_query('create table ' ~ output ~ ' as ' ~ components['sql']) -%}
    {%- do drop_connected_components_work(components) -%}
    {%- do adapter.commit() -%}
    {%- do log('stitched ' ~ edges ~ ' into ' ~ output ~ ': ' ~ components['rounds']
        ~ ' rounds, ' ~ '%.3f' % components['seconds'] ~ ' s', info=True) -%}
{% endmacro %}
