{#
    The best-known value of every trait of a customer (survivorship). Only the
    sources listed for the trait in seed trait_source_priority take part; among
    their values the first by these rules wins:

    1. an address currently opted in to a messaging channel (only e-mails,
       phones and messenger ids can be);
    2. the source of the lowest priority number in the seed (CRM first for
       names, birth date and city);
    3. the value that source gave most recently;
    4. the value that source gave most often;
    5. the smallest value (so a rebuild picks the same one).
#}
{%- set text_traits = [
    'first_name', 'last_name', 'city', 'email', 'phone', 'user_id',
    'loyalty_card_id', 'telegram_id', 'viber_id', 'crm_contact_id'
] -%}

with

trait_candidates as (
    select * from {{ ref('int_customers__trait_candidates') }}
),

trait_source_priority as (
    select * from {{ ref('trait_source_priority') }}
),

ranked_candidates as (
    select
        trait_candidates.customer_id,
        trait_candidates.trait,
        trait_candidates.trait_value,
        row_number() over (
            partition by trait_candidates.customer_id, trait_candidates.trait
            order by
                case when trait_candidates.is_opted_in then 0 else 1 end asc,
                trait_source_priority.priority asc,
                trait_candidates.last_observed_at desc nulls last,
                trait_candidates.observation_count desc,
                trait_candidates.trait_value asc
        ) as candidate_rank
    from trait_candidates
    inner join trait_source_priority
        on
            trait_candidates.trait = trait_source_priority.trait
            and trait_candidates.source_name = trait_source_priority.source_name
),

surviving_values as (
    select
        customer_id,
        trait,
        trait_value
    from ranked_candidates
    where candidate_rank = 1
),

customer_traits as (
    select
        customer_id,
        {%- for trait in text_traits %}
        max(case when trait = '{{ trait }}' then trait_value end) as {{ trait }},
        {%- endfor %}
        cast(max(case when trait = 'birth_date' then trait_value end) as date) as birth_date
    from surviving_values
    group by customer_id
)

select * from customer_traits
