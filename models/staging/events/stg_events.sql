{{ config(**incremental_versions_config(unique_key='event_id', day_column='occurred_on')) }}

{%- set mobile_device_types = var('mobile_device_types') -%}
{#- every path read from the Segment payload (parsed once where the engine can) -#}
{%- set payload_paths = [
    'context.device.id',
    'context.device.type',
    'context.device.token',
    'traits.email',
    'context.traits.email',
    'traits.phone',
    'context.traits.phone',
    'traits.loyalty_card_id',
    'context.traits.loyalty_card_id',
    'traits.first_name',
    'traits.firstName',
    'context.traits.first_name',
    'context.traits.firstName',
    'traits.last_name',
    'traits.lastName',
    'context.traits.last_name',
    'context.traits.lastName',
    'context.page.url',
    'context.page.referrer',
    'context.campaign.source',
    'context.campaign.medium',
    'context.campaign.name',
    'properties.product_id',
    'properties.order_id',
    'properties.revenue',
    'properties.price',
    'properties.currency',
    'properties.products',
] -%}

with

raw_events as (
    select * from {{ source('raw', 'events') }}
    {{ incremental_versions_filter(
        raw_relation=source('raw', 'events'),
        key_expression=clean_text('message_id'),
        day_expression=to_utc_timestamp('event_timestamp'),
        key_column='event_id',
        day_column='occurred_on'
    ) }}
),

channel_aliases as (
    select * from {{ ref('channel_aliases') }}
),

channels as (
    select * from {{ ref('channels') }}
),

calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

phone_rules as (
    {{ phone_rules('calling_codes') }}
),

-- the fields of the Segment payload, still as text
extracted_events as (
    select
        message_id,
        event_type,
        event_name,
        event_timestamp,
        anonymous_id,
        user_id,
        {{ json_text('payload', 'context.device.id', payload_paths) }} as device_id,
        {{ json_text('payload', 'context.device.type', payload_paths) }} as device_type,
        {{ json_text('payload', 'context.device.token', payload_paths) }} as push_token,
        coalesce(
            {{ json_text('payload', 'traits.email', payload_paths) }},
            {{ json_text('payload', 'context.traits.email', payload_paths) }}
        ) as email,
        coalesce(
            {{ json_text('payload', 'traits.phone', payload_paths) }},
            {{ json_text('payload', 'context.traits.phone', payload_paths) }}
        ) as phone,
        coalesce(
            {{ json_text('payload', 'traits.loyalty_card_id', payload_paths) }},
            {{ json_text('payload', 'context.traits.loyalty_card_id', payload_paths) }}
        ) as loyalty_card_id,
        coalesce(
            {{ json_text('payload', 'traits.first_name', payload_paths) }},
            {{ json_text('payload', 'traits.firstName', payload_paths) }},
            {{ json_text('payload', 'context.traits.first_name', payload_paths) }},
            {{ json_text('payload', 'context.traits.firstName', payload_paths) }}
        ) as first_name,
        coalesce(
            {{ json_text('payload', 'traits.last_name', payload_paths) }},
            {{ json_text('payload', 'traits.lastName', payload_paths) }},
            {{ json_text('payload', 'context.traits.last_name', payload_paths) }},
            {{ json_text('payload', 'context.traits.lastName', payload_paths) }}
        ) as last_name,
        {{ json_text('payload', 'context.page.url', payload_paths) }} as page_url,
        {{ json_text('payload', 'context.page.referrer', payload_paths) }} as referrer,
        {{ json_text('payload', 'context.campaign.source', payload_paths) }} as campaign_source,
        {{ json_text('payload', 'context.campaign.medium', payload_paths) }} as campaign_medium,
        {{ json_text('payload', 'context.campaign.name', payload_paths) }} as campaign_name,
        {{ json_text('payload', 'properties.product_id', payload_paths) }} as product_id,
        {{ json_text('payload', 'properties.order_id', payload_paths) }} as order_id,
        {{ json_text('payload', 'properties.revenue', payload_paths) }} as revenue,
        {{ json_text('payload', 'properties.price', payload_paths) }} as price,
        {{ json_text('payload', 'properties.currency', payload_paths) }} as currency,
        {{ json_text('payload', 'properties.products', payload_paths) }} as products,
        _source_file,
        _source_line,
        _loaded_at
    from raw_events
),

normalized_events as (
    select
        {{ clean_text('extracted_events.message_id') }} as event_id,
        {{ clean_enum('extracted_events.event_type') }} as event_type,
        {{ clean_text('extracted_events.event_name') }} as event_name,
        {{ to_utc_timestamp('extracted_events.event_timestamp') }} as occurred_at,
        {{ clean_text('extracted_events.anonymous_id') }} as anonymous_id,
        {{ clean_text('extracted_events.user_id') }} as user_id,
        {{ clean_text('extracted_events.device_id') }} as device_id,
        {{ clean_enum('extracted_events.device_type') }} as device_type,
        {{ clean_text('extracted_events.push_token') }} as push_token,
        {{ normalize_email('extracted_events.email') }} as email,
        {{ normalize_phone('extracted_events.phone') }} as phone,
        {{ clean_text('extracted_events.loyalty_card_id') }} as loyalty_card_id,
        {{ clean_text('extracted_events.first_name') }} as first_name,
        {{ clean_text('extracted_events.last_name') }} as last_name,
        {{ clean_text('extracted_events.page_url') }} as page_url,
        {{ clean_text('extracted_events.referrer') }} as referrer,
        {{ clean_text('extracted_events.campaign_source') }} as campaign_source,
        {{ clean_text('extracted_events.campaign_medium') }} as campaign_medium,
        {{ clean_text('extracted_events.campaign_name') }} as campaign_name,
        case
            when medium_channels.channel_group = 'organic' then medium_channels.channel
            when source_aliases.channel is not null then source_aliases.channel
            when medium_aliases.channel is not null then medium_aliases.channel
            when
                {{ clean_text('extracted_events.campaign_medium') }} is not null
                or {{ clean_text('extracted_events.campaign_source') }} is not null
                then 'other'
        end as campaign_channel,
        case
            when
                {{ clean_enum('extracted_events.event_type') }} = 'screen'
                or {{ clean_enum('extracted_events.device_type') }} in (
                    {%- for device_type in mobile_device_types %}
                    '{{ device_type }}'{% if not loop.last %},{% endif %}
                    {%- endfor %}
                )
                then 'app'
            else 'web'
        end as touch_channel,
        {{ clean_text('extracted_events.product_id') }} as product_id,
        {{ clean_text('extracted_events.order_id') }} as order_id,
        {{ dbt.safe_cast(clean_text('extracted_events.revenue'), 'decimal(18, 2)') }} as revenue,
        {{ dbt.safe_cast(clean_text('extracted_events.price'), 'decimal(18, 2)') }} as price,
        upper({{ clean_text('extracted_events.currency') }}) as currency,
        {{ clean_text('extracted_events.products') }} as products,
        extracted_events._source_file,
        extracted_events._source_line,
        extracted_events._loaded_at
    from extracted_events
    cross join phone_rules
    left join channel_aliases as medium_aliases
        on {{ channel_key('extracted_events.campaign_medium') }} = medium_aliases.alias
    left join channels as medium_channels
        on medium_aliases.channel = medium_channels.channel
    left join channel_aliases as source_aliases
        on {{ channel_key('extracted_events.campaign_source') }} = source_aliases.alias
),

ranked_event_versions as (
    select
        *,
        row_number() over (
            partition by event_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from normalized_events
),

deduplicated_events as (
    select
        event_id,
        event_type,
        event_name,
        occurred_at,
        anonymous_id,
        user_id,
        device_id,
        device_type,
        push_token,
        email,
        phone,
        loyalty_card_id,
        first_name,
        last_name,
        page_url,
        referrer,
        campaign_source,
        campaign_medium,
        campaign_name,
        campaign_channel,
        touch_channel,
        product_id,
        order_id,
        revenue,
        price,
        currency,
        products,
        _source_file,
        _loaded_at,
        cast(occurred_at as date) as occurred_on
    from ranked_event_versions
    where version_rank = 1
)

select * from deduplicated_events
