-- engagements ties out to the staging models: one row per staging row, stream by stream.
-- Returns the streams whose counts differ.
{%- set streams = {
    "connections": "stg_connections",
    "messages": "stg_messages",
    "profile_viewers": "stg_profile_viewers",
    "post_commenters": "stg_post_commenters",
    "post_likers": "stg_post_likers",
    "post_reposters": "stg_post_reposters",
    "page_followers": "stg_page_followers",
} %}

with staging as (
    {%- for stream, model in streams.items() %}
    select '{{ stream }}' as source_stream, count(*) as row_count from {{ ref(model) }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

engaged as (
    select source_stream, count(*) as row_count
    from {{ ref("engagements") }}
    group by source_stream
)

select
    coalesce(staging.source_stream, engaged.source_stream) as source_stream,
    staging.row_count as staging_rows,
    engaged.row_count as engagement_rows
from staging
full outer join engaged on engaged.source_stream = staging.source_stream
where coalesce(staging.row_count, 0) <> coalesce(engaged.row_count, 0)
