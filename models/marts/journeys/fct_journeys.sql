{#
    One row per conversion (an order placed, from the orders feed): the
    journey that led to it, from its first touch to the order, its last touch
    (see int_journeys__conversion_touches for which touches a journey holds).
#}
with

conversions as (
    select * from {{ ref('int_journeys__conversions') }}
),

journey_touches as (
    select * from {{ ref('int_journeys__conversion_touches') }}
),

-- one path step per run of touches on the same channel; sorting the
-- zero-padded step numbers keeps the order on every engine
path_steps as (
    select distinct
        order_id,
        step_index,
        channel,
        {{ dbt.concat([
            "lpad(cast(step_index as " ~ dbt.type_string() ~ "), 4, '0')",
            "':'",
            'channel',
        ]) }} as numbered_step
    from journey_touches
),

paths as (
    select
        order_id,
        count(*) as path_steps_count,
        {{ regexp_replace_all(
            sorted_listagg('numbered_step', "' > '"), "'[0-9]{4}:'", "''"
        ) }} as channel_path
    from path_steps
    group by order_id
),

journey_facts as (
    select
        order_id,
        count(*) as touches_count,
        count(distinct channel) as channels_count,
        sum(case when is_channel_switch then 1 else 0 end) as channel_switches_count,
        min(occurred_at) as journey_started_at,
        max(case when touch_index = 1 then channel end) as first_touch_channel,
        max(case when touch_index = touches_count then channel end) as last_touch_channel
    from journey_touches
    group by order_id
),

journeys as (
    select
        conversions.order_id,
        conversions.customer_id,
        conversions.converted_at,
        conversions.conversion_date,
        conversions.converting_channel,
        conversions.order_status,
        conversions.revenue,
        conversions.net_revenue,
        conversions.revenue_currency,
        conversions.customer_order_number,
        journey_facts.journey_started_at,
        round(
            cast(
                {{ dbt.datediff(
                    'journey_facts.journey_started_at', 'conversions.converted_at', 'millisecond'
                ) }} as double
            ) / 86400000,
            2
        ) as decision_cycle_days,
        journey_facts.touches_count,
        journey_facts.touches_count - 1 as touches_before_conversion_count,
        journey_facts.channels_count,
        journey_facts.channel_switches_count,
        paths.path_steps_count,
        paths.channel_path,
        journey_facts.first_touch_channel,
        journey_facts.last_touch_channel,
        journey_facts.channels_count >= 2 as is_cross_channel,
        journey_facts.first_touch_channel <> conversions.converting_channel
            as is_completed_in_other_channel
    from conversions
    inner join journey_facts
        on conversions.order_id = journey_facts.order_id
    inner join paths
        on conversions.order_id = paths.order_id
)

select * from journeys
