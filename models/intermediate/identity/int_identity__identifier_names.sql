{#
    The first names given together with each identifier: one row per identifier
    and distinct first name, from the records that carry both (identify events
    and CRM contacts). A name is compared by its first three letters, lower-case,
    so that short forms and spellings of one name (Olena, Olenka) count once.
#}
with

observations as (
    select * from {{ ref('int_identity__observations') }}
),

events as (
    select * from {{ ref('stg_events') }}
),

crm_contacts as (
    select * from {{ ref('stg_crm_contacts') }}
),

record_names as (
    select
        'events' as source_name,
        event_id as record_id,
        first_name
    from events
    where first_name is not null
    union all
    select
        'crm_contacts' as source_name,
        contact_id as record_id,
        first_name
    from crm_contacts
    where first_name is not null
),

identifier_names as (
    select
        observations.identifier_type,
        observations.identifier,
        lower(trim(record_names.first_name)) as first_name
    from observations
    inner join record_names
        on
            observations.source_name = record_names.source_name
            and observations.record_id = record_names.record_id
)

select distinct
    {{ identity_node_id('identifier_type', 'identifier') }} as node_id,
    identifier_type,
    identifier,
    first_name,
    substring(first_name, 1, 3) as name_key
from identifier_names
