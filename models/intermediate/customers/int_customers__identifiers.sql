{#
    How many identifiers of each type every customer has (shared identifiers
    belong to no one and are not counted), and when any of them was first and
    last observed in any source. Order ids are counted by the order models.
#}
{%- set identifier_types = [
    'crm_contact_id', 'user_id', 'loyalty_card_id', 'email', 'phone',
    'telegram_id', 'viber_id', 'device_id', 'push_token', 'anonymous_id'
] -%}

with

identifiers as (
    select * from {{ ref('dim_customer_identifiers') }}
    where customer_id is not null
),

customer_identifiers as (
    select
        customer_id,
        count(*) as identifier_count,
        {%- for identifier_type in identifier_types %}
        sum(case when identifier_type = '{{ identifier_type }}' then 1 else 0 end)
            as {{ identifier_type }}_count,
        {%- endfor %}
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from identifiers
    group by customer_id
)

select * from customer_identifiers
