{#
    The one place that decides whether a message may go to an address on a
    channel: one row per channel and address known to the warehouse
    (int_audiences__channel_addresses). Routing (int_audiences__customer_channels)
    and the send-time gate (fct_contact_permissions) both read it, so they
    never disagree.

    Sendable when all of:
    - the address belongs to a customer (a shared identifier belongs to no one);
    - it is not suppressed: no entry of int_audiences__suppressions for the
      address on this channel or on every channel, nor for its customer;
    - consent: on a channel that requires opt-in (seed channel_catalog) the
      address's latest consent on the channel is an opt-in and the customer's
      latest consent on the channel (int_customers__consents) is not an
      opt-out; on any other channel neither of them is an opt-out.

    int_customers__consents has a column for seven consent channels only, but
    consents of other channels reach staging too (app_inbox, in_app): for
    those, the customer's latest consent is the latest over the addresses of
    the customer (an opt-out wins a tie), so an opt-out given on one device
    or through the e-mail of a preference centre holds on every device.
#}
{%- set consent_channels = [
    'email', 'sms', 'viber', 'telegram', 'whatsapp', 'web_push', 'mobile_push'
] -%}

with

channel_addresses as (
    select * from {{ ref('int_audiences__channel_addresses') }}
),

address_consents as (
    select * from {{ ref('int_audiences__address_consents') }}
),

customer_consent_states as (
    select * from {{ ref('int_customers__consents') }}
),

suppressions as (
    select * from {{ ref('int_audiences__suppressions') }}
),

channel_catalog as (
    select * from {{ ref('channel_catalog') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

address_customers as (
    select distinct
        address_type,
        address,
        customer_id
    from channel_addresses
    where customer_id is not null
),

other_channel_consents as (
    select
        address_customers.customer_id,
        address_consents.channel,
        address_consents.consent_status,
        row_number() over (
            partition by address_customers.customer_id, address_consents.channel
            order by
                address_consents.consent_at desc,
                case when address_consents.is_opt_in then 1 else 0 end asc,
                address_consents.address asc
        ) as consent_rank
    from address_consents
    inner join address_customers
        on
            address_consents.address_type = address_customers.address_type
            and address_consents.address = address_customers.address
    where
        address_consents.channel not in (
            {%- for channel in consent_channels %}
            '{{ channel }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
),

customer_consents as (
    {%- for channel in consent_channels %}
    select
        customer_id,
        '{{ channel }}' as channel,
        case
            when is_{{ channel }}_opted_in then 'opt_in'
            when not is_{{ channel }}_opted_in then 'opt_out'
        end as consent_status
    from customer_consent_states
    where is_{{ channel }}_opted_in is not null

    union all
    {% endfor %}
    select
        customer_id,
        channel,
        consent_status
    from other_channel_consents
    where consent_rank = 1
),

matched_suppressions as (
    select
        channel_addresses.channel,
        channel_addresses.address,
        suppressions.suppression_reason
    from channel_addresses
    inner join suppressions
        on
            suppressions.suppression_scope = 'address'
            and channel_addresses.address_type = suppressions.address_type
            and channel_addresses.address = suppressions.address
            and (suppressions.channel is null or channel_addresses.channel = suppressions.channel)

    union all

    select
        channel_addresses.channel,
        channel_addresses.address,
        suppressions.suppression_reason
    from channel_addresses
    inner join suppressions
        on
            suppressions.suppression_scope = 'customer'
            and channel_addresses.customer_id = suppressions.customer_id
            and (suppressions.channel is null or channel_addresses.channel = suppressions.channel)
),

distinct_suppressions as (
    select
        channel,
        address,
        suppression_reason
    from matched_suppressions
    group by channel, address, suppression_reason
),

address_suppressions as (
    select
        channel,
        address,
        {{ sorted_listagg('suppression_reason') }} as suppression_reason
    from distinct_suppressions
    group by channel, address
),

address_states as (
    select
        channel_addresses.channel,
        channel_addresses.address,
        channel_addresses.address_type,
        channel_addresses.customer_id,
        channel_addresses.address_rank,
        channel_addresses.is_shared,
        channel_addresses.last_seen_at as address_last_seen_at,
        channel_catalog.requires_opt_in,
        address_consents.consent_status as address_consent_status,
        address_consents.consent_at as address_consent_at,
        customer_consents.consent_status as customer_consent_status,
        address_suppressions.suppression_reason,
        as_of.as_of_at as decided_at,
        address_suppressions.channel is not null as is_suppressed
    from channel_addresses
    cross join as_of
    inner join channel_catalog
        on channel_addresses.channel = channel_catalog.channel
    left join address_consents
        on
            channel_addresses.channel = address_consents.channel
            and channel_addresses.address_type = address_consents.address_type
            and channel_addresses.address = address_consents.address
    left join customer_consents
        on
            channel_addresses.customer_id = customer_consents.customer_id
            and channel_addresses.channel = customer_consents.channel
    left join address_suppressions
        on
            channel_addresses.channel = address_suppressions.channel
            and channel_addresses.address = address_suppressions.address
),

decisions as (
    select
        *,
        case
            when customer_id is null then 'shared_address'
            when is_suppressed then 'suppressed'
            when coalesce(address_consent_status, 'none') = 'opt_out' then 'address_opted_out'
            when coalesce(customer_consent_status, 'none') = 'opt_out' then 'customer_opted_out'
            when requires_opt_in and coalesce(address_consent_status, 'none') <> 'opt_in'
                then 'no_opt_in'
            else 'sendable'
        end as permission_status
    from address_states
)

select
    channel,
    address,
    address_type,
    customer_id,
    address_rank,
    is_shared,
    address_last_seen_at,
    requires_opt_in,
    address_consent_status,
    address_consent_at,
    customer_consent_status,
    is_suppressed,
    suppression_reason,
    permission_status,
    decided_at,
    permission_status = 'sendable' as is_sendable
from decisions
