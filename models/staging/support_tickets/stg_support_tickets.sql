with

raw_support_tickets as (
    select * from {{ source('raw', 'support_tickets') }}
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

normalized_tickets as (
    select
        {{ clean_text('raw_support_tickets.ticket_id') }} as ticket_id,
        {{ to_utc_timestamp('raw_support_tickets.opened_at') }} as opened_at,
        {{ to_utc_timestamp('raw_support_tickets.resolved_at') }} as resolved_at,
        case
            when {{ clean_text('raw_support_tickets.first_channel') }} is not null
                then coalesce(channel_aliases.channel, 'other')
        end as first_channel,
        {{ clean_enum('raw_support_tickets.topic') }} as topic,
        {{ clean_text('raw_support_tickets.user_id') }} as user_id,
        {{ normalize_email('raw_support_tickets.email') }} as email,
        {{ normalize_phone('raw_support_tickets.phone') }} as phone,
        {{ clean_text('raw_support_tickets.telegram_id') }} as telegram_id,
        raw_support_tickets._source_file,
        raw_support_tickets._source_line,
        raw_support_tickets._loaded_at
    from raw_support_tickets
    cross join phone_rules
    left join channel_aliases
        on {{ channel_key('raw_support_tickets.first_channel') }} = channel_aliases.alias
),

ranked_ticket_versions as (
    select
        *,
        resolved_at is not null as is_resolved,
        row_number() over (
            partition by ticket_id
            order by
                case when resolved_at is not null then 1 else 0 end desc,
                _loaded_at desc,
                _source_file desc,
                _source_line desc
        ) as version_rank
    from normalized_tickets
),

deduplicated_tickets as (
    select
        ticket_id,
        opened_at,
        resolved_at,
        is_resolved,
        first_channel,
        topic,
        user_id,
        email,
        phone,
        telegram_id,
        _source_file,
        _loaded_at
    from ranked_ticket_versions
    where version_rank = 1
)

select * from deduplicated_tickets
