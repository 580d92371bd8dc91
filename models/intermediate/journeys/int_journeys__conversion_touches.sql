{{ config(**incremental_rows_config(
    unique_key='order_id',
    post_hook='delete from {{ this }} where touchpoint_id is null',
)) }}

-- depends_on: {{ ref('int_customers__touchpoints') }}

{#
    The touches of every conversion's journey, in order. A journey holds the
    customer's journey touches (int_journeys__touches) after their previous
    order and no earlier than `journey_lookback_days` (default 30) before the
    conversion, up to the conversion itself, and ends with the order, its
    last touch. A touch at the very time of an order belongs to that order's
    journey; one that no order follows within the look-back belongs to none.

    Built incrementally order by order (macros/incremental/incremental_rows.sql).
    A journey ends at its order, so a touchpoint that changed at time t (loaded
    since the last build, in the look-back window, or re-keyed) can only change
    the journeys of its customer's orders placed at t or later: a run rebuilds,
    for each customer, the orders from their earliest change on, the customer as
    it is now and as it was stored. An order that no longer has a journey (its
    channel became unknown) is written as a row without a touch and deleted by
    the post-hook.
#}
{%- set lookback_days = var('journey_lookback_days', 30) -%}

with

conversions as {{ cte_materialization(false) }} (
    select * from {{ ref('int_journeys__conversions') }}
),

touches as {{ cte_materialization(false) }} (
    select * from {{ ref('int_journeys__touches') }}
),

{% if is_incremental() %}
timeline as {{ cte_materialization(false) }} (
    select * from {{ ref('int_customers__touchpoints') }}
),

-- touchpoints of any type loaded since the last build, in the look-back window, or
-- re-keyed (a touch that lost its customer has left the journey touches)
changed_touchpoints as {{ cte_materialization(true) }} (
    select
        touchpoint_id,
        customer_id,
        record_id,
        touch_type = 'order_placed' as is_order,
        occurred_at
    from timeline
    where
        _loaded_at >= {{ incremental_loaded_since() }}
        or occurred_on >= {{ incremental_window_start('conversion_date') }}
        or customer_assigned_at > {{ incremental_assigned_since() }}
),

-- where each changed touchpoint stands now, and where it stood in a stored journey
change_positions as (
    select
        customer_id,
        occurred_at
    from changed_touchpoints
    where customer_id is not null

    union all

    select
        stored_touches.customer_id,
        stored_touches.occurred_at
    from {{ this }} as stored_touches
    inner join changed_touchpoints
        on stored_touches.touchpoint_id = changed_touchpoints.touchpoint_id
    where stored_touches.customer_id is not null
),

-- each customer's earliest change: their orders before it keep their journeys
first_changes as (
    select
        customer_id,
        min(occurred_at) as first_changed_at
    from change_positions
    group by customer_id
),

orders_to_build as {{ cte_materialization(true) }} (
    select conversions.order_id
    from conversions
    inner join first_changes
        on
            conversions.customer_id = first_changes.customer_id
            and conversions.converted_at >= first_changes.first_changed_at

    union

    -- an order whose own touchpoint changed, also when its customer is unknown
    select record_id as order_id
    from changed_touchpoints
    where is_order
),

conversions_to_build as (
    select conversions.*
    from conversions
    inner join orders_to_build
        on conversions.order_id = orders_to_build.order_id
),
{% else %}
conversions_to_build as (
    select * from conversions
),
{% endif %}

conversion_windows as (
    select
        *,
        {{ dbt.dateadd('day', -lookback_days, 'converted_at') }} as lookback_started_at
    from conversions_to_build
),

earlier_touches as (
    select
        conversion_windows.order_id,
        touches.touchpoint_id,
        touches.channel,
        touches.touch_type,
        touches.campaign_id,
        touches.occurred_at,
        false as is_conversion_touch,
        touches.customer_assigned_at,
        touches._loaded_at
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
        true as is_conversion_touch,
        touches.customer_assigned_at,
        touches._loaded_at
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
        conversion_windows.customer_id,
        conversion_windows.converted_at,
        conversion_windows.conversion_date,
        conversion_windows.converting_channel,
        conversion_windows.revenue,
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
    inner join conversion_windows
        on all_touches.order_id = conversion_windows.order_id
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
        revenue,
        customer_assigned_at,
        _loaded_at
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

{% if is_incremental() %}
-- every order rebuilt with its journey; an order left without one gets a row without a
-- touch, which deletes its stored journey and is then deleted by the post-hook
select
    orders_to_build.order_id,
    journey_steps.customer_id,
    journey_steps.touchpoint_id,
    journey_steps.touch_index,
    journey_steps.touches_count,
    journey_steps.channel,
    journey_steps.touch_type,
    journey_steps.campaign_id,
    journey_steps.occurred_at,
    journey_steps.is_conversion_touch,
    journey_steps.previous_channel,
    journey_steps.is_channel_switch,
    journey_steps.ms_before_conversion,
    journey_steps.converted_at,
    journey_steps.conversion_date,
    journey_steps.converting_channel,
    journey_steps.revenue,
    journey_steps.customer_assigned_at,
    journey_steps._loaded_at,
    journey_steps.days_before_conversion,
    journey_steps.step_index
from orders_to_build
left join journey_steps
    on orders_to_build.order_id = journey_steps.order_id
{% else %}
select * from journey_steps
{% endif %}
