{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
    )
}}

{#
    The history of audience membership, append-only and kept through
    --full-refresh (it is what lift is measured on): one row per audience,
    customer and entry day, the day being the date of the audience's
    computed_at (the warehouse's now). A build adds the members of
    fct_audience_members not yet recorded for that audience, customer and day;
    rebuilding the same data adds nothing.
#}
with

audience_members as (
    select * from {{ ref('fct_audience_members') }}
),

{% if is_incremental() %}
recorded_entries as (
    select
        audience_name,
        customer_id,
        entered_on
    from {{ this }}
),
{% else %}
recorded_entries as (
    select
        cast(null as {{ dbt.type_string() }}) as audience_name,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as date) as entered_on
    where 1 = 0
),
{% endif %}

todays_entries as (
    select
        audience_name,
        customer_id,
        computed_at as entered_at,
        cast(computed_at as date) as entered_on,
        is_holdout,
        channel,
        priority
    from audience_members
)

select
    todays_entries.audience_name,
    todays_entries.customer_id,
    todays_entries.entered_at,
    todays_entries.entered_on,
    todays_entries.is_holdout,
    todays_entries.channel,
    todays_entries.priority
from todays_entries
left join recorded_entries
    on
        todays_entries.audience_name = recorded_entries.audience_name
        and todays_entries.customer_id = recorded_entries.customer_id
        and todays_entries.entered_on = recorded_entries.entered_on
where recorded_entries.audience_name is null
