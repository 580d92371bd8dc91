{#
    Detractors: customers whose latest NPS answer, given in the last var
    `audience_survey_days` (default 30) days up to int_customers__as_of,
    scored 0 to 6. They are called back or get a help-desk task from a person
    (channel `agent` only, set in var `audiences`), never a bot. Attributes:
    score, when it was given, the touchpoint channel it was about and the
    comment, for the agent.
#}
with

recent_answers as (
    select * from {{ ref('int_audiences__recent_nps_answers') }}
    where score <= 6
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
