{#
    Identifiers that more than one person uses, which must not stitch people
    together: one row per identifier and rule that flags it. The rules are seeds:
    identity_blocklist (patterns of role and placeholder values) and
    identity_sharing_rules (an identifier seen with more distinct identifiers of a
    linked type than one person has, e.g. a device used by two accounts, or given
    under more distinct first names, e.g. a family e-mail).
#}
with

nodes as (
    select * from {{ ref('int_identity__nodes') }}
),

edges as (
    select * from {{ ref('int_identity__edges') }}
),

blocklist as (
    select * from {{ ref('identity_blocklist') }}
),

sharing_rules as (
    select * from {{ ref('identity_sharing_rules') }}
),

identifier_names as (
    select * from {{ ref('int_identity__identifier_names') }}
),

blocklisted_nodes as (
    select
        nodes.node_id,
        'blocklist' as sharing_rule,
        cast(null as {{ dbt.type_string() }}) as linked_type,
        cast(null as {{ dbt.type_bigint() }}) as linked_count,
        blocklist.reason
    from nodes
    inner join blocklist
        on
            nodes.identifier_type = blocklist.identifier_type
            and {{ regexp_like('nodes.identifier', 'blocklist.pattern') }}
),

neighbours as (
    select
        node_a as node_id,
        node_b as linked_node_id,
        identifier_type_b as linked_type
    from edges
    union all
    select
        node_b as node_id,
        node_a as linked_node_id,
        identifier_type_a as linked_type
    from edges
),

linked_identifier_counts as (
    select
        node_id,
        linked_type,
        count(distinct linked_node_id) as linked_count
    from neighbours
    group by node_id, linked_type
),

first_name_counts as (
    select
        node_id,
        'first_name' as linked_type,
        count(distinct name_key) as linked_count
    from identifier_names
    group by node_id
),

linked_counts as (
    select * from linked_identifier_counts
    union all
    select * from first_name_counts
),

overlinked_nodes as (
    select
        linked_counts.node_id,
        'too_many_linked' as sharing_rule,
        linked_counts.linked_type,
        linked_counts.linked_count,
        sharing_rules.reason
    from linked_counts
    inner join nodes on linked_counts.node_id = nodes.node_id
    inner join sharing_rules
        on
            nodes.identifier_type = sharing_rules.identifier_type
            and linked_counts.linked_type = sharing_rules.linked_type
    where linked_counts.linked_count > sharing_rules.max_linked
),

flagged_nodes as (
    select * from blocklisted_nodes
    union all
    select * from overlinked_nodes
)

select
    flagged_nodes.node_id,
    nodes.identifier_type,
    nodes.identifier,
    flagged_nodes.sharing_rule,
    flagged_nodes.linked_type,
    flagged_nodes.linked_count,
    flagged_nodes.reason
from flagged_nodes
inner join nodes on flagged_nodes.node_id = nodes.node_id
