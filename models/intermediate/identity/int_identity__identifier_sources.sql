{#
    Every identifier as each source observed it: one row per identifier type,
    identifier and source, with when and how often that source saw it. Counted
    once for the identity nodes and the customers' identifier traits, which
    both need each identifier per source: the observations outnumber these
    rows several times over.
#}
with

observations as (
    select * from {{ ref('int_identity__observations') }}
),

identifier_sources as (
    select
        identifier_type,
        identifier,
        source_name,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        min(_loaded_at) as first_loaded_at,
        count(*) as observation_count
    from observations
    group by identifier_type, identifier, source_name
)

select * from identifier_sources
