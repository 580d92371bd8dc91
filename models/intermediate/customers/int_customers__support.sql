{#
    The support history of every customer who opened a ticket: tickets, open
    tickets, the customer's own contacts with the help desk, the last ticket.
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
    where source_name = 'support_tickets' and customer_id is not null
),

customer_tickets as (
    select
        record_customers.customer_id,
        support_tickets.ticket_id,
        support_tickets.opened_at,
        support_tickets.is_resolved
    from support_tickets
    inner join record_customers
        on support_tickets.ticket_id = record_customers.record_id
),

ticket_contacts as (
    select
        ticket_id,
        sum(case when direction = 'inbound' then 1 else 0 end) as inbound_interaction_count
    from support_interactions
    group by ticket_id
),

customer_support as (
    select
        customer_tickets.customer_id,
        count(*) as ticket_count,
        sum(case when customer_tickets.is_resolved then 0 else 1 end) as open_ticket_count,
        coalesce(sum(ticket_contacts.inbound_interaction_count), 0)
            as support_contact_count,
        min(customer_tickets.opened_at) as first_ticket_opened_at,
        max(customer_tickets.opened_at) as last_ticket_opened_at
    from customer_tickets
    left join ticket_contacts
        on customer_tickets.ticket_id = ticket_contacts.ticket_id
    group by customer_tickets.customer_id
)

select * from customer_support
