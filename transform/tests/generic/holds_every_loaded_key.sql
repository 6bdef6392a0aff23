{#- The staging model holds one row per key of the table it stages: a staging model that lags
    its table (an empty view over a loaded table, say) fails here instead of loading nothing
    downstream. Returns the two counts when they differ.

    table:   the tap's table (source tap_edges)
    columns: its primary key columns -#}
{% test holds_every_loaded_key(model, table, columns) %}
{%- set relation = source("tap_edges", table) %}
with staged as (
    select count(*) as row_count from {{ model }}
),

loaded as (
    {%- if edges_loaded(relation) %}
    select count(*) as row_count
    from (
        select distinct {% for column in columns %}{{ adapter.quote(column) }}{{ ", " if not loop.last }}{% endfor %}
        from {{ relation }}
    ) as loaded_keys
    {%- else %}
    select 0 as row_count
    {%- endif %}
)

select staged.row_count as staged_rows, loaded.row_count as loaded_keys
from staged
cross join loaded
where staged.row_count <> loaded.row_count
{% endtest %}
