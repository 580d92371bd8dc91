{#
    One row per identifier a record carries: the record's key and time, and for
    each non-empty identifier column its type and value. `identifiers` maps an
    identifier type to the column holding it. One scan of `relation`: the record
    is crossed with the list of identifier types and the matching column picked.
#}
{% macro identifier_observations(source_name, relation, record_id, observed_at, identifiers) %}
    select
        '{{ source_name }}' as source_name,
        records.{{ record_id }} as record_id,
        records.{{ observed_at }} as observed_at,
        identifier_slots.identifier_type,
        case identifier_slots.identifier_type
            {%- for identifier_type, column in identifiers.items() %}
            when '{{ identifier_type }}' then records.{{ column }}
            {%- endfor %}
        end as identifier,
        records._loaded_at
    from {{ relation }} as records
    cross join (
        {%- for identifier_type in identifiers %}
        select '{{ identifier_type }}' as identifier_type
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    ) as identifier_slots
{% endmacro %}


{#
    A 64-bit integer id from text, with its bits well mixed: node ids of the
    identity graph, in random order as the stitching wants them. Distinct texts
    must get distinct ids: DuckDB's `hash` is fast but not collision-resistant
    (at a million customers it gave 22 pairs of e-mail addresses like
    `a.b77@x` and `a_b27@x` the same value, merging strangers), so DuckDB takes
    63 bits of MD5 and Spark xxhash64 (both: about 10^-5 odds of one collision
    among 10 million identifiers).
#}
{% macro hash_bigint(expression) -%}
    {{ return(adapter.dispatch('hash_bigint', 'omni360')(expression)) }}
{%- endmacro %}

{% macro default__hash_bigint(expression) -%}
    xxhash64({{ expression }})
{%- endmacro %}

{% macro duckdb__hash_bigint(expression) -%}
    cast(md5_number_lower({{ expression }}) >> 1 as bigint)
{%- endmacro %}


{# The node id of an identifier of the identity graph. #}
{% macro identity_node_id(identifier_type, identifier) -%}
    {{ hash_bigint(dbt.concat([identifier_type, "':'", identifier])) }}
{%- endmacro %}


{# The customer id issued for a component anchored on this identifier. #}
{% macro customer_id_for_anchor(identifier_type, identifier) -%}
    {{ dbt.concat(["'cus_'", dbt.hash(dbt.concat([identifier_type, "':'", identifier]))]) }}
{%- endmacro %}
