-- One row per LinkedIn member (linkedin_profile_id) seen in any stream: the latest known
-- name, headline and profile URL, first and last seen, whether a connection, and how many
-- engagements of each kind. Private profile viewers (no profile id) are not people here.
{%- set kinds = ["connection", "message", "profile_view", "comment", "like", "repost", "follow"] %}

with observed as (
    select *
    from {{ ref("engagements") }}
    where linkedin_profile_id is not null
),

latest as (
    select distinct
        linkedin_profile_id,
        {%- for column in ["full_name", "headline", "linkedin_profile_url"] %}
        first_value({{ column }}) over (
            partition by linkedin_profile_id
            order by
                case when {{ column }} is null then 1 else 0 end,
                extracted_at desc,
                occurred_at desc,
                engagement_id desc
            rows between unbounded preceding and unbounded following
        ) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from observed
),

counts as (
    select
        linkedin_profile_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(distinct identity_id) as identity_count,
        {%- for kind in kinds %}
        sum(case when kind = '{{ kind }}' then 1 else 0 end) as {{ kind }}_count,
        {%- endfor %}
        sum(case when kind <> 'connection' then 1 else 0 end) as engagement_count,
        max(extracted_at) as last_extracted_at
    from observed
    group by linkedin_profile_id
)

select
    latest.linkedin_profile_id,
    latest.full_name,
    latest.headline,
    latest.linkedin_profile_url,
    counts.first_seen_at,
    counts.last_seen_at,
    counts.connection_count > 0 as is_connection,
    counts.identity_count,
    {%- for kind in kinds %}
    counts.{{ kind }}_count,
    {%- endfor %}
    counts.engagement_count,
    counts.last_extracted_at
from latest
inner join counts on counts.linkedin_profile_id = latest.linkedin_profile_id
