{#
    The messages every customer was sent, by what the messaging platforms
    reported: distinct messages sent, delivered (received), opened and clicked.
    A message counts once per report type however many reports it got.
#}
with

message_events as (
    select * from {{ ref('stg_message_events') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'message_events' and customer_id is not null
),

customer_message_events as (
    select
        record_customers.customer_id,
        message_events.message_id,
        message_events.event_type,
        message_events.occurred_at
    from message_events
    inner join record_customers
        on message_events.message_event_id = record_customers.record_id
),

customer_messages as (
    select
        customer_id,
        count(distinct case when event_type = 'sent' then message_id end)
            as messages_sent_count,
        count(distinct case when event_type = 'delivered' then message_id end)
            as messages_received_count,
        count(distinct case when event_type = 'opened' then message_id end)
            as messages_opened_count,
        count(distinct case when event_type = 'clicked' then message_id end)
            as messages_clicked_count,
        max(case when event_type = 'delivered' then occurred_at end)
            as last_message_received_at
    from customer_message_events
    group by customer_id
)

select * from customer_messages
