{#
    Channel paths of the journeys that ended in a purchase, ranked by the
    conversions they led to (then revenue, then the path text).
#}
with

journeys as (
    select * from {{ ref('fct_journeys') }}
),

path_totals as (
    select
        channel_path,
        max(path_steps_count) as path_steps_count,
        max(channels_count) as channels_count,
        count(*) as conversions,
        sum(revenue) as revenue,
        sum(touches_count) as touches_count,
        sum(decision_cycle_days) as decision_cycle_days,
        min(converted_at) as first_converted_at,
        max(converted_at) as last_converted_at
    from journeys
    group by channel_path
),

ranked_paths as (
    select
        channel_path,
        path_steps_count,
        channels_count,
        conversions,
        revenue,
        first_converted_at,
        last_converted_at,
        cast(revenue / conversions as decimal(18, 2)) as revenue_per_conversion,
        cast(conversions as double) / sum(conversions) over () as conversion_share,
        cast(revenue as double) / nullif(sum(revenue) over (), 0) as revenue_share,
        cast(touches_count as double) / conversions as average_touches,
        round(cast(decision_cycle_days as double) / conversions, 2)
            as average_decision_cycle_days,
        row_number() over (
            order by conversions desc, revenue desc, channel_path asc
        ) as path_rank
    from path_totals
)

select
    path_rank,
    channel_path,
    path_steps_count,
    channels_count,
    conversions,
    conversion_share,
    revenue,
    revenue_share,
    revenue_per_conversion,
    average_touches,
    average_decision_cycle_days,
    first_converted_at,
    last_converted_at
from ranked_paths
