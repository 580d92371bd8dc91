{#
    Credit of every journey touch for its conversion under six attribution
    models. Each credit is the touch's share of the conversion (the shares of
    a conversion's touches add up to 1 in every model); its share of revenue
    is credit x revenue.
#}
{%- set half_life_days = var('attribution_half_life_days', 7) -%}

with

journey_touches as (
    select * from {{ ref('int_journeys__conversion_touches') }}
),

removal_effects as (
    select * from {{ ref('int_journeys__markov_removal_effects') }}
),

journey_channels as (
    select
        order_id,
        channel,
        count(*) as channel_touches_count
    from journey_touches
    group by order_id, channel
),

-- Markov: the conversion is shared among the channels of its journey in
-- proportion to their removal effects, then evenly among a channel's touches
journey_channel_effects as (
    select
        journey_channels.order_id,
        journey_channels.channel,
        journey_channels.channel_touches_count,
        coalesce(removal_effects.removal_effect, 0) as removal_effect,
        sum(coalesce(removal_effects.removal_effect, 0)) over (
            partition by journey_channels.order_id
        ) as journey_removal_effect,
        count(*) over (partition by journey_channels.order_id) as journey_channels_count
    from journey_channels
    left join removal_effects
        on journey_channels.channel = removal_effects.channel
),

-- time decay: a touch weighs 0.5 ^ (days before the conversion / half-life)
decay_weights as (
    select
        *,
        power(0.5, days_before_conversion / {{ half_life_days }}) as time_decay_weight
    from journey_touches
),

decay_totals as (
    select
        *,
        sum(time_decay_weight) over (partition by order_id) as journey_time_decay_weight
    from decay_weights
),

credits as (
    select
        decay_totals.order_id,
        decay_totals.touchpoint_id,
        decay_totals.customer_id,
        decay_totals.touch_index,
        decay_totals.touches_count,
        decay_totals.channel,
        decay_totals.campaign_id,
        decay_totals.touch_type,
        decay_totals.occurred_at,
        decay_totals.is_conversion_touch,
        decay_totals.days_before_conversion,
        decay_totals.converted_at,
        decay_totals.conversion_date,
        decay_totals.converting_channel,
        decay_totals.revenue,
        cast(case when decay_totals.touch_index = 1 then 1 else 0 end as double)
            as first_touch_credit,
        cast(
            case when decay_totals.touch_index = decay_totals.touches_count then 1 else 0 end
            as double
        ) as last_touch_credit,
        cast(1 as double) / decay_totals.touches_count as linear_credit,
        decay_totals.time_decay_weight / decay_totals.journey_time_decay_weight
            as time_decay_credit,
        case
            when decay_totals.touches_count = 1 then cast(1 as double)
            when decay_totals.touches_count = 2 then cast(0.5 as double)
            when
                decay_totals.touch_index = 1
                or decay_totals.touch_index = decay_totals.touches_count
                then cast(0.4 as double)
            else cast(0.2 as double) / (decay_totals.touches_count - 2)
        end as position_based_credit,
        case
            when journey_channel_effects.journey_removal_effect > 0
                then
                    journey_channel_effects.removal_effect
                    / journey_channel_effects.journey_removal_effect
                    / journey_channel_effects.channel_touches_count
            else
                cast(1 as double)
                / journey_channel_effects.journey_channels_count
                / journey_channel_effects.channel_touches_count
        end as markov_credit
    from decay_totals
    inner join journey_channel_effects
        on
            decay_totals.order_id = journey_channel_effects.order_id
            and decay_totals.channel = journey_channel_effects.channel
)

select * from credits
