{#
    What every audience came to, and what it costs: one row per configured
    audience with channel 'all', and one per audience and chosen channel. From
    the outcomes table every audience model keeps beside its members
    (aud_<name>__outcomes, see macros/audiences/audience_materialization.sql).

    - candidates: customers the definition selected (row 'all' only);
    - unreachable: candidates without an eligible channel, or whose channels
      the audience has all exhausted (all_channels_exhausted counts those);
      frequency_capped: reachable but already sent var
      `audience_frequency_cap_messages` messages lately (row 'all' only);
    - members, holdout_members, treatment_members (members to send);
    - estimated_cost: sum of cost_per_message of the treatment members (UAH,
      seed channel_catalog; monthly minimum fees not included);
    - most_expensive_channel_cost: the same members each sent on their most
      expensive eligible channel; all_sms_cost: each sent an SMS at the
      catalog's SMS price; savings_vs_sms = all_sms_cost - estimated_cost.
#}
{%- set audience_names = var('audiences', {}).keys() | list | sort -%}

with

channel_catalog as (
    select * from {{ ref('channel_catalog') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

audience_outcomes as (
    {%- for audience_name in audience_names %}
    select
        audience_name,
        customer_id,
        channel,
        is_holdout,
        cost_per_message,
        max_eligible_cost_per_message,
        outcome
    from {{ audience_outcomes_relation(ref('aud_' ~ audience_name)) }}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
),

configured_audiences as (
    {%- for audience_name in audience_names %}
    select '{{ audience_name }}' as audience_name
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

sms_prices as (
    select cost_per_message as sms_cost_per_message
    from channel_catalog
    where channel = 'sms'
),

outcome_rows as (
    select
        audience_outcomes.audience_name,
        audience_outcomes.channel,
        audience_outcomes.outcome,
        case when audience_outcomes.outcome = 'member' then 1 else 0 end as is_member,
        case
            when audience_outcomes.outcome = 'member' and audience_outcomes.is_holdout then 1
            else 0
        end as is_holdout_member,
        case
            when audience_outcomes.outcome = 'member' and not audience_outcomes.is_holdout then 1
            else 0
        end as is_treatment_member,
        case
            when audience_outcomes.outcome = 'member' and not audience_outcomes.is_holdout
                then audience_outcomes.cost_per_message
            else 0
        end as message_cost,
        case
            when audience_outcomes.outcome = 'member' and not audience_outcomes.is_holdout
                then audience_outcomes.max_eligible_cost_per_message
            else 0
        end as most_expensive_message_cost,
        case
            when audience_outcomes.outcome = 'member' and not audience_outcomes.is_holdout
                then sms_prices.sms_cost_per_message
            else 0
        end as sms_message_cost
    from audience_outcomes
    cross join sms_prices
),

audience_rows as (
    select
        configured_audiences.audience_name,
        'all' as channel,
        count(outcome_rows.outcome) as candidates,
        sum(
            case
                when outcome_rows.outcome in ('no_eligible_channel', 'all_channels_exhausted')
                    then 1
                else 0
            end
        ) as unreachable,
        sum(case when outcome_rows.outcome = 'all_channels_exhausted' then 1 else 0 end)
            as all_channels_exhausted,
        sum(case when outcome_rows.outcome = 'frequency_capped' then 1 else 0 end)
            as frequency_capped,
        sum(outcome_rows.is_member) as members,
        sum(outcome_rows.is_holdout_member) as holdout_members,
        sum(outcome_rows.is_treatment_member) as treatment_members,
        sum(outcome_rows.message_cost) as estimated_cost,
        sum(outcome_rows.most_expensive_message_cost) as most_expensive_channel_cost,
        sum(outcome_rows.sms_message_cost) as all_sms_cost
    from configured_audiences
    left join outcome_rows
        on configured_audiences.audience_name = outcome_rows.audience_name
    group by configured_audiences.audience_name
),

channel_rows as (
    select
        audience_name,
        channel,
        cast(null as {{ dbt.type_int() }}) as candidates,
        cast(null as {{ dbt.type_int() }}) as unreachable,
        cast(null as {{ dbt.type_int() }}) as all_channels_exhausted,
        cast(null as {{ dbt.type_int() }}) as frequency_capped,
        sum(is_member) as members,
        sum(is_holdout_member) as holdout_members,
        sum(is_treatment_member) as treatment_members,
        sum(message_cost) as estimated_cost,
        sum(most_expensive_message_cost) as most_expensive_channel_cost,
        sum(sms_message_cost) as all_sms_cost
    from outcome_rows
    where outcome = 'member'
    group by audience_name, channel
),

summary_rows as (
    select * from audience_rows
    union all
    select * from channel_rows
)

select
    summary_rows.audience_name,
    summary_rows.channel,
    cast(summary_rows.candidates as {{ dbt.type_bigint() }}) as candidates,
    cast(summary_rows.unreachable as {{ dbt.type_bigint() }}) as unreachable,
    cast(summary_rows.all_channels_exhausted as {{ dbt.type_bigint() }}) as all_channels_exhausted,
    cast(summary_rows.frequency_capped as {{ dbt.type_bigint() }}) as frequency_capped,
    cast(coalesce(summary_rows.members, 0) as {{ dbt.type_bigint() }}) as members,
    cast(coalesce(summary_rows.holdout_members, 0) as {{ dbt.type_bigint() }})
        as holdout_members,
    cast(coalesce(summary_rows.treatment_members, 0) as {{ dbt.type_bigint() }})
        as treatment_members,
    cast(coalesce(summary_rows.estimated_cost, 0) as decimal(18, 4)) as estimated_cost,
    cast(coalesce(summary_rows.most_expensive_channel_cost, 0) as decimal(18, 4))
        as most_expensive_channel_cost,
    cast(coalesce(summary_rows.all_sms_cost, 0) as decimal(18, 4)) as all_sms_cost,
    cast(
        coalesce(summary_rows.all_sms_cost, 0) - coalesce(summary_rows.estimated_cost, 0)
        as decimal(18, 4)
    ) as savings_vs_sms,
    as_of.as_of_at as computed_at
from summary_rows
cross join as_of
