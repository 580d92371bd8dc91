{#
    Connected components of an undirected graph, set-based, in rounds of plain SQL
    that run on every engine (work tables are the only engine-specific part).

    Each round r works on an edge set E_r stored once per pair as (node_lo, node_hi),
    node_lo < node_hi:
      1. hook: a node whose smallest neighbour m is a local minimum (a node with no
         smaller neighbour, so it stays put this round) points to m. Hooking only onto
         nodes that stay keeps every hook one step long: no pointer chasing in a round.
      2. contract: E_{r+1} = distinct (h(lo), h(hi)) without self-loops, where h(v) is
         v's hook, or v itself when it did not move.
    A node that moved never appears again, so the edge set shrinks every round and
    the loop stops when it is empty. The smallest node of a component is a local
    minimum whose neighbours all hook onto it, so every round makes progress; with
    node ids in random order (our node ids are hashes) a constant share of a path's
    nodes move each round, so rounds grow like log(n) even on long chains, and stars
    and cycles collapse in one or two rounds. The root of a node is then found by
    walking the hooks backwards from the last round: each round's hooks resolve
    through the (much smaller) later rounds.

    Returns the select of (node_id, component_id) for every node of every edge,
    component_id being the smallest node id of the component, and leaves the work
    tables for `drop_connected_components_work` to remove.
#}
{% macro connected_components(edges_sql, work_prefix, work_schema, max_rounds=100) %}
    {%- set started = modules.datetime.datetime.now() -%}
    {#- Jinja forgets assignments made inside a loop: the loop's state lives in a dict. -#}
    {%- set state = {'edges': cc_work_name(work_prefix, work_schema, 'edges', 0)} -%}
    {%- do create_cc_work_table(state.edges, work_schema, cc_initial_edges_sql(edges_sql)) -%}
    {%- do state.update({'edge_count': cc_row_count(state.edges)}) -%}
    {%- do log('connected components: ' ~ state.edge_count ~ ' distinct edges', info=True) -%}
    {%- set rounds = [] -%}
    {%- for round in range(max_rounds) if state.edge_count > 0 -%}
        {%- set hooks = cc_work_name(work_prefix, work_schema, 'hooks', round) -%}
        {%- set next_edges = cc_work_name(work_prefix, work_schema, 'edges', round + 1) -%}
        {%- do create_cc_work_table(hooks, work_schema, cc_hooks_sql(state.edges)) -%}
        {%- do create_cc_work_table(
            next_edges, work_schema, cc_contract_sql(state.edges, hooks)) -%}
        {%- do drop_cc_work_table(state.edges) -%}
        {%- do rounds.append(hooks) -%}
        {%- do state.update({'edges': next_edges, 'edge_count': cc_row_count(next_edges)}) -%}
        {%- do log('connected components: round ' ~ (round + 1) ~ ', '
            ~ state.edge_count ~ ' edges left', info=True) -%}
    {%- endfor -%}
    {%- if state.edge_count > 0 -%}
        {%- do exceptions.raise_compiler_error(
            'connected components did not converge in ' ~ max_rounds ~ ' rounds') -%}
    {%- endif -%}
    {%- do drop_cc_work_table(state.edges) -%}
    {%- do state.update({'roots': cc_work_name(work_prefix, work_schema, 'roots', 0)}) -%}
    {%- if rounds -%}
        {%- do create_cc_work_table(
            state.roots, work_schema, cc_last_round_roots_sql(rounds[-1])) -%}
        {%- for hooks in rounds[:-1] | reverse -%}
            {%- set resolved = cc_work_name(work_prefix, work_schema, 'roots', loop.index) -%}
            {%- do create_cc_work_table(
                resolved, work_schema, cc_resolve_roots_sql(hooks, state.roots)) -%}
            {%- do drop_cc_work_table(state.roots) -%}
            {%- do state.update({'roots': resolved}) -%}
        {%- endfor -%}
    {%- else -%}
        {%- do create_cc_work_table(state.roots, work_schema, cc_no_roots_sql()) -%}
    {%- endif -%}
    {%- for hooks in rounds -%}
        {%- do drop_cc_work_table(hooks) -%}
    {%- endfor -%}
    {%- set seconds = (modules.datetime.datetime.now() - started).total_seconds() -%}
    {%- do log('connected components: converged in ' ~ rounds | length ~ ' rounds, '
        ~ '%.3f' % seconds ~ ' s', info=True) -%}
    {{ return({'sql': cc_components_sql(state.roots), 'work_relation': state.roots,
               'rounds': rounds | length, 'seconds': seconds}) }}
{% endmacro %}


{% macro cc_initial_edges_sql(edges_sql) %}
    select distinct
        least(node_a, node_b) as node_lo,
        greatest(node_a, node_b) as node_hi
    from ({{ edges_sql }}) as input_edges
    where node_a is not null and node_b is not null and node_a <> node_b
{% endmacro %}


{% macro cc_hooks_sql(edges) %}
    with

    smallest_neighbours as (
        select
            node_hi as node_id,
            min(node_lo) as neighbour_id
        from {{ edges }}
        group by node_hi
    )

    select
        moving.node_id,
        moving.neighbour_id as parent_id
    from smallest_neighbours as moving
    left join smallest_neighbours as neighbour_moving
        on moving.neighbour_id = neighbour_moving.node_id
    where neighbour_moving.node_id is null
{% endmacro %}


{% macro cc_contract_sql(edges, hooks) %}
    select distinct
        least(
            coalesce(lo_hooks.parent_id, edges.node_lo), coalesce(hi_hooks.parent_id, edges.node_hi)
        ) as node_lo,
        greatest(
            coalesce(lo_hooks.parent_id, edges.node_lo), coalesce(hi_hooks.parent_id, edges.node_hi)
        ) as node_hi
    from {{ edges }} as edges
    left join {{ hooks }} as lo_hooks on edges.node_lo = lo_hooks.node_id
    left join {{ hooks }} as hi_hooks on edges.node_hi = hi_hooks.node_id
    where coalesce(lo_hooks.parent_id, edges.node_lo) <> coalesce(hi_hooks.parent_id, edges.node_hi)
{% endmacro %}


{# The last round's hooks point at roots: nothing moved after them. #}
{% macro cc_last_round_roots_sql(hooks) %}
    select node_id, parent_id as root_id from {{ hooks }}
{% endmacro %}


{# Hooks of an earlier round point at nodes that either moved later or are roots. #}
{% macro cc_resolve_roots_sql(hooks, later_roots) %}
    select
        hooks.node_id,
        coalesce(later_roots.root_id, hooks.parent_id) as root_id
    from {{ hooks }} as hooks
    left join {{ later_roots }} as later_roots on hooks.parent_id = later_roots.node_id
    union all
    select node_id, root_id from {{ later_roots }}
{% endmacro %}


{% macro cc_no_roots_sql() %}
    select cast(null as bigint) as node_id, cast(null as bigint) as root_id where 1 = 0
{% endmacro %}


{# Every moved node with its root, and every root with itself. #}
{% macro cc_components_sql(roots) %}
    select node_id, root_id as component_id from {{ roots }}
    union all
    select distinct root_id as node_id, root_id as component_id from {{ roots }}
{% endmacro %}


{% macro cc_row_count(relation) %}
    {%- set result = run_query('select count(*) from ' ~ relation) -%}
    {{ return(result.columns[0].values()[0] | int) }}
{% endmacro %}


{% macro drop_connected_components_work(result) %}
    {%- do drop_cc_work_table(result['work_relation']) -%}
{% endmacro %}


{#
    Work tables: DuckDB keeps them as temporary tables of the connection; Spark
    (and the default) writes real tables in the model's schema, because a lazy
    temporary view would make every round recompute all the rounds before it.
#}
{% macro cc_work_name(prefix, schema, kind, round) %}
    {{ return(adapter.dispatch('cc_work_name', 'omni360')(prefix, schema, kind, round)) }}
{% endmacro %}

{% macro default__cc_work_name(prefix, schema, kind, round) %}
    {{ return(schema ~ '.' ~ prefix ~ '__cc_' ~ kind ~ '_' ~ round) }}
{% endmacro %}

{% macro duckdb__cc_work_name(prefix, schema, kind, round) %}
    {{ return(prefix ~ '__cc_' ~ kind ~ '_' ~ round) }}
{% endmacro %}


{% macro create_cc_work_table(name, schema, select_sql) %}
    {{ return(adapter.dispatch('create_cc_work_table', 'omni360')(name, schema, select_sql)) }}
{% endmacro %}

{% macro default__create_cc_work_table(name, schema, select_sql) %}
    {%- do run_query('drop table if exists ' ~ name) -%}
    {%- do run_query('create table ' ~ name ~ ' as ' ~ select_sql) -%}
{% endmacro %}

{% macro duckdb__create_cc_work_table(name, schema, select_sql) %}
    {%- do run_query('create or replace temp table ' ~ name ~ ' as ' ~ select_sql) -%}
{% endmacro %}


{% macro drop_cc_work_table(name) %}
    {%- do run_query('drop table if exists ' ~ name) -%}
{% endmacro %}
