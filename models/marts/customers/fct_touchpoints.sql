{#- a view: the timeline's rows are kept incrementally in int_customers__touchpoints -#}
{{ config(materialized='view') }}

{#
    The unified customer timeline: every interaction of every source, one row
    each, with its channel's group and the engagement weight of its touch type.
#}
with

touchpoints as (
    select * from {{ ref('int_customers__touchpoints') }}
),

channels as (
    select * from {{ ref('channels') }}
),

touch_types as (
    select * from {{ ref('touch_types') }}
),

timeline as (
    select
        touchpoints.touchpoint_id,
        touchpoints.customer_id,
        touchpoints.source_name,
        touchpoints.record_id,
        touchpoints.channel,
        channels.channel_group,
        touchpoints.touch_type,
        touch_types.engagement_weight,
        touchpoints.occurred_at,
        touchpoints.touch_value,
        touchpoints.currency,
        touchpoints.campaign_id
    from touchpoints
    left join channels
        on touchpoints.channel = channels.channel
    left join touch_types
        on touchpoints.touch_type = touch_types.touch_type
)

select * from timeline
