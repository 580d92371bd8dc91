{#
    The consent state of every address on every channel: the latest consent
    event of stg_consents for the identifier and channel (an opt-out wins a tie
    at the same time). Addresses never asked on a channel have no row.
#}
with

consents as (
    select * from {{ ref('stg_consents') }}
    where identifier is not null and channel is not null
),

ranked_consents as (
    select
        channel,
        identifier_type,
        identifier,
        consent_status,
        is_opt_in,
        occurred_at,
        consent_source,
        row_number() over (
            partition by channel, identifier_type, identifier
            order by
                occurred_at desc,
                case when is_opt_in then 1 else 0 end asc,
                consent_id asc
        ) as consent_rank
    from consents
)

select
    channel,
    identifier_type as address_type,
    identifier as address,
    consent_status,
    is_opt_in,
    occurred_at as consent_at,
    consent_source
from ranked_consents
where consent_rank = 1
