{#
    Win-back: buyers at churn risk. Customers with at least one order whose
    RFM segment (dim_customers) is at_risk or cannot_lose (bought regularly,
    not for a long time), or who are churned by the rule of
    fct_customer_churn_status (no activity for var `churn_inactivity_days`
    days) without being in the lost segment (the lowest priority, a broad
    campaign at most). Attributes: segment, churn status, last order date,
    days since it, orders and net revenue.
#}
with

customers as (
    select * from {{ ref('dim_customers') }}
),

churn_status as (
    select * from {{ ref('fct_customer_churn_status') }}
),

at_risk_customers as (
    select
        customers.customer_id,
        customers.rfm_segment,
        churn_status.churn_status,
        customers.last_order_date,
        customers.days_since_last_order,
        customers.order_count,
        customers.net_revenue,
        customers.revenue_currency
    from customers
    left join churn_status
        on customers.customer_id = churn_status.customer_id
    where
        customers.order_count > 0
        and (
            customers.rfm_segment in ('at_risk', 'cannot_lose')
            or (
                churn_status.churn_status = 'churned'
                and coalesce(customers.rfm_segment, 'none') <> 'lost'
            )
        )
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'At churn risk ('",
            "coalesce(rfm_segment, 'no segment')",
            "', '",
            "coalesce(churn_status, 'unknown')",
            "'): last order '",
            'cast(days_since_last_order as ' ~ dbt.type_string() ~ ')',
            "' days ago'",
        ]) }} as reason,
        {{ json_object_text([
            ('rfm_segment', 'rfm_segment'),
            ('churn_status', 'churn_status'),
            ('last_order_date', 'cast(last_order_date as ' ~ dbt.type_string() ~ ')'),
            ('days_since_last_order', 'days_since_last_order'),
            ('order_count', 'order_count'),
            ('net_revenue', 'net_revenue'),
            ('revenue_currency', 'revenue_currency'),
        ]) }} as attributes
    from at_risk_customers
)

{{ audience_members('candidates') }}
