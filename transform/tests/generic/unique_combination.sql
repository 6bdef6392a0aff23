{#- The columns together identify a row: no combination appears twice. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(", ") }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ columns | join(", ") }}
having count(*) > 1
{% endtest %}
