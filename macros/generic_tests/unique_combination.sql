{#
    Fails for every combination of `columns` that occurs on more than one row:
    the key of a model whose grain is several columns.
#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
