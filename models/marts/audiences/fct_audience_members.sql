{#
    Every member of every audience: the union of the audience models
    aud_<name> of var `audiences`, one row per audience and customer, with the
    audience contract (see macros/audiences/audience_members.sql). What the
    sync engine reads; holdout members are flagged, never sent.
#}
{%- set audience_names = var('audiences', {}).keys() | list | sort -%}

{%- for audience_name in audience_names %}
select {{ audience_contract_columns() | join(', ') }}
from {{ ref('aud_' ~ audience_name) }}
{%- if not loop.last %}

union all
{% endif %}
{%- endfor %}
