{#
    Every customer with the segment the KPIs are split by: the customer's RFM
    segment as of int_customers__as_of, 'unsegmented' for a customer without a
    completed order.
#}
with

customers as (
    select * from {{ ref('int_customers__identifiers') }}
),

rfm as (
    select * from {{ ref('int_customers__rfm') }}
),

customer_segments as (
    select
        customers.customer_id,
        coalesce(rfm.rfm_segment, 'unsegmented') as segment
    from customers
    left join rfm
        on customers.customer_id = rfm.customer_id
)

select * from customer_segments
