{#
    High purchase propensity: a transparent score, no model. Among customers
    with no order in the last var `audience_propensity_recent_order_days`
    (default 30) days up to int_customers__as_of and some recent engagement:

        propensity_score = engagement_score_90d
                           + 5 x frequency_score + 3 x recency_score

    engagement_score_90d is dim_customers' weighted sum of the customer's own
    actions in the last 90 days (views 1, cart adds 2, checkouts 3, message
    clicks 3, orders 5, ... seed touch_types); frequency_score and
    recency_score are the RFM scores (1-5, 0 without orders). The customers in
    the top var `audience_propensity_top_percent` (default 10) percent of that
    score (ntile(100) by score, then customer id) are the audience.
    Attributes: score and its parts.
#}
{%- set recent_order_days = var('audience_propensity_recent_order_days', 30) -%}
{%- set top_percent = var('audience_propensity_top_percent', 10) -%}

with

customers as (
    select * from {{ ref('dim_customers') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

scored_customers as (
    select
        customers.customer_id,
        customers.engagement_score_90d,
        customers.last_order_date,
        coalesce(customers.frequency_score, 0) as frequency_score,
        coalesce(customers.recency_score, 0) as recency_score,
        customers.engagement_score_90d
        + 5 * coalesce(customers.frequency_score, 0)
        + 3 * coalesce(customers.recency_score, 0) as propensity_score
    from customers
    cross join as_of
    where
        customers.engagement_score_90d > 0
        and (
            customers.last_order_date is null
            or customers.last_order_date
            <= cast({{ dbt.dateadd('day', -recent_order_days, 'as_of.as_of_at') }} as date)
        )
),

ranked_customers as (
    select
        *,
        ntile(100) over (order by propensity_score desc, customer_id asc) as score_percentile
    from scored_customers
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'Purchase propensity score '",
            'cast(propensity_score as ' ~ dbt.type_string() ~ ')',
            "' (top " ~ top_percent ~ "%), no order in the last " ~ recent_order_days ~ " days'",
        ]) }} as reason,
        {{ json_object_text([
            ('propensity_score', 'propensity_score'),
            ('score_percentile', 'score_percentile'),
            ('engagement_score_90d', 'engagement_score_90d'),
            ('frequency_score', 'frequency_score'),
            ('recency_score', 'recency_score'),
            ('last_order_date', 'cast(last_order_date as ' ~ dbt.type_string() ~ ')'),
        ]) }} as attributes
    from ranked_customers
    where score_percentile <= {{ top_percent }}
)

{{ audience_members('candidates') }}
