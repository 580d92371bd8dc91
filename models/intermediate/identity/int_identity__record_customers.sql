{#
    The customer of every source record that carries an identifier: the customer
    of its non-shared identifiers (they are linked, so they agree; should a rule
    ever split them, the identifier of the highest type priority decides). A
    record known only by shared identifiers belongs to no one (customer_id null).
#}
with

observations as (
    select * from {{ ref('int_identity__observations') }}
),

identifiers as (
    select * from {{ ref('dim_customer_identifiers') }}
),

record_identifiers as (
    select
        observations.source_name,
        observations.record_id,
        identifiers.customer_id,
        row_number() over (
            partition by observations.source_name, observations.record_id
            order by
                case when identifiers.customer_id is null then 1 else 0 end,
                identifiers.identifier_priority,
                identifiers.identifier
        ) as identifier_rank
    from observations
    inner join identifiers
        on
            observations.identifier_type = identifiers.identifier_type
            and observations.identifier = identifiers.identifier
)

select
    source_name,
    record_id,
    customer_id
from record_identifiers
where identifier_rank = 1
