{#
    Every link between two identifiers that the stitching ignored, and why: one
    row per linked pair, source, shared identifier at either end and rule that
    flagged it.
#}
with

edges as (
    select * from {{ ref('int_identity__edges') }}
),

shared_identifiers as (
    select * from {{ ref('int_identity__shared_identifiers') }}
),

nodes as (
    select * from {{ ref('int_identity__nodes') }}
),

edge_ends as (
    select
        node_a,
        node_b,
        source_name,
        node_a as shared_node_id
    from edges
    union all
    select
        node_a,
        node_b,
        source_name,
        node_b as shared_node_id
    from edges
),

suppressions as (
    select
        edge_ends.node_a,
        edge_ends.node_b,
        edge_ends.source_name,
        shared_identifiers.identifier_type as shared_identifier_type,
        shared_identifiers.identifier as shared_identifier,
        shared_identifiers.sharing_rule,
        shared_identifiers.linked_type,
        shared_identifiers.linked_count,
        shared_identifiers.reason as rule_reason
    from edge_ends
    inner join shared_identifiers on edge_ends.shared_node_id = shared_identifiers.node_id
)

select
    {{ generate_surrogate_key([
        'suppressions.node_a', 'suppressions.node_b', 'suppressions.source_name',
        'suppressions.shared_identifier_type', 'suppressions.shared_identifier',
        'suppressions.sharing_rule', 'suppressions.linked_type']) }} as suppression_id,
    edges.identifier_type_a,
    nodes_a.identifier as identifier_a,
    edges.identifier_type_b,
    nodes_b.identifier as identifier_b,
    edges.source_name,
    edges.first_seen_at,
    edges.last_seen_at,
    edges.observation_count,
    suppressions.shared_identifier_type,
    suppressions.shared_identifier,
    suppressions.sharing_rule,
    suppressions.linked_type,
    suppressions.linked_count,
    case
        when suppressions.sharing_rule = 'blocklist'
            then
                suppressions.shared_identifier_type || ' on the block list: '
                || suppressions.rule_reason
        else
            suppressions.shared_identifier_type || ' seen with '
            || cast(suppressions.linked_count as {{ dbt.type_string() }}) || ' distinct '
            || suppressions.linked_type || ': ' || suppressions.rule_reason
    end as reason
from suppressions
inner join edges
    on
        suppressions.node_a = edges.node_a
        and suppressions.node_b = edges.node_b
        and suppressions.source_name = edges.source_name
inner join nodes as nodes_a on edges.node_a = nodes_a.node_id
inner join nodes as nodes_b on edges.node_b = nodes_b.node_id
