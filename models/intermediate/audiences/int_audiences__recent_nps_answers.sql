{#
    Every customer's latest NPS answer up to int_customers__as_of (the latest
    response wins; the larger response id breaks a tie), kept when it was given
    in the last var `audience_survey_days` (default 30) days: what the
    promoters and detractors audiences choose from.
#}
{%- set survey_days = var('audience_survey_days', 30) -%}

with

survey_responses as (
    select * from {{ ref('stg_survey_responses') }}
    where survey_type = 'nps'
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'survey_responses' and customer_id is not null
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

ranked_answers as (
    select
        record_customers.customer_id,
        survey_responses.score,
        survey_responses.responded_at,
        survey_responses.touchpoint_channel,
        survey_responses.response_comment,
        row_number() over (
            partition by record_customers.customer_id
            order by survey_responses.responded_at desc, survey_responses.response_id desc
        ) as answer_rank
    from survey_responses
    inner join record_customers
        on survey_responses.response_id = record_customers.record_id
    cross join as_of
    where survey_responses.responded_at <= as_of.as_of_at
)

select
    ranked_answers.customer_id,
    ranked_answers.score,
    ranked_answers.responded_at,
    ranked_answers.touchpoint_channel,
    ranked_answers.response_comment
from ranked_answers
cross join as_of
where
    ranked_answers.answer_rank = 1
    and ranked_answers.responded_at
    > {{ dbt.dateadd('day', -survey_days, 'as_of.as_of_at') }}
