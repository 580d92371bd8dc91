{#
    One row per support ticket with what the experience KPIs need: its
    customer and segment, the channel of its first contact, how many
    interactions it had (inbound, by a bot, by an agent), the hours it took to
    resolve, and whether it was resolved at first contact (exactly one inbound
    interaction) or contained by a bot (a bot took part, no agent did).
#}
with

support_tickets as (
    select * from {{ ref('stg_support_tickets') }}
),

support_interactions as (
    select * from {{ ref('stg_support_interactions') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'support_tickets'
),

customer_segments as (
    select * from {{ ref('int_kpis__customer_segments') }}
),

ticket_interactions as (
    select
        ticket_id,
        count(*) as interaction_count,
        sum(case when direction = 'inbound' then 1 else 0 end) as inbound_interaction_count,
        sum(case when handled_by = 'bot' then 1 else 0 end) as bot_interaction_count,
        sum(case when handled_by = 'agent' then 1 else 0 end) as agent_interaction_count,
        sum(case when handled_by is null then 1 else 0 end) as unknown_handler_interaction_count
    from support_interactions
    group by ticket_id
),

tickets as (
    select
        support_tickets.ticket_id,
        record_customers.customer_id,
        support_tickets.topic,
        support_tickets.opened_at,
        support_tickets.resolved_at,
        support_tickets.is_resolved,
        coalesce(customer_segments.segment, 'unsegmented') as segment,
        coalesce(support_tickets.first_channel, 'unknown') as channel,
        coalesce(ticket_interactions.interaction_count, 0) as interaction_count,
        coalesce(ticket_interactions.inbound_interaction_count, 0)
            as inbound_interaction_count,
        coalesce(ticket_interactions.bot_interaction_count, 0) as bot_interaction_count,
        coalesce(ticket_interactions.agent_interaction_count, 0) as agent_interaction_count,
        coalesce(ticket_interactions.unknown_handler_interaction_count, 0)
            as unknown_handler_interaction_count,
        {{ dbt.datediff('support_tickets.opened_at', 'support_tickets.resolved_at', 'second') }}
            as resolution_seconds
    from support_tickets
    left join record_customers
        on support_tickets.ticket_id = record_customers.record_id
    left join customer_segments
        on record_customers.customer_id = customer_segments.customer_id
    left join ticket_interactions
        on support_tickets.ticket_id = ticket_interactions.ticket_id
),

ticket_outcomes as (
    select
        *,
        case
            when is_resolved then cast(resolution_seconds / 3600.0 as decimal(18, 6))
        end as resolution_hours,
        coalesce(is_resolved and inbound_interaction_count = 1, false)
            as is_first_contact_resolution,
        coalesce(
            is_resolved
            and bot_interaction_count > 0
            and agent_interaction_count = 0
            and unknown_handler_interaction_count = 0,
            false
        ) as is_bot_contained
    from tickets
)

select * from ticket_outcomes
