{#
    Where every customer acts, by channel. An action is a touchpoint of the
    customer whose touch type has an engagement weight above zero in seed
    touch_types (own actions: browsing, carts, checkouts, orders, message opens
    and clicks, contacts with support; not what was sent to them).

    Channel score = sum of the weights of the customer's actions on the
    channel. The preferred channel is the channel with the highest score over
    the 90 days up to int_customers__as_of; ties (and customers with no action
    in those 90 days) go to the highest all-time score, then the latest action,
    then the channel name. Channels used: every channel the customer ever acted
    on.
#}
{%- set window_days = 90 -%}

with

touchpoints as (
    select * from {{ ref('int_customers__touchpoints') }}
    where customer_id is not null and channel is not null
),

touch_types as (
    select * from {{ ref('touch_types') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

customer_actions as (
    select
        touchpoints.customer_id,
        touchpoints.channel,
        touchpoints.occurred_at,
        touch_types.engagement_weight,
        case
            when
                touchpoints.occurred_at > {{ dbt.dateadd('day', -window_days, 'as_of.as_of_at') }}
                and touchpoints.occurred_at <= as_of.as_of_at
                then touch_types.engagement_weight
            else 0
        end as recent_weight
    from touchpoints
    inner join touch_types
        on touchpoints.touch_type = touch_types.touch_type
    cross join as_of
    where touch_types.engagement_weight > 0
),

channel_scores as (
    select
        customer_id,
        channel,
        sum(recent_weight) as recent_score,
        sum(engagement_weight) as all_time_score,
        min(occurred_at) as first_action_at,
        max(occurred_at) as last_action_at
    from customer_actions
    group by customer_id, channel
),

ranked_channels as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by
                recent_score desc,
                all_time_score desc,
                last_action_at desc,
                channel asc
        ) as preference_rank
    from channel_scores
),

customer_engagement as (
    select
        customer_id,
        count(*) as channels_used_count,
        {{ sorted_listagg('channel') }} as channels_used,
        max(case when preference_rank = 1 then channel end) as preferred_channel,
        max(case when preference_rank = 1 then recent_score end) as preferred_channel_score_90d,
        sum(recent_score) as engagement_score_90d,
        sum(all_time_score) as engagement_score_all_time,
        min(first_action_at) as first_active_at,
        max(last_action_at) as last_active_at,
        count(*) >= 2 as is_multichannel
    from ranked_channels
    group by customer_id
)

select * from customer_engagement
