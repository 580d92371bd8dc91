{#
    Promoters: customers whose latest NPS answer, given in the last var
    `audience_survey_days` (default 30) days up to int_customers__as_of,
    scored 9 or 10: ask them for a referral or a review. Attributes: score,
    when it was given, the touchpoint channel it was about and the comment.
#}
with

recent_answers as (
    select * from {{ ref('int_audiences__recent_nps_answers') }}
    where score >= 9
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'Promoter: NPS '",
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
