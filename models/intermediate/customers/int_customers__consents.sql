{#
    The consent state of every customer on every messaging channel: the latest
    consent event of any of the customer's addresses for the channel wins (an
    opt-out wins a tie at the same time); null when the customer was never
    asked on that channel.
#}
{%- set consent_channels = [
    'email', 'sms', 'viber', 'telegram', 'whatsapp', 'web_push', 'mobile_push'
] -%}

with

consents as (
    select * from {{ ref('stg_consents') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'consents' and customer_id is not null
),

customer_consents as (
    select
        record_customers.customer_id,
        consents.consent_id,
        consents.channel,
        consents.occurred_at,
        consents.is_opt_in
    from consents
    inner join record_customers
        on consents.consent_id = record_customers.record_id
),

ranked_consents as (
    select
        customer_id,
        channel,
        occurred_at,
        is_opt_in,
        row_number() over (
            partition by customer_id, channel
            order by
                occurred_at desc,
                case when is_opt_in then 1 else 0 end asc,
                consent_id asc
        ) as consent_rank
    from customer_consents
),

latest_consents as (
    select
        customer_id,
        channel,
        occurred_at,
        is_opt_in
    from ranked_consents
    where consent_rank = 1
),

consent_states as (
    select
        customer_id,
        {%- for channel in consent_channels %}
        max(
            case when channel = '{{ channel }}' then case when is_opt_in then 1 else 0 end end
        ) = 1 as is_{{ channel }}_opted_in,
        {%- endfor %}
        sum(case when is_opt_in then 1 else 0 end) as opted_in_channel_count,
        max(occurred_at) as consent_updated_at
    from latest_consents
    group by customer_id
)

select * from consent_states
