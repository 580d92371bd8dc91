{#
    The touches of every conversion's journey, in order. A journey holds the
    customer's journey touches (int_journeys__touches) after their previous
    order and no earlier than `journey_lookback_days` (default 30) before the
    conversion, up to the conversion itself, and ends with the order, its
    last touch. A touch at the very time of an order belongs to that order's
    journey; one that no order follows within the look-back belongs to none.
#}
{%- set lookback_days = var('journey_lookback_days', 30) -%}

with

conversions as (
    select * from {{ ref('int_journeys__conversions') }}
),

touches as (
    select * from {{ ref('int_journeys__touches') }}
),

conversion_windows as (
    select
        *,
        {{ dbt.dateadd('day', -lookback_days, 'converted_at') }} as lookback_started_at
    from conversions
),

earlier_touches as (
    select
        conversion_windows.order_id,
        touches.touchpoint_id,
        touches.channel,
        touches.touch_type,
        touches.campaign_id,
        touches.occurred_at,
        false as is_conversion_touch
    from conversion_windows
    inner join touches
        on conversion_windows.customer_id = touches.customer_id
    where
        not touches.is_order
        and touches.occurred_at >= conversion_windows.lookback_started_at
        and touches.occurred_at <= conversion_windows.converted_at
        and (
            conversion_windows.previous_converted_at is null
            or touches.occurred_at > conversion_windows.previous_converted_at
        )
),

conversion_touches as (
    select
        conversion_windows.order_id,
        touches.touchpoint_id,
        touches.channel,
        touches.touch_type,
        touches.campaign_id,
        touches.occurred_at,
        true as is_conversion_touch
    from conversion_windows
    inner join touches
        on
            conversion_windows.order_id = touches.record_id
            and touches.is_order
),

all_touches as (
    select * from earlier_touches
    union all
    select * from conversion_touches
),

ordered_touches as (
    select
        all_touches.*,
        conversions.customer_id,
        conversions.converted_at,
        conversions.conversion_date,
        conversions.converting_channel,
        conversions.revenue,
        row_number() over (
            partition by all_touches.order_id
            order by
                all_touches.occurred_at,
                case when all_touches.is_conversion_touch then 1 else 0 end,
                all_touches.touchpoint_id
        ) as touch_index,
        count(*) over (partition by all_touches.order_id) as touches_count,
        lag(all_touches.channel) over (
            partition by all_touches.order_id
            order by
                all_touches.occurred_at,
                case when all_touches.is_conversion_touch then 1 else 0 end,
                all_touches.touchpoint_id
        ) as previous_channel
    from all_touches
    inner join conversions
        on all_touches.order_id = conversions.order_id
),

journey_touches as (
    select
        order_id,
        customer_id,
        touchpoint_id,
        touch_index,
        touches_count,
        channel,
        touch_type,
        campaign_id,
        occurred_at,
        is_conversion_touch,
        previous_channel,
        coalesce(channel <> previous_channel, false) as is_channel_switch,
        {{ dbt.datediff('occurred_at', 'converted_at', 'millisecond') }}
            as ms_before_conversion,
        converted_at,
        conversion_date,
        converting_channel,
        revenue
    from ordered_touches
),

journey_steps as (
    select
        *,
        cast(ms_before_conversion as double) / 86400000 as days_before_conversion,
        sum(case when previous_channel is null or is_channel_switch then 1 else 0 end) over (
            partition by order_id
            order by touch_index
            rows between unbounded preceding and current row
        ) as step_index
    from journey_touches
)

select * from journey_steps
