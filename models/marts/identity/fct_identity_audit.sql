{#
    The figures an operator checks first when stitching goes wrong, one row per
    metric and dimension: customers and their sizes, the largest customers (by
    rank, with their customer id), identifiers and shared identifiers per type,
    customers over a type's limit, id changes, and the data integration rate
    (records matched to a customer known by a personal identifier), per source
    and overall.
#}
with

identifiers as (
    select * from {{ ref('dim_customer_identifiers') }}
),

identifier_types as (
    select * from {{ ref('identifier_types') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
),

customer_id_changes as (
    select * from {{ ref('fct_customer_merges') }}
),

suppressed_edges as (
    select * from {{ ref('fct_identity_suppressed_edges') }}
),

events as (
    select * from {{ ref('stg_events') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

crm_contacts as (
    select * from {{ ref('stg_crm_contacts') }}
),

support_tickets as (
    select * from {{ ref('stg_support_tickets') }}
),

survey_responses as (
    select * from {{ ref('stg_survey_responses') }}
),

consents as (
    select * from {{ ref('stg_consents') }}
),

message_events as (
    select * from {{ ref('stg_message_events') }}
),

source_records as (
    select
        'events' as source_name,
        count(*) as record_count
    from events
    union all
    select
        'orders' as source_name,
        count(*) as record_count
    from orders
    union all
    select
        'crm_contacts' as source_name,
        count(*) as record_count
    from crm_contacts
    union all
    select
        'support_tickets' as source_name,
        count(*) as record_count
    from support_tickets
    union all
    select
        'survey_responses' as source_name,
        count(*) as record_count
    from survey_responses
    union all
    select
        'consents' as source_name,
        count(*) as record_count
    from consents
    union all
    select
        'message_events' as source_name,
        count(*) as record_count
    from message_events
),

known_customers as (
    select distinct identifiers.customer_id
    from identifiers
    inner join identifier_types on identifiers.identifier_type = identifier_types.identifier_type
    where identifiers.customer_id is not null and identifier_types.identifies_person
),

matched_records as (
    select
        record_customers.source_name,
        count(record_customers.customer_id) as matched_count,
        count(known_customers.customer_id) as known_count
    from record_customers
    left join known_customers on record_customers.customer_id = known_customers.customer_id
    group by record_customers.source_name
),

integration_by_source as (
    select
        source_records.source_name,
        source_records.record_count,
        coalesce(matched_records.matched_count, 0) as matched_count,
        coalesce(matched_records.known_count, 0) as known_count
    from source_records
    left join matched_records on source_records.source_name = matched_records.source_name
),

integration_totals as (
    select
        sum(record_count) as record_count,
        sum(known_count) as known_count
    from integration_by_source
),

customer_sizes as (
    select
        customer_id,
        count(*) as identifier_count
    from identifiers
    where customer_id is not null
    group by customer_id
),

sized_customers as (
    select
        customer_id,
        identifier_count,
        case
            when identifier_count = 1 then '01 identifier'
            when identifier_count = 2 then '02 identifiers'
            when identifier_count <= 5 then '03-05 identifiers'
            when identifier_count <= 10 then '06-10 identifiers'
            when identifier_count <= 50 then '11-50 identifiers'
            else '51+ identifiers'
        end as size_bucket,
        row_number() over (order by identifier_count desc, customer_id asc) as size_rank
    from customer_sizes
),

type_counts_per_customer as (
    select
        identifiers.customer_id,
        identifiers.identifier_type,
        count(*) as identifier_count
    from identifiers
    where identifiers.customer_id is not null
    group by identifiers.customer_id, identifiers.identifier_type
),

customers_over_limit as (
    select
        type_counts_per_customer.identifier_type,
        count(*) as customer_count
    from type_counts_per_customer
    inner join identifier_types
        on type_counts_per_customer.identifier_type = identifier_types.identifier_type
    where type_counts_per_customer.identifier_count > identifier_types.max_per_customer
    group by type_counts_per_customer.identifier_type
),

metrics as (
    select
        'customers' as metric,
        'all' as dimension,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        count(*) as metric_value
    from customer_sizes
    union all
    select
        'customers' as metric,
        'known by a personal identifier' as dimension,
        null as customer_id,
        count(*) as metric_value
    from known_customers
    union all
    select
        'customers by size' as metric,
        size_bucket as dimension,
        null as customer_id,
        count(*) as metric_value
    from sized_customers
    group by size_bucket
    union all
    select
        'largest customers' as metric,
        {{ dbt.cast('size_rank', dbt.type_string()) }} as dimension,
        customer_id,
        identifier_count as metric_value
    from sized_customers
    where size_rank <= 10
    union all
    select
        'identifiers' as metric,
        identifier_type as dimension,
        null as customer_id,
        count(*) as metric_value
    from identifiers
    group by identifier_type
    union all
    select
        'shared identifiers' as metric,
        identifier_type as dimension,
        null as customer_id,
        count(*) as metric_value
    from identifiers
    where is_shared
    group by identifier_type
    union all
    select
        'suppressed links' as metric,
        sharing_rule as dimension,
        null as customer_id,
        count(*) as metric_value
    from suppressed_edges
    group by sharing_rule
    union all
    select
        'customers over the limit of' as metric,
        identifier_type as dimension,
        null as customer_id,
        customer_count as metric_value
    from customers_over_limit
    union all
    select
        'customer id changes' as metric,
        change_type as dimension,
        null as customer_id,
        count(*) as metric_value
    from customer_id_changes
    group by change_type
    union all
    select
        'records' as metric,
        source_name as dimension,
        null as customer_id,
        record_count as metric_value
    from integration_by_source
    union all
    select
        'data integration rate' as metric,
        source_name as dimension,
        null as customer_id,
        1.0 * known_count / record_count as metric_value
    from integration_by_source
    where record_count > 0
    union all
    select
        'data integration rate' as metric,
        'all sources' as dimension,
        null as customer_id,
        1.0 * known_count / record_count as metric_value
    from integration_totals
    where record_count > 0
    union all
    select
        'records matched to any customer' as metric,
        source_name as dimension,
        null as customer_id,
        1.0 * matched_count / record_count as metric_value
    from integration_by_source
    where record_count > 0
)

select
    metric,
    dimension,
    customer_id,
    cast(metric_value as decimal(20, 6)) as metric_value,
    {{ dbt.current_timestamp() }} as measured_at
from metrics
