{#
    VIP: the RFM champions of dim_customers (bought recently and most often):
    thank them, early access, ask for reviews. Attributes: orders, net revenue
    and the last order date.
#}
with

customers as (
    select * from {{ ref('dim_customers') }}
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'RFM champion: '",
            'cast(order_count as ' ~ dbt.type_string() ~ ')',
            "' orders, the last on '",
            'cast(last_order_date as ' ~ dbt.type_string() ~ ')',
        ]) }} as reason,
        {{ json_object_text([
            ('rfm_segment', 'rfm_segment'),
            ('order_count', 'order_count'),
            ('net_revenue', 'net_revenue'),
            ('revenue_currency', 'revenue_currency'),
            ('last_order_date', 'cast(last_order_date as ' ~ dbt.type_string() ~ ')'),
        ]) }} as attributes
    from customers
    where rfm_segment = 'champions'
)

{{ audience_members('candidates') }}
