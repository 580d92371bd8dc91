{{ config(**incremental_rows_config(
    unique_key=['source_name', 'record_id'],
    post_hook='delete from {{ this }} where customer_assigned_at is null',
)) }}

{#
    The customer of every source record that carries an identifier: the customer
    of its non-shared identifiers (they are linked, so they agree; should a rule
    ever split them, the identifier of the highest type priority decides). A
    record known only by shared identifiers belongs to no one (customer_id null).

    `customer_assigned_at` is when the build that gave the record this customer
    ran. An incremental run writes only the records whose customer changed (new
    records, merges, splits), so the models downstream find the re-keyed records
    by that time instead of comparing every record. A record that no longer
    carries an identifier is written without a time and deleted by the post-hook.
    Spark rebuilds the table, every record with the time of the build.
#}
with

observations as (
    select * from {{ ref('int_identity__observations') }}
),

identifiers as (
    select * from {{ ref('dim_customer_identifiers') }}
),

-- the customer of the record's first identifier: one with a customer before one
-- without, then by type priority, then by value
record_customers as (
    select
        observations.source_name,
        observations.record_id,
        {{ min_by('identifiers.customer_id', [
            'case when identifiers.customer_id is null then 1 else 0 end',
            'identifiers.identifier_priority',
            'identifiers.identifier',
        ]) }} as customer_id
    from observations
    inner join identifiers
        on
            observations.identifier_type = identifiers.identifier_type
            and observations.identifier = identifiers.identifier
    group by observations.source_name, observations.record_id
),

{% if is_incremental() %}
stored_record_customers as (
    select
        source_name,
        record_id,
        customer_id
    from {{ this }}
),

-- the records that changed: new and re-keyed ones with the time of this build,
-- those gone from the observations without a time (removed by the post-hook)
records_to_write as (
    select
        coalesce(record_customers.source_name, stored_record_customers.source_name)
            as source_name,
        coalesce(record_customers.record_id, stored_record_customers.record_id) as record_id,
        record_customers.customer_id,
        case
            when record_customers.record_id is not null then {{ dbt.current_timestamp() }}
        end as customer_assigned_at
    from record_customers
    full outer join stored_record_customers
        on
            record_customers.source_name = stored_record_customers.source_name
            and record_customers.record_id = stored_record_customers.record_id
    where
        record_customers.record_id is null
        or stored_record_customers.record_id is null
        or record_customers.customer_id is distinct from stored_record_customers.customer_id
)
{% else %}
records_to_write as (
    select
        source_name,
        record_id,
        customer_id,
        {{ dbt.current_timestamp() }} as customer_assigned_at
    from record_customers
)
{% endif %}

select
    source_name,
    record_id,
    customer_id,
    cast(customer_assigned_at as timestamp) as customer_assigned_at
from records_to_write
