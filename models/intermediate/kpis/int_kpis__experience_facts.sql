{#
    The experience KPIs taken apart: one row per KPI and source record (a
    survey answer, a resolved ticket) with its date, channel, segment and what
    it adds to the KPI's numerator and denominator. fct_experience_kpis sums
    them per period, channel and segment; every value is
    value_scale (seed kpi_catalog) x numerator / denominator.

    NPS: a promoter (9-10) adds 1, a detractor (0-6) -1, a passive (7-8) 0.
    CES: the score (1-7). CSAT: 1 for a score of 4 or 5, else 0.
    Tickets count when resolved, dated at resolution: FCR 1 for exactly one
    inbound interaction; resolution time the hours from opening; bot
    containment 1 when a bot took part and no agent (nor an unknown handler).
#}
with

survey_responses as (
    select * from {{ ref('stg_survey_responses') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'survey_responses'
),

customer_segments as (
    select * from {{ ref('int_kpis__customer_segments') }}
),

resolved_tickets as (
    select * from {{ ref('int_kpis__support_tickets') }}
    where is_resolved
),

responses as (
    select
        survey_responses.response_id,
        survey_responses.survey_type,
        survey_responses.score,
        cast(survey_responses.responded_at as date) as fact_date,
        coalesce(survey_responses.touchpoint_channel, 'unknown') as channel,
        coalesce(customer_segments.segment, 'unsegmented') as segment
    from survey_responses
    left join record_customers
        on survey_responses.response_id = record_customers.record_id
    left join customer_segments
        on record_customers.customer_id = customer_segments.customer_id
),

survey_facts as (
    select
        survey_type as kpi,
        'survey_responses' as source_name,
        response_id as record_id,
        fact_date,
        channel,
        segment,
        case
            when survey_type = 'nps' and score >= 9 then 1
            when survey_type = 'nps' and score <= 6 then -1
            when survey_type = 'nps' then 0
            when survey_type = 'ces' then score
            when survey_type = 'csat' and score >= 4 then 1
            else 0
        end as numerator,
        1 as denominator
    from responses
    where survey_type in ('nps', 'ces', 'csat')
),

ticket_facts as (
    select
        'fcr' as kpi,
        'support_tickets' as source_name,
        ticket_id as record_id,
        cast(resolved_at as date) as fact_date,
        channel,
        segment,
        case when is_first_contact_resolution then 1 else 0 end as numerator,
        1 as denominator
    from resolved_tickets

    union all

    select
        'avg_resolution_hours' as kpi,
        'support_tickets' as source_name,
        ticket_id as record_id,
        cast(resolved_at as date) as fact_date,
        channel,
        segment,
        resolution_hours as numerator,
        1 as denominator
    from resolved_tickets

    union all

    select
        'bot_containment' as kpi,
        'support_tickets' as source_name,
        ticket_id as record_id,
        cast(resolved_at as date) as fact_date,
        channel,
        segment,
        case when is_bot_contained then 1 else 0 end as numerator,
        1 as denominator
    from resolved_tickets
),

facts as (
    select * from survey_facts
    union all
    select * from ticket_facts
),

typed_facts as (
    select
        kpi,
        source_name,
        record_id,
        fact_date,
        channel,
        segment,
        cast(numerator as decimal(28, 6)) as numerator,
        cast(denominator as decimal(28, 6)) as denominator
    from facts
)

select * from typed_facts
