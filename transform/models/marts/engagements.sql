-- One row per engagement event: a connection, a message, a profile view, a comment, a like,
-- a repost or a page follow, from the staging model of its stream (one row per staging row).
--
-- Incremental on extracted_at: a build reads the staging rows extracted at most
-- `engagements_lookback_hours` before the newest row it holds and writes those it does not
-- hold yet, or holds with an older extracted_at (Edges extracted the item again). A
-- --full-refresh gives the same rows.
{{ config(
    materialized="incremental",
    unique_key="engagement_id",
    incremental_strategy="delete+insert",
    on_schema_change="append_new_columns",
) }}

{%- set string = dbt.type_string() %}

with events as (

    select
        'connection' as kind,
        'connections' as source_stream,
        cast(linkedin_profile_id as {{ string }}) as source_id,
        identity_id,
        linkedin_profile_id,
        coalesce(connected_at, extracted_at) as occurred_at,
        connected_at is not null as occurred_at_is_item_time,
        cast(null as {{ string }}) as linkedin_post_url,
        cast(null as {{ string }}) as linkedin_thread_url,
        cast(null as {{ string }}) as linkedin_company_url,
        cast(null as {{ string }}) as reaction_type,
        full_name,
        job_title as headline,
        linkedin_profile_url,
        run_uid,
        extracted_at
    from {{ ref("stg_connections") }}

    union all

    select
        'message',
        'messages',
        message_id,
        identity_id,
        linkedin_profile_id,
        coalesce(sent_at, extracted_at),
        sent_at is not null,
        null,
        linkedin_thread_url,
        null,
        null,
        full_name,
        job_title,
        null,
        run_uid,
        extracted_at
    from {{ ref("stg_messages") }}

    union all

    select
        'profile_view',
        'profile_viewers',
        view_id,
        identity_id,
        linkedin_profile_id,
        coalesce(viewed_at, extracted_at),
        viewed_at is not null,
        null,
        null,
        null,
        null,
        null,
        headline,
        linkedin_profile_url,
        run_uid,
        extracted_at
    from {{ ref("stg_profile_viewers") }}

    union all

    select
        'comment',
        'post_commenters',
        linkedin_comment_id,
        identity_id,
        linkedin_profile_id,
        coalesce(commented_at, extracted_at),
        commented_at is not null,
        linkedin_post_url,
        null,
        null,
        null,
        full_name,
        summary,
        linkedin_profile_url,
        run_uid,
        extracted_at
    from {{ ref("stg_post_commenters") }}

    union all

    -- A reaction has no time of its own in Edges: when it was extracted stands in.
    select
        'like',
        'post_likers',
        like_id,
        identity_id,
        linkedin_profile_id,
        extracted_at,
        false,
        linkedin_post_url,
        null,
        null,
        reaction_type,
        full_name,
        job_title,
        linkedin_profile_url,
        run_uid,
        extracted_at
    from {{ ref("stg_post_likers") }}

    union all

    -- Nor has a repost.
    select
        'repost',
        'post_reposters',
        cast(linkedin_repost_id as {{ string }}),
        identity_id,
        linkedin_profile_id,
        extracted_at,
        false,
        linkedin_post_url,
        null,
        null,
        null,
        full_name,
        null,
        linkedin_profile_url,
        run_uid,
        extracted_at
    from {{ ref("stg_post_reposters") }}

    union all

    select
        'follow',
        'page_followers',
        {{ dbt.concat(["linkedin_company_url", "'|'", "cast(linkedin_profile_id as " ~ string ~ ")"]) }},
        identity_id,
        linkedin_profile_id,
        coalesce(followed_at, extracted_at),
        followed_at is not null,
        null,
        null,
        linkedin_company_url,
        null,
        full_name,
        headline,
        linkedin_profile_url,
        run_uid,
        extracted_at
    from {{ ref("stg_page_followers") }}

),

keyed as (
    select
        {{ dbt.concat(["source_stream", "'|'", "identity_id", "'|'", "source_id"]) }}
            as engagement_id,
        events.*,
        '{{ invocation_id }}' as dbt_invocation_id
    from events
)

select keyed.*
from keyed
{%- if is_incremental() %}
where keyed.extracted_at >= (
    select {{ dbt.dateadd(
        "hour",
        -1 * var("engagements_lookback_hours"),
        "coalesce(max(extracted_at), cast('1900-01-01' as " ~ dbt.type_timestamp() ~ "))",
    ) }}
    from {{ this }}
)
and not exists (
    select 1
    from {{ this }} as held
    where held.engagement_id = keyed.engagement_id
      and held.extracted_at >= keyed.extracted_at
)
{%- endif %}
