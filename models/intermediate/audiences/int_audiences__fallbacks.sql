{#
    Which channels an audience has used up for a member: per audience (the
    message events' campaign_id is the audience name, or a campaign mapped to
    it in seed `audience_campaigns`; only configured audiences), customer and
    channel, the latest send of the audience's message on the channel in the
    last var `audience_fallback_lookback_days` days (an older unanswered send
    belongs to an earlier episode) and the latest open or click of it there.
    The channel is
    exhausted when that send is more than var `audience_fallback_window_hours`
    (default 48) hours before int_customers__as_of and was neither opened nor
    clicked after it; routing then moves the member to their next channel. A
    send still inside the window keeps its channel (the answer may yet come).
#}
{%- set window_hours = var('audience_fallback_window_hours', 48) -%}
{%- set lookback_days = var('audience_fallback_lookback_days', 14) -%}
{%- set audience_names = var('audiences', {}).keys() | list | sort -%}

with

audience_campaigns as (
    select * from {{ ref('audience_campaigns') }}
),

message_events as (
    select * from {{ ref('stg_message_events') }}
    where event_type in ('sent', 'opened', 'clicked')
),

audience_message_events as (
    select
        message_events.message_event_id,
        message_events.channel,
        message_events.event_type,
        message_events.occurred_at,
        coalesce(audience_campaigns.audience_name, message_events.campaign_id)
            as audience_name
    from message_events
    left join audience_campaigns
        on message_events.campaign_id = audience_campaigns.campaign_id
    where
        coalesce(audience_campaigns.audience_name, message_events.campaign_id) in (
            {%- for audience_name in audience_names %}
            '{{ audience_name }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
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
        audience_message_events.audience_name,
        record_customers.customer_id,
        audience_message_events.channel,
        audience_message_events.event_type,
        audience_message_events.occurred_at
    from audience_message_events
    inner join record_customers
        on audience_message_events.message_event_id = record_customers.record_id
    cross join as_of
    where
        audience_message_events.occurred_at <= as_of.as_of_at
        and audience_message_events.occurred_at
        > {{ dbt.dateadd('day', -lookback_days, 'as_of.as_of_at') }}
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
