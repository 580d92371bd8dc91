{#
    The days every customer was active: placed an order or did anything else
    of their own on any channel, i.e. a touchpoint whose touch type weighs more
    than zero in seed touch_types (browsing, searching, carts, checkouts,
    orders, message opens and clicks, contacting support, signing up). What is
    sent to the customer, and what other systems record about them, is not
    activity. Days are UTC dates, up to the as-of date (int_customers__as_of).
#}
with

touchpoints as (
    select * from {{ ref('int_customers__touchpoints') }}
    where customer_id is not null
),

touch_types as (
    select * from {{ ref('touch_types') }}
    where engagement_weight > 0
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

customer_activity as (
    select
        touchpoints.customer_id,
        cast(touchpoints.occurred_at as date) as activity_date,
        count(*) as action_count
    from touchpoints
    inner join touch_types
        on touchpoints.touch_type = touch_types.touch_type
    cross join as_of
    where cast(touchpoints.occurred_at as date) <= cast(as_of.as_of_at as date)
    group by touchpoints.customer_id, cast(touchpoints.occurred_at as date)
)

select * from customer_activity
