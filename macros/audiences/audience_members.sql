{#
    The end of every audience model (models/audiences/aud_<name>.sql): routes
    the audience's candidates to a channel and gives them the audience
    contract. `candidates` names the model's CTE of candidates, one row per
    customer: customer_id, reason (why they are in it, for people) and
    attributes (JSON object text, see json_object_text). The model's SQL
    ends with its CTEs, then:

        {{ audience_members('candidates') }}

    The audience name is the model name without `aud_`; its settings come
    from var `audiences` (audience_config).

    For every candidate the query says what became of them (`outcome`):
    - eligible channels: the customer's sendable channels with an address
      (int_audiences__customer_channels), restricted to the audience's
      `channels` and, unless `allow_human`, to automated channels; ordered by
      channels the customer opened or clicked lately first, then cascade_rank,
      then cost, then name. A channel the audience already tried without an
      answer (int_audiences__fallbacks) is exhausted: the first channel of the
      order that is not exhausted is chosen; channel_order is its place in the
      order and fallback_from_channel the exhausted channel just before it.
    - outcome: no_eligible_channel, all_channels_exhausted, frequency_capped
      (var `audience_frequency_cap_messages`, default 3, or more messages in
      the last `audience_frequency_cap_days` days, int_audiences__message_frequency)
      or member.
    - is_holdout: stable_bucket(audience name || customer_id) < holdout_percent.

    The `audience` materialization stores these outcomes beside the model
    (table aud_<name>__outcomes) and the members, with the contract columns
    only, as the model's table.
#}
{% macro audience_members(candidates, audience_name=none) -%}
    {#- in a unit test, `model` is the test: read the name of the model it tests -#}
    {%- set tested_node = model.tested_node_unique_id if model.tested_node_unique_id is defined
        else none -%}
    {%- set model_name = tested_node.split('.')[-1] if tested_node else model.name -%}
    {%- set name = audience_name or model_name | replace('aud_', '', 1) -%}
    {%- set settings = audience_config(name) -%}
    {%- set cap_messages = var('audience_frequency_cap_messages', 3) -%}
,

audience_candidates as (
    select
        customer_id,
        reason,
        attributes,
        row_number() over (
            partition by customer_id
            order by reason, attributes
        ) as candidate_rank
    from {{ candidates }}
    where customer_id is not null
),

audience_customer_channels as (
    select * from {{ ref('int_audiences__customer_channels') }}
),

audience_fallbacks as (
    select * from {{ ref('int_audiences__fallbacks') }}
    where audience_name = '{{ name }}'
),

audience_message_frequency as (
    select * from {{ ref('int_audiences__message_frequency') }}
),

audience_customer_names as (
    select * from {{ ref('int_customers__traits') }}
),

audience_as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

audience_eligible_channels as (
    select
        audience_candidates.customer_id,
        audience_customer_channels.channel,
        audience_customer_channels.address_type,
        audience_customer_channels.address,
        audience_customer_channels.cost_per_message,
        coalesce(audience_fallbacks.is_exhausted, false) as is_exhausted,
        row_number() over (
            partition by audience_candidates.customer_id
            order by
                case when audience_customer_channels.is_engaged then 0 else 1 end,
                audience_customer_channels.cascade_rank,
                audience_customer_channels.cost_per_message,
                audience_customer_channels.channel
        ) as channel_position
    from audience_candidates
    inner join audience_customer_channels
        on audience_candidates.customer_id = audience_customer_channels.customer_id
    left join audience_fallbacks
        on
            audience_customer_channels.customer_id = audience_fallbacks.customer_id
            and audience_customer_channels.channel = audience_fallbacks.channel
    where
        audience_candidates.candidate_rank = 1
        {%- if settings['channels'] is not none %}
        and audience_customer_channels.channel in (
            {%- for channel in settings['channels'] %}
            '{{ channel }}'{% if not loop.last %},{% endif %}
            {%- endfor %}
        )
        {%- endif %}
        {%- if not settings['allow_human'] %}
        and audience_customer_channels.is_automated
        {%- endif %}
),

audience_channel_order as (
    select
        *,
        lag(channel) over (
            partition by customer_id
            order by channel_position
        ) as previous_channel,
        row_number() over (
            partition by customer_id, is_exhausted
            order by channel_position
        ) as position_among_same_state
    from audience_eligible_channels
),

audience_chosen_channels as (
    select
        customer_id,
        channel,
        address_type,
        address,
        cost_per_message,
        channel_position as channel_order,
        previous_channel as fallback_from_channel
    from audience_channel_order
    where not is_exhausted and position_among_same_state = 1
),

audience_channel_counts as (
    select
        customer_id,
        count(*) as eligible_channel_count,
        max(case when not is_exhausted then cost_per_message end)
            as max_eligible_cost_per_message
    from audience_eligible_channels
    group by customer_id
),

audience_outcomes as (
    select
        '{{ name }}' as audience_name,
        audience_candidates.customer_id,
        audience_chosen_channels.channel,
        audience_chosen_channels.address_type,
        audience_chosen_channels.address,
        cast(audience_chosen_channels.channel_order as {{ dbt.type_int() }}) as channel_order,
        audience_chosen_channels.fallback_from_channel,
        audience_chosen_channels.cost_per_message,
        audience_customer_names.first_name,
        {{ stable_bucket(dbt.concat(["'" ~ name ~ "'", 'audience_candidates.customer_id'])) }}
        < {{ settings['holdout_percent'] }} as is_holdout,
        audience_candidates.reason,
        audience_candidates.attributes,
        audience_as_of.as_of_at as computed_at,
        cast({{ settings['priority'] }} as {{ dbt.type_int() }}) as priority,
        case
            when audience_channel_counts.customer_id is null then 'no_eligible_channel'
            when audience_chosen_channels.customer_id is null then 'all_channels_exhausted'
            when
                coalesce(audience_message_frequency.messages_sent_count, 0)
                >= {{ cap_messages }}
                then 'frequency_capped'
            else 'member'
        end as outcome,
        cast(coalesce(audience_channel_counts.eligible_channel_count, 0) as {{ dbt.type_int() }})
            as eligible_channel_count,
        audience_channel_counts.max_eligible_cost_per_message,
        cast(coalesce(audience_message_frequency.messages_sent_count, 0) as {{ dbt.type_int() }})
            as recent_message_count
    from audience_candidates
    cross join audience_as_of
    left join audience_chosen_channels
        on audience_candidates.customer_id = audience_chosen_channels.customer_id
    left join audience_channel_counts
        on audience_candidates.customer_id = audience_channel_counts.customer_id
    left join audience_message_frequency
        on audience_candidates.customer_id = audience_message_frequency.customer_id
    left join audience_customer_names
        on audience_candidates.customer_id = audience_customer_names.customer_id
    where audience_candidates.candidate_rank = 1
)

select * from audience_outcomes
{%- endmacro %}
