-- One row per LinkedIn member (linkedin_profile_id) seen in any stream: the latest known
-- name, headline and profile URL, first and last seen, whether a connection, how many
-- engagements of each kind, the conversations they are in and the posts they wrote or
-- reshared. Private profile viewers (no profile id) are not people here, nor are
-- conversation participants and post authors without one.
{%- set kinds = ["connection", "message", "profile_view", "comment", "like", "repost", "follow"] %}
{%- set string = dbt.type_string() %}

with observed as (

    -- observation_id: what the person is counted by (an engagement, a conversation of an
    -- identity, a post); first_at and last_at: when they were seen in it.
    select
        linkedin_profile_id,
        identity_id,
        kind,
        engagement_id as observation_id,
        occurred_at as first_at,
        occurred_at as last_at,
        full_name,
        headline,
        linkedin_profile_url,
        extracted_at
    from {{ ref("engagements") }}
    where linkedin_profile_id is not null

    union all

    -- In a conversation of an identity's inbox: from its start to its last activity.
    select
        linkedin_profile_id,
        identity_id,
        'conversation',
        {{ dbt.concat(["identity_id", "'|'", "linkedin_thread_id"]) }},
        coalesce(conversation_created_at, conversation_last_activity_at, extracted_at),
        coalesce(conversation_last_activity_at, conversation_created_at, extracted_at),
        full_name,
        job_title,
        linkedin_profile_url,
        extracted_at
    from {{ ref("stg_conversation_participants") }}
    where linkedin_profile_id is not null

    {%- for role in ["author", "activity_author"] %}

    union all

    -- The {{ role }} of a listed post, seen on the day it was published. The post tells
    -- nothing between the person and the identity that listed it: no identity_id.
    select
        {{ role }}_linkedin_profile_id,
        cast(null as {{ string }}),
        'post',
        linkedin_post_id,
        coalesce(cast(published_date as {{ dbt.type_timestamp() }}), extracted_at),
        coalesce(cast(published_date as {{ dbt.type_timestamp() }}), extracted_at),
        {{ role }}_full_name,
        {{ role }}_headline,
        {{ role }}_linkedin_profile_url,
        extracted_at
    from {{ ref("stg_posts") }}
    where {{ role }}_linkedin_profile_id is not null
    {%- endfor %}

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
                last_at desc,
                observation_id desc
            rows between unbounded preceding and unbounded following
        ) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from observed
),

counts as (
    select
        linkedin_profile_id,
        min(first_at) as first_seen_at,
        max(last_at) as last_seen_at,
        count(distinct identity_id) as identity_count,
        {%- for kind in kinds %}
        sum(case when kind = '{{ kind }}' then 1 else 0 end) as {{ kind }}_count,
        {%- endfor %}
        sum(case when kind in ('{{ kinds[1:] | join("', '") }}') then 1 else 0 end)
            as engagement_count,
        count(distinct case when kind = 'conversation' then observation_id end)
            as conversation_count,
        count(distinct case when kind = 'post' then observation_id end) as post_count,
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
    counts.last_extracted_at,
    counts.conversation_count,
    counts.post_count
from latest
inner join counts on counts.linkedin_profile_id = latest.linkedin_profile_id
