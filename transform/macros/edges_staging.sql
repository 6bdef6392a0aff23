{#- The typed rows of one of the tap's tables, one per primary key: targets upsert, but a
    table loaded by an append-only target (or twice) can hold a key more than once, and the
    row extracted last wins. A table the loader never created (a stream with no input
    configured) reads as empty, with the same typed columns, so the models still build.

    stream:  the table (the tap's stream name), declared in models/staging/_sources.yml
    keys:    its primary key columns
    columns: name -> type (string, bigint, integer, float, timestamp), in output order -#}
{% macro edges_newest(stream, keys, columns) -%}
    {%- set relation = source('tap_edges', stream) -%}
    {%- if edges_loaded(relation) %}
    select {% for name in columns %}{{ name }}{{ ", " if not loop.last }}{% endfor %}
    from (
        select
            {%- for name, type in columns.items() %}
            cast({{ adapter.quote(name) }} as {{ edges_type(type) }}) as {{ name }},
            {%- endfor %}
            row_number() over (
                partition by {% for key in keys %}{{ adapter.quote(key) }}{{ ", " if not loop.last }}{% endfor %}
                order by {{ adapter.quote("extracted_at") }} desc, {{ adapter.quote("run_uid") }} desc
            ) as newest_first
        from {{ relation }}
    ) as ranked
    where newest_first = 1
    {%- else %}
    -- {{ relation }} does not exist (nothing loaded for this stream yet): no rows.
    select
        {%- for name, type in columns.items() %}
        cast(null as {{ edges_type(type) }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- endif %}
{%- endmacro %}


{#- Whether the loader created this table. Asked of the database, not of adapter.get_relation:
    dbt's relation cache fills a schema one relation at a time on a miss and counts it as
    cached from the first, so a model compiled meanwhile on another thread could miss a loaded
    table and read it as empty (tests/test_dbt.py). True while parsing (nothing is asked). -#}
{% macro edges_loaded(relation) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set listed = list_relations_without_caching(relation.without_identifier()) -%}
    {{ return(relation.identifier | lower in listed.columns["name"].values() | map("lower") | list) }}
{%- endmacro %}


{#- The SQL type of a column kind, in the warehouse's own spelling. -#}
{% macro edges_type(kind) -%}
    {%- if kind == "string" -%} {{ dbt.type_string() }}
    {%- elif kind == "bigint" -%} {{ dbt.type_bigint() }}
    {%- elif kind == "integer" -%} {{ dbt.type_int() }}
    {%- elif kind == "float" -%} {{ dbt.type_float() }}
    {%- elif kind == "timestamp" -%} {{ dbt.type_timestamp() }}
    {%- else -%} {{ exceptions.raise_compiler_error("edges_type: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}


{#- A timestamp from epoch milliseconds (profile viewers' view_timestamp). -#}
{% macro edges_epoch_ms(column) -%}
    {{ dbt.dateadd("millisecond", column, "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}


{#- first_name and last_name as one name (null when both are null). -#}
{% macro edges_full_name(first, last) -%}
    nullif(trim(concat(coalesce({{ first }}, ''), ' ', coalesce({{ last }}, ''))), '')
{%- endmacro %}


{#- The end of the warm_leads window: var warm_leads_as_of, else now (UTC, no time zone,
    like the loaders' timestamps). -#}
{% macro warm_leads_as_of() -%}
    {%- if var("warm_leads_as_of") -%}
        cast('{{ var("warm_leads_as_of") }}' as {{ dbt.type_timestamp() }})
    {%- else -%}
        cast({{ dbt.current_timestamp() }} at time zone 'UTC' as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}
