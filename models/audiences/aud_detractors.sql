{#
    Detractors: customers whose latest NPS answer, given in the last var
    `audience_survey_days` (default 30) days up to int_customers__as_of,
    scored 0 to 6. They are called back or get a help-desk task from a person
    (channel `agent` only, set in var `audiences`), never a bot. Attributes:
    score, when it was given, the touchpoint channel it was about and the
    comment, for the agent.
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
),

recent_answers as (
    select ranked_answers.*
    from ranked_answers
    cross join as_of
    where
        ranked_answers.answer_rank = 1
        and ranked_answers.responded_at
        > {{ dbt.dateadd('day', -survey_days, 'as_of.as_of_at') }}
        and ranked_answers.score <= 6
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'Detractor: NPS '",
            'cast(score as ' ~ dbt.type_string() ~ ')',
            "' on '",
            'cast(cast(responded_at as date) as ' ~ dbt.type_string() ~ ')',
        ]) }} as reason,
        {{ json_object_text([
            ('nps_score', 'score'),
            ('responded_at', 'cast(responded_at as ' ~ dbt.type_string() ~ ')'),
            ('touchpoint_channel', 'touchpoint_channel'),
            ('comment', 'response_comment'),
        ]) }} as attributes
    from recent_answers
)

{{ audience_members('candidates') }}
