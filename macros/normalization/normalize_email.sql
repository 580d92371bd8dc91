{#
    A trimmed, lower-case e-mail address, or null when the text is empty or not
    shaped like an address (local part, one @, a domain with a dot and a
    top-level domain of two letters or more). Sub-addresses (`+tag`) and dots
    are kept: they are part of the address the person gave.
#}
{% macro normalize_email(column) -%}
    {%- set value = "lower(trim(" ~ column ~ "))" -%}
    case
        when {{ omni360.regexp_like(
            value,
            "'^[a-z0-9._%+-]+@[a-z0-9-]+([.][a-z0-9-]+)*[.][a-z]{2,}$'"
        ) }}
            then {{ value }}
    end
{%- endmacro %}
