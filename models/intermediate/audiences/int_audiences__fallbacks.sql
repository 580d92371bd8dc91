{#
    Which channels an audience has used up for a member: per audience (the
    message events' campaign_id is the audience name; only configured
    audiences), customer and channel, the latest send of the audience's message
    on the channel and the latest open or click of it there. The channel is
    exhausted when that send is more than var `audience_fallback_window_hours`
    (default 48) hours before int_customers__as_of and was neither opened nor
    clicked after it; routing then moves the member to their next channel. A
    send still inside the window keeps its channel (the answer may yet come).
#}
{%- set window_hours = var('audience_fallback_window_hours', 48) -%}
{%- set audience_names = var('audiences', {}).keys() | list | sort -%}

with

message_events as (
    select * from {{ ref('stg_message_events') }}
    where
        campaign_id in (
            {%- for audience_name in audience_names %}
            '{{ audience_name }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
        and event_type in ('sent', 'opened', 'clicked')
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'message_events' and customer_id is not null
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

customer_message_events as (
    select
        message_events.campaign_id as audience_name,
        record_customers.customer_id,
        message_events.channel,
        message_events.event_type,
        message_events.occurred_at
    from message_events
    inner join record_customers
        on message_events.message_event_id = record_customers.record_id
    cross join as_of
    where message_events.occurred_at <= as_of.as_of_at
),

channel_attempts as (
    select
        audience_name,
        customer_id,
        channel,
        max(case when event_type = 'sent' then occurred_at end) as last_sent_at,
        max(case when event_type in ('opened', 'clicked') then occurred_at end)
            as last_engaged_at
    from customer_message_events
    group by audience_name, customer_id, channel
)

select
    channel_attempts.audience_name,
    channel_attempts.customer_id,
    channel_attempts.channel,
    channel_attempts.last_sent_at,
    channel_attempts.last_engaged_at,
    coalesce(
        channel_attempts.last_sent_at
        <= {{ dbt.dateadd('hour', -window_hours, 'as_of.as_of_at') }}
        and (
            channel_attempts.last_engaged_at is null
            or channel_attempts.last_engaged_at < channel_attempts.last_sent_at
        ),
        false
    ) as is_exhausted
from channel_attempts
cross join as_of
where channel_attempts.last_sent_at is not null
