{#
    Every value a source gave for a trait of a customer (the traits named in
    seed trait_source_priority), one row per customer, trait, value and source,
    with when the source last gave it and how often. Identifier traits (email,
    phone, user_id, ...) are the customer's own identifiers as observed by each
    source (shared identifiers belong to no customer and are left out); an
    address currently opted in to a messaging channel is flagged. Names, birth
    date and city come from CRM contacts and identify traits of events; a store
    order gives the store's city.
#}
with

crm_contacts as (
    select * from {{ ref('stg_crm_contacts') }}
),

events as (
    select * from {{ ref('stg_events') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

stores as (
    select * from {{ ref('stg_stores') }}
),

consents as (
    select * from {{ ref('stg_consents') }}
),

observations as (
    select * from {{ ref('int_identity__observations') }}
),

identifiers as (
    select * from {{ ref('dim_customer_identifiers') }}
    where customer_id is not null
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where customer_id is not null
),

trait_source_priority as (
    select * from {{ ref('trait_source_priority') }}
),

traits as (
    select distinct trait from trait_source_priority
),

crm_contact_traits as (
    {%- for trait in ['first_name', 'last_name', 'birth_date', 'city'] %}
    select
        'crm_contacts' as source_name,
        contact_id as record_id,
        '{{ trait }}' as trait,
        {{ dbt.cast(trait, dbt.type_string()) }} as trait_value,
        updated_at as observed_at
    from crm_contacts
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

named_events as (
    select
        event_id,
        first_name,
        last_name,
        occurred_at
    from events
    where first_name is not null or last_name is not null
),

event_traits as (
    {%- for trait in ['first_name', 'last_name'] %}
    select
        'events' as source_name,
        event_id as record_id,
        '{{ trait }}' as trait,
        {{ trait }} as trait_value,
        occurred_at as observed_at
    from named_events
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

store_order_traits as (
    select
        'orders' as source_name,
        orders.order_id as record_id,
        'city' as trait,
        stores.city as trait_value,
        orders.ordered_at as observed_at
    from orders
    inner join stores
        on orders.store_id = stores.store_id
),

record_traits as (
    select * from crm_contact_traits
    union all
    select * from event_traits
    union all
    select * from store_order_traits
),

-- names, birth date and city of customers, one row per value and source; never
-- addresses, so never opted in
record_trait_values as (
    select
        record_customers.customer_id,
        record_traits.trait,
        record_traits.trait_value,
        record_traits.source_name,
        max(record_traits.observed_at) as last_observed_at,
        count(*) as observation_count,
        false as is_opted_in
    from record_traits
    inner join traits
        on record_traits.trait = traits.trait
    inner join record_customers
        on
            record_traits.source_name = record_customers.source_name
            and record_traits.record_id = record_customers.record_id
    where record_traits.trait_value is not null
    group by
        record_customers.customer_id,
        record_traits.trait,
        record_traits.trait_value,
        record_traits.source_name
),

-- each identifier as each source observed it, counted before it meets its
-- customer: the observations outnumber the identifiers many times over, and an
-- identifier belongs to one customer at most
identifier_sightings as (
    select
        observations.identifier_type,
        observations.identifier,
        observations.source_name,
        max(observations.observed_at) as last_observed_at,
        count(*) as observation_count
    from observations
    inner join traits
        on observations.identifier_type = traits.trait
    group by
        observations.identifier_type,
        observations.identifier,
        observations.source_name
),

-- the latest consent event of each address and channel decides its state
ranked_consents as (
    select
        identifier_type,
        identifier,
        is_opt_in,
        row_number() over (
            partition by identifier_type, identifier, channel
            order by
                occurred_at desc,
                case when is_opt_in then 1 else 0 end asc,
                consent_id asc
        ) as consent_rank
    from consents
    where identifier is not null
),

opted_in_addresses as (
    select distinct
        identifier_type,
        identifier
    from ranked_consents
    where consent_rank = 1 and is_opt_in
),

identifier_trait_values as (
    select
        identifiers.customer_id,
        identifier_sightings.identifier_type as trait,
        identifier_sightings.identifier as trait_value,
        identifier_sightings.source_name,
        identifier_sightings.last_observed_at,
        identifier_sightings.observation_count,
        opted_in_addresses.identifier is not null as is_opted_in
    from identifier_sightings
    inner join identifiers
        on
            identifier_sightings.identifier_type = identifiers.identifier_type
            and identifier_sightings.identifier = identifiers.identifier
    left join opted_in_addresses
        on
            identifier_sightings.identifier_type = opted_in_addresses.identifier_type
            and identifier_sightings.identifier = opted_in_addresses.identifier
),

-- identifier traits are identifier types, never names, birth dates or cities:
-- the two never give the same row
trait_candidates as (
    select * from record_trait_values
    union all
    select * from identifier_trait_values
)

select * from trait_candidates
