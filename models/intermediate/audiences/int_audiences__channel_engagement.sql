{#
    Where every customer reacts to messages: per customer and channel, the
    distinct messages they opened and clicked in the var
    `audience_engagement_days` (default 90) days up to int_customers__as_of,
    from the messaging platforms' reports (stg_message_events, customers
    through int_identity__record_customers). Routing tries these channels
    first.
#}
{%- set engagement_days = var('audience_engagement_days', 90) -%}

with

message_events as (
    select * from {{ ref('stg_message_events') }}
    where event_type in ('opened', 'clicked')
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'message_events' and customer_id is not null
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

recent_reactions as (
    select
        record_customers.customer_id,
        message_events.channel,
        message_events.message_id,
        message_events.event_type,
        message_events.occurred_at
    from message_events
    inner join record_customers
        on message_events.message_event_id = record_customers.record_id
    cross join as_of
    where
        message_events.occurred_at > {{ dbt.dateadd('day', -engagement_days, 'as_of.as_of_at') }}
        and message_events.occurred_at <= as_of.as_of_at
)

select
    customer_id,
    channel,
    count(distinct case when event_type = 'opened' then message_id end) as opened_message_count,
    count(distinct case when event_type = 'clicked' then message_id end) as clicked_message_count,
    count(distinct message_id) as engaged_message_count,
    max(occurred_at) as last_engaged_at
from recent_reactions
group by customer_id, channel
