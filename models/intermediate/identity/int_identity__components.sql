{{ config(materialized='connected_components') }}

{#
    The graph that is stitched: every edge between two identifiers that are not
    shared. The connected_components materialization turns these edges into
    (node_id, component_id).
#}
with

edges as (
    select * from {{ ref('int_identity__edges') }}
),

shared_identifiers as (
    select * from {{ ref('int_identity__shared_identifiers') }}
),

shared_nodes as (
    select distinct node_id from shared_identifiers
)

select distinct
    edges.node_a,
    edges.node_b
from edges
left join shared_nodes as shared_a on edges.node_a = shared_a.node_id
left join shared_nodes as shared_b on edges.node_b = shared_b.node_id
where shared_a.node_id is null and shared_b.node_id is null
