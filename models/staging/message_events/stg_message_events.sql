{{ config(**incremental_versions_config(unique_key='message_event_id', day_column='occurred_on')) }}

with

raw_message_events as (
    select * from {{ source('raw', 'message_events') }}
    {{ incremental_versions_filter(
        raw_relation=source('raw', 'message_events'),
        key_expression=clean_text('event_id'),
        day_expression=to_utc_timestamp('occurred_at'),
        key_column='message_event_id',
        day_column='occurred_on'
    ) }}
),

channel_aliases as (
    select * from {{ ref('channel_aliases') }}
),

calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

phone_rules as (
    {{ phone_rules('calling_codes') }}
),

normalized_message_events as (
    select
        {{ clean_text('raw_message_events.event_id') }} as message_event_id,
        {{ to_utc_timestamp('raw_message_events.occurred_at') }} as occurred_at,
        case
            when {{ clean_text('raw_message_events.channel') }} is not null
                then coalesce(channel_aliases.channel, 'other')
        end as channel,
        {{ clean_text('raw_message_events.campaign_id') }} as campaign_id,
        {{ clean_text('raw_message_events.message_id') }} as message_id,
        {{ clean_text('raw_message_events.recipient') }} as recipient,
        {{ normalize_email('raw_message_events.recipient') }} as recipient_email,
        case
            when channel_aliases.channel in ('sms', 'whatsapp', 'viber')
                then {{ normalize_phone('raw_message_events.recipient') }}
        end as recipient_phone,
        {{ clean_enum('raw_message_events.event_type') }} as event_type,
        cast({{ clean_text('raw_message_events.cost') }} as decimal(18, 6)) as message_cost,
        raw_message_events._source_file,
        raw_message_events._source_line,
        raw_message_events._loaded_at
    from raw_message_events
    cross join phone_rules
    left join channel_aliases
        on {{ channel_key('raw_message_events.channel') }} = channel_aliases.alias
),

ranked_message_event_versions as (
    select
        *,
        row_number() over (
            partition by message_event_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from normalized_message_events
),

deduplicated_message_events as (
    select
        message_event_id,
        occurred_at,
        channel,
        campaign_id,
        message_id,
        recipient,
        recipient_email,
        recipient_phone,
        event_type,
        message_cost,
        _source_file,
        _loaded_at,
        cast(occurred_at as date) as occurred_on
    from ranked_message_event_versions
    where version_rank = 1
)

select * from deduplicated_message_events
