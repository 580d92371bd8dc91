{#
    The lookup key of a channel name: lower-case, every run of characters other
    than a-z and 0-9 turned into one underscore, no leading or trailing
    underscore ('Google Ads' -> 'google_ads', 'e-mail' -> 'e_mail'). The
    `alias` column of the `channel_aliases` seed holds keys in this form.
#}
{% macro channel_key(column) -%}
    {{ omni360.regexp_replace_all(
        omni360.regexp_replace_all('lower(trim(' ~ column ~ '))', "'[^a-z0-9]+'", "'_'"),
        "'^_+|_+$'",
        "''"
    ) }}
{%- endmacro %}
