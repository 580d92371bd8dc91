{#
    The send-time gate of the sync engine: one row per channel and address
    known to the warehouse, with its customer, consent states, suppression and
    whether a message may go to it now (is_sendable). The decision is taken in
    int_audiences__contact_permissions, which routing reads too, so the gate
    and the audiences never disagree. The sync engine refuses any record whose
    (channel, address) is not sendable here.
#}
with

contact_permissions as (
    select * from {{ ref('int_audiences__contact_permissions') }}
)

select
    channel,
    address,
    address_type,
    customer_id,
    requires_opt_in,
    address_consent_status,
    address_consent_at,
    customer_consent_status,
    is_suppressed,
    suppression_reason,
    permission_status,
    is_sendable,
    decided_at
from contact_permissions
