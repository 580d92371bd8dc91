{#
    Welcome: new contacts, customers first seen (their earliest identifier,
    dim_customers.first_seen_at) in the last var `audience_welcome_days`
    (default 7) days up to int_customers__as_of. Attributes: when they were
    first seen and whether they have ordered already.
#}
{%- set welcome_days = var('audience_welcome_days', 7) -%}

with

customers as (
    select * from {{ ref('dim_customers') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

new_contacts as (
    select
        customers.customer_id,
        customers.first_seen_at,
        customers.order_count,
        {{ dbt.datediff(
            'customers.first_seen_at', 'as_of.as_of_at', 'day'
        ) }} as days_since_first_seen
    from customers
    cross join as_of
    where
        customers.first_seen_at > {{ dbt.dateadd('day', -welcome_days, 'as_of.as_of_at') }}
        and customers.first_seen_at <= as_of.as_of_at
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'New contact, first seen '",
            'cast(days_since_first_seen as ' ~ dbt.type_string() ~ ')',
            "' day(s) ago'",
        ]) }} as reason,
        {{ json_object_text([
            ('first_seen_at', 'cast(first_seen_at as ' ~ dbt.type_string() ~ ')'),
            ('has_ordered', 'order_count > 0'),
        ]) }} as attributes
    from new_contacts
)

{{ audience_members('candidates') }}
