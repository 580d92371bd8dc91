{#
    The latest answer of every customer to each survey type (NPS, CES, CSAT):
    score and time (the latest response wins; the larger response id breaks a
    tie), and how many answers the customer gave.
#}
{%- set survey_types = ['nps', 'ces', 'csat'] -%}

with

survey_responses as (
    select * from {{ ref('stg_survey_responses') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'survey_responses' and customer_id is not null
),

ranked_responses as (
    select
        record_customers.customer_id,
        survey_responses.survey_type,
        survey_responses.score,
        survey_responses.responded_at,
        row_number() over (
            partition by record_customers.customer_id, survey_responses.survey_type
            order by survey_responses.responded_at desc, survey_responses.response_id desc
        ) as response_rank
    from survey_responses
    inner join record_customers
        on survey_responses.response_id = record_customers.record_id
),

customer_surveys as (
    select
        customer_id,
        {%- for survey_type in survey_types %}
        max(
            case when survey_type = '{{ survey_type }}' and response_rank = 1 then score end
        ) as last_{{ survey_type }}_score,
        max(
            case when survey_type = '{{ survey_type }}' and response_rank = 1 then responded_at end
        ) as last_{{ survey_type }}_responded_at,
        {%- endfor %}
        count(*) as survey_response_count
    from ranked_responses
    group by customer_id
)

select * from customer_surveys
