{#
    Fails for every row where `expression` is not true (false or null). Works on
    a model or on a column (the column is then only documentation: write it in
    the expression); filter rows with the test's `config: where:`.
#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
