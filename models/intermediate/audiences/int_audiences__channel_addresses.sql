{#
    Every address the warehouse knows for every channel that can be sent to:
    the identifiers of the identity graph (dim_customer_identifiers) whose type
    addresses the channel (seed channel_address_types), for the channels of
    seed channel_catalog. A push token belongs to one platform, app or browser:
    it addresses mobile_push or web_push only when it was seen on that channel
    (in an app event for mobile_push, a web event for web_push, or in a consent
    or message of the channel). Shared identifiers (customer_id null) are kept:
    the permission model refuses them.
#}
with

identifiers as (
    select * from {{ ref('dim_customer_identifiers') }}
),

channel_address_types as (
    select * from {{ ref('channel_address_types') }}
),

channel_catalog as (
    select * from {{ ref('channel_catalog') }}
),

events as (
    select * from {{ ref('stg_events') }}
    where push_token is not null
),

consents as (
    select * from {{ ref('stg_consents') }}
    where identifier_type = 'push_token' and identifier is not null
),

message_events as (
    select * from {{ ref('stg_message_events') }}
    where channel in ('mobile_push', 'web_push') and recipient is not null
),

push_token_sightings as (
    select
        push_token as identifier,
        case when touch_channel = 'app' then 'mobile_push' else 'web_push' end as channel
    from events

    union all

    select
        identifier,
        channel
    from consents

    union all

    select
        recipient as identifier,
        channel
    from message_events
),

push_token_channels as (
    select
        identifier,
        channel
    from push_token_sightings
    group by identifier, channel
),

channel_addresses as (
    select
        channel_address_types.channel,
        identifiers.identifier_type as address_type,
        identifiers.identifier as address,
        identifiers.customer_id,
        channel_address_types.address_rank,
        identifiers.is_shared,
        identifiers.first_seen_at,
        identifiers.last_seen_at,
        row_number() over (
            partition by channel_address_types.channel, identifiers.identifier
            order by channel_address_types.address_rank, identifiers.identifier_type
        ) as address_type_rank
    from identifiers
    inner join channel_address_types
        on identifiers.identifier_type = channel_address_types.identifier_type
    inner join channel_catalog
        on channel_address_types.channel = channel_catalog.channel
    left join push_token_channels
        on
            identifiers.identifier = push_token_channels.identifier
            and channel_address_types.channel = push_token_channels.channel
    where
        identifiers.identifier_type <> 'push_token'
        or push_token_channels.identifier is not null
)

select
    channel,
    address,
    address_type,
    customer_id,
    address_rank,
    is_shared,
    first_seen_at,
    last_seen_at
from channel_addresses
where address_type_rank = 1
