{#-
    A view: its two readers (the conversion and non-converting touches) and its
    tests filter the timeline as they read it. At 1m, the model, its readers and
    its tests took 94.4 and 96.4 s with it a table (20.3 and 21.2 s of that to
    write its 23.9M rows), 82.2 and 83.0 s with it a view.
-#}
{{ config(materialized='view') }}

{#
    The journey touches: touchpoints whose type is a journey touch (seed
    journey_touch_types) and that have a channel, of a known customer. Orders
    are kept whoever placed them: an order is the last touch of its own
    journey, also when the customer is unknown.
#}
with

touchpoints as (
    select * from {{ ref('int_customers__touchpoints') }}
),

journey_touch_types as (
    select * from {{ ref('journey_touch_types') }}
    where is_journey_touch
),

journey_touches as (
    select
        touchpoints.touchpoint_id,
        touchpoints.customer_id,
        touchpoints.source_name,
        touchpoints.record_id,
        touchpoints.channel,
        touchpoints.touch_type,
        touchpoints.occurred_at,
        touchpoints.campaign_id,
        touchpoints.customer_assigned_at,
        touchpoints._loaded_at,
        touchpoints.touch_type = 'order_placed' as is_order
    from touchpoints
    inner join journey_touch_types
        on touchpoints.touch_type = journey_touch_types.touch_type
    where
        touchpoints.channel is not null
        and (touchpoints.customer_id is not null or touchpoints.touch_type = 'order_placed')
)

select * from journey_touches
