{#- The typed rows of one of the tap's tables, one per primary key: targets upsert, but a
    table loaded by an append-only target (or twice) can hold a key more than once, and the
    row extracted last wins. A table the loader never created (a stream with no input
    configured) reads as empty, with the same typed columns, so the models still build.

    stream:  the table (the tap's stream name), declared in models/staging/_sources.yml
    keys:    its primary key columns
    columns: name -> type (string, bigint, integer, float, boolean, timestamp, json), in
             output order; a json column (an object or array field) keeps its value as the
             warehouse's JSON (edges_json)
    newest:  columns that tell the newest of two rows with the same extracted_at apart,
             before run_uid (e.g. a conversation's last_activity_at) -#}
{% macro edges_newest(stream, keys, columns, newest=[]) -%}
    {%- set relation = source('tap_edges', stream) -%}
    {%- if edges_loaded(relation) %}
    select {% for name in columns %}{{ name }}{{ ", " if not loop.last }}{% endfor %}
    from (
        select
            {%- for name, type in columns.items() %}
            {%- if type == "json" %}
            {{ edges_json(adapter.quote(name)) }} as {{ name }},
            {%- else %}
            cast({{ adapter.quote(name) }} as {{ edges_type(type) }}) as {{ name }},
            {%- endif %}
            {%- endfor %}
            row_number() over (
                partition by {% for key in keys %}{{ adapter.quote(key) }}{{ ", " if not loop.last }}{% endfor %}
                order by {% for column in ["extracted_at"] + newest + ["run_uid"] %}{{ adapter.quote(column) }} desc{{ ", " if not loop.last }}{% endfor %}
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
    {%- elif kind == "boolean" -%} {{ dbt.type_boolean() }}
    {%- elif kind == "timestamp" -%} {{ dbt.type_timestamp() }}
    {%- elif kind == "json" -%} {{ adapter.dispatch("edges_json_type")() }}
    {%- else -%} {{ exceptions.raise_compiler_error("edges_type: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}


{#- A loaded object or array field as the warehouse's JSON: target-duckdb loads both as JSON,
    target-postgres an object as jsonb and an array of objects as jsonb[] (made one jsonb
    array here). -#}
{% macro edges_json(column) -%}
    {{ return(adapter.dispatch("edges_json")(column)) }}
{%- endmacro %}

{% macro default__edges_json(column) -%}
    to_jsonb({{ column }})
{%- endmacro %}

{% macro duckdb__edges_json(column) -%}
    cast({{ column }} as json)
{%- endmacro %}

{% macro default__edges_json_type() -%} jsonb {%- endmacro %}

{% macro duckdb__edges_json_type() -%} json {%- endmacro %}


{#- One field of a JSON object (edges_json) as text; null when the object or the field is. -#}
{% macro edges_json_text(json, field) -%}
    ({{ json }} ->> '{{ field }}')
{%- endmacro %}


{#- The elements of a JSON array column (edges_json), one row each: the relation's `keys`,
    element_index (1 for the first) and element (JSON). A null or non-array value has no
    elements, and JSON null elements are left out (their index is skipped). -#}
{% macro edges_json_elements(relation, keys, column) -%}
    {{ return(adapter.dispatch("edges_json_elements")(relation, keys, column)) }}
{%- endmacro %}

{% macro default__edges_json_elements(relation, keys, column) -%}
    select
        {%- for key in keys %}
        parent.{{ key }},
        {%- endfor %}
        cast(elements.element_index as {{ dbt.type_int() }}) as element_index,
        elements.element
    from {{ relation }} as parent
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof(parent.{{ column }}) = 'array' then parent.{{ column }} else cast('[]' as jsonb) end
    ) with ordinality as elements (element, element_index)
    where jsonb_typeof(elements.element) <> 'null'
{%- endmacro %}

{% macro duckdb__edges_json_elements(relation, keys, column) -%}
    select
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        element_index,
        element
    from (
        select
            {%- for key in keys %}
            {{ key }},
            {%- endfor %}
            cast(element_index as {{ dbt.type_int() }}) as element_index,
            json_extract({{ column }}, '$[' || cast(element_index - 1 as varchar) || ']') as element
        from (
            select
                {%- for key in keys %}
                {{ key }},
                {%- endfor %}
                {{ column }},
                unnest(generate_series(1, cast(json_array_length({{ column }}) as bigint))) as element_index
            from {{ relation }}
        ) as indexed
    ) as elements
    where json_type(element) <> 'NULL'
{%- endmacro %}


{#- The LinkedIn activity id a post URL shows (…activity-<id>-…, …urn:li:activity:<id>…), else
    null: the tap's own way of telling two URLs of one post apart (tap_edges/discovery). -#}
{% macro edges_activity_id(url) -%}
    {{ return(adapter.dispatch("edges_activity_id")(url)) }}
{%- endmacro %}

{% macro default__edges_activity_id(url) -%}
    substring({{ url }} from 'activity[:-]([0-9]{10,})')
{%- endmacro %}

{% macro duckdb__edges_activity_id(url) -%}
    nullif(regexp_extract({{ url }}, 'activity[:-]([0-9]{10,})', 1), '')
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
