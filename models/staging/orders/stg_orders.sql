{{ config(**incremental_versions_config(unique_key='order_id', day_column='ordered_on')) }}

with

raw_orders as (
    select * from {{ source('raw', 'orders') }}
    {{ incremental_versions_filter(
        raw_relation=source('raw', 'orders'),
        key_expression=clean_text('order_id'),
        day_expression=to_utc_timestamp('ordered_at'),
        key_column='order_id',
        day_column='ordered_on'
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

normalized_orders as (
    select
        {{ clean_text('raw_orders.order_id') }} as order_id,
        {{ to_utc_timestamp('raw_orders.ordered_at') }} as ordered_at,
        case
            when {{ clean_text('raw_orders.channel') }} is not null
                then coalesce(channel_aliases.channel, 'other')
        end as channel,
        {{ clean_text('raw_orders.store_id') }} as store_id,
        {{ clean_text('raw_orders.user_id') }} as user_id,
        {{ normalize_email('raw_orders.email') }} as email,
        {{ normalize_phone('raw_orders.phone') }} as phone,
        {{ clean_text('raw_orders.loyalty_card_id') }} as loyalty_card_id,
        {{ clean_enum('raw_orders.status') }} as order_status,
        upper({{ clean_text('raw_orders.currency') }}) as currency,
        cast(
            {{ clean_text('raw_orders.total_amount') }} as decimal(18, 2)
        ) as total_amount,
        raw_orders._source_file,
        raw_orders._source_line,
        raw_orders._loaded_at
    from raw_orders
    cross join phone_rules
    left join channel_aliases
        on {{ channel_key('raw_orders.channel') }} = channel_aliases.alias
),

ranked_order_versions as (
    select
        normalized_orders.*,
        row_number() over (
            partition by normalized_orders.order_id
            order by
                case normalized_orders.order_status
                    when 'returned' then 3
                    when 'cancelled' then 2
                    when 'completed' then 1
                    else 0
                end desc,
                normalized_orders._loaded_at desc,
                normalized_orders._source_file desc,
                normalized_orders._source_line desc
        ) as version_rank
    from normalized_orders
),

deduplicated_orders as (
    select
        order_id,
        ordered_at,
        channel,
        store_id,
        user_id,
        email,
        phone,
        loyalty_card_id,
        order_status,
        currency,
        total_amount,
        _source_file,
        _loaded_at,
        cast(ordered_at as date) as ordered_on
    from ranked_order_versions
    where version_rank = 1
)

select * from deduplicated_orders
