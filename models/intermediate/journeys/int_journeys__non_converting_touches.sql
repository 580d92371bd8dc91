{#
    The touches of journeys that have not converted: a customer's journey
    touches after their latest order (all of them when they never ordered),
    no earlier than `journey_lookback_days` (default 30) before the latest of
    them, the same window a conversion looks back over. One open journey per
    customer at most; the non-converting paths of the Markov model.
#}
{%- set lookback_days = var('journey_lookback_days', 30) -%}

with

touches as (
    select * from {{ ref('int_journeys__touches') }}
    where customer_id is not null and not is_order
),

conversions as (
    select * from {{ ref('int_journeys__conversions') }}
    where customer_id is not null
),

latest_conversions as (
    select
        customer_id,
        max(converted_at) as latest_converted_at
    from conversions
    group by customer_id
),

open_touches as (
    select
        touches.customer_id,
        touches.touchpoint_id,
        touches.channel,
        touches.touch_type,
        touches.campaign_id,
        touches.occurred_at,
        max(touches.occurred_at) over (partition by touches.customer_id) as last_touched_at
    from touches
    left join latest_conversions
        on touches.customer_id = latest_conversions.customer_id
    where
        latest_conversions.latest_converted_at is null
        or touches.occurred_at > latest_conversions.latest_converted_at
),

windowed_touches as (
    select *
    from open_touches
    where occurred_at >= {{ dbt.dateadd('day', -lookback_days, 'last_touched_at') }}
),

ordered_touches as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by occurred_at, touchpoint_id
        ) as touch_index,
        count(*) over (partition by customer_id) as touches_count,
        lag(channel) over (
            partition by customer_id
            order by occurred_at, touchpoint_id
        ) as previous_channel
    from windowed_touches
),

journey_steps as (
    select
        customer_id,
        touchpoint_id,
        touch_index,
        touches_count,
        channel,
        touch_type,
        campaign_id,
        occurred_at,
        last_touched_at,
        previous_channel,
        coalesce(channel <> previous_channel, false) as is_channel_switch,
        sum(
            case when previous_channel is null or channel <> previous_channel then 1 else 0 end
        ) over (
            partition by customer_id
            order by touch_index
            rows between unbounded preceding and current row
        ) as step_index
    from ordered_touches
)

select * from journey_steps
