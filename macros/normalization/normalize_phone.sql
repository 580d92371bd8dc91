{#
    A phone number in E.164 ('+' and 7 to 15 digits), or null when the number
    is impossible. The rules are in the `phone_normalization` docs block
    (models/docs.md).

    `rules` names a one-row relation made by `phone_rules()`; the model cross
    joins it:

        calling_codes as (select * from {{ ref('country_calling_codes') }}),
        phone_rules as ({{ phone_rules('calling_codes') }}),
        ...
        select {{ normalize_phone('contacts.phone') }} as phone
        from contacts
        cross join phone_rules

    Every check is a plain string comparison (no regular expression built from
    data), so the expression stays fast on any engine.
#}
{% macro normalize_phone(column, rules='phone_rules') -%}
    {%- set value = "trim(" ~ column ~ ")" -%}
    {#- digits only; '(0)' is the trunk prefix some write after the calling code -#}
    {%- set digits = omni360.regexp_replace_all(
        "replace(" ~ value ~ ", '(0)', '')", "'[^0-9]'", "''"
    ) -%}
    {%- set calling_code = rules ~ ".default_calling_code" -%}
    {%- set trunk_prefix = rules ~ ".default_trunk_prefix" -%}
    {%- set min_length = rules ~ ".default_min_length" -%}
    {%- set max_length = rules ~ ".default_max_length" -%}
    case
        when {{ omni360.regexp_like(value, "'[A-Za-z]'") }} then null
        when {{ value }} like '+%'
            then {{ omni360.e164_or_null(digits, rules, allow_unknown_country=true) }}
        when {{ digits }} like '00%'
            then {{ omni360.e164_or_null(
                'substr(' ~ digits ~ ', 3)', rules, allow_unknown_country=true
            ) }}
        {#- national formats of the default country: valid by their length #}
        when {{ trunk_prefix }} <> ''
            and substr({{ digits }}, 1, length({{ trunk_prefix }})) = {{ trunk_prefix }}
            and length({{ digits }}) - length({{ trunk_prefix }})
            between {{ min_length }} and {{ max_length }}
            then '+' || {{ calling_code }} || substr({{ digits }}, length({{ trunk_prefix }}) + 1)
        when substr({{ digits }}, 1, length({{ calling_code }})) = {{ calling_code }}
            and length({{ digits }}) - length({{ calling_code }})
            between {{ min_length }} and {{ max_length }}
            then '+' || {{ digits }}
        when length({{ digits }}) between {{ min_length }} and {{ max_length }}
            and (
                {{ trunk_prefix }} = ''
                or substr({{ digits }}, 1, length({{ trunk_prefix }})) <> {{ trunk_prefix }}
            )
            then '+' || {{ calling_code }} || {{ digits }}
        {#- digits only, in the international form of a country of the seed #}
        else {{ omni360.e164_or_null(digits, rules, allow_unknown_country=false) }}
    end
{%- endmacro %}


{#
    '+' and `number` (digits with the calling code) when it is a possible number:
    the calling code of a country of the seed followed by a national number of
    an allowed length, or else (allow_unknown_country) 7 to 15 digits behind a
    calling code that no country of the seed has. Null otherwise.
#}
{% macro e164_or_null(number, rules, allow_unknown_country) -%}
    case
        when
            {%- for prefix_length in [1, 2, 3] %}
            {% if not loop.first %}or {% endif -%}
            instr(
                {{ rules }}.known_number_lengths,
                '|' || substr({{ number }}, 1, {{ prefix_length }}) || ':'
                || cast(length({{ number }}) - {{ prefix_length }} as {{ dbt.type_string() }})
                || '|'
            ) > 0
            {%- endfor %}
            then '+' || {{ number }}
        {%- if allow_unknown_country %}
        when
            {%- for prefix_length in [1, 2, 3] %}
            {% if not loop.first %}and {% endif -%}
            instr(
                {{ rules }}.known_calling_codes,
                '|' || substr({{ number }}, 1, {{ prefix_length }}) || '|'
            ) = 0
            {%- endfor %}
            and {{ omni360.regexp_like(number, "'^[1-9][0-9]{6,14}$'") }}
            then '+' || {{ number }}
        {%- endif %}
    end
{%- endmacro %}


{#
    The one-row relation of numbering rules `normalize_phone` reads, from a
    relation shaped like the `country_calling_codes` seed:
    - default_calling_code, default_trunk_prefix ('' when none),
      default_min_length, default_max_length: the rules of `country`
      (default: var `default_phone_country`);
    - known_number_lengths: '|<calling code>:<national length>|' for every
      country and every allowed national number length;
    - known_calling_codes: '|<calling code>|' for every country.
#}
{% macro phone_rules(calling_codes, country=none) -%}
    {%- set country = country or var('default_phone_country') -%}
    {%- set is_default = "upper(country_code) = upper('" ~ country ~ "')" -%}
    {%- set string = dbt.type_string() -%}
    {%- set lengths = [] -%}
    {%- for national_length in range(1, 15) -%}
        {%- do lengths.append(
            "case when " ~ national_length ~ " between national_number_min_length"
            ~ " and national_number_max_length then calling_code || ':"
            ~ national_length ~ "|' else '' end"
        ) -%}
    {%- endfor %}
    select
        max(case when {{ is_default }} then calling_code end) as default_calling_code,
        coalesce(
            max(case when {{ is_default }} then trunk_prefix end), ''
        ) as default_trunk_prefix,
        max(
            case when {{ is_default }} then national_number_min_length end
        ) as default_min_length,
        max(
            case when {{ is_default }} then national_number_max_length end
        ) as default_max_length,
        '|' || coalesce({{ dbt.listagg(lengths | join(' || '), "''") }}, '')
        as known_number_lengths,
        '|' || coalesce({{ dbt.listagg("calling_code", "'|'") }}, '') || '|'
        as known_calling_codes
    from {{ calling_codes }}
{%- endmacro %}
