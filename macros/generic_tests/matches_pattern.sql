{#
    Fails for every non-null value of the column that does not match the
    regular expression `pattern` (a partial match: anchor it with ^ and $).
#}
{% test matches_pattern(model, column_name, pattern) %}

select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    and not {{ omni360.regexp_like(column_name, "'" ~ pattern ~ "'") }}

{% endtest %}
