{#
    The channels every customer can be sent to, with the address to use: one
    row per customer and channel that has a sendable address
    (int_audiences__contact_permissions). Among several sendable addresses of a
    channel the preferred address type (address_rank) wins, then the address
    seen last, then the smallest value. With the channel's price and cascade
    rank (seed channel_catalog) and the customer's recent opens and clicks on
    it (int_audiences__channel_engagement): what routing orders.
#}
with

contact_permissions as (
    select * from {{ ref('int_audiences__contact_permissions') }}
    where is_sendable and customer_id is not null
),

channel_catalog as (
    select * from {{ ref('channel_catalog') }}
),

channel_engagement as (
    select * from {{ ref('int_audiences__channel_engagement') }}
),

ranked_addresses as (
    select
        customer_id,
        channel,
        address_type,
        address,
        row_number() over (
            partition by customer_id, channel
            order by address_rank asc, address_last_seen_at desc, address asc
        ) as address_preference
    from contact_permissions
)

select
    ranked_addresses.customer_id,
    ranked_addresses.channel,
    ranked_addresses.address_type,
    ranked_addresses.address,
    channel_catalog.cost_per_message,
    channel_catalog.cascade_rank,
    channel_catalog.is_automated,
    channel_engagement.last_engaged_at,
    coalesce(channel_engagement.engaged_message_count, 0) as engaged_message_count,
    coalesce(channel_engagement.engaged_message_count, 0) > 0 as is_engaged
from ranked_addresses
inner join channel_catalog
    on ranked_addresses.channel = channel_catalog.channel
left join channel_engagement
    on
        ranked_addresses.customer_id = channel_engagement.customer_id
        and ranked_addresses.channel = channel_engagement.channel
where ranked_addresses.address_preference = 1
