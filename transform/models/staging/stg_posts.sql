-- One row per (identity_id, linkedin_post_id): the posts the posts listing found in the
-- activity of the post_authors, with the counts of the newest listing (every listed post is
-- emitted every sync). author is the post's writer (for a reshare, the original's);
-- activity_author the profile whose activity it is (linkedin_profile_url, who reshared a
-- reshare).
with newest as (
    {{ edges_newest("posts", ["identity_id", "linkedin_post_id"], {
        "identity_id": "string",
        "linkedin_post_id": "string",
        "linkedin_activity_id": "string",
        "linkedin_post_url": "string",
        "followed_post_url": "string",
        "linkedin_profile_url": "string",
        "published_date": "string",
        "linkedin_post_type": "string",
        "content_text": "string",
        "reaction_count": "integer",
        "comment_count": "integer",
        "repost_count": "integer",
        "author": "json",
        "activity_author": "json",
        "source_post": "json",
        "run_uid": "string",
        "extracted_at": "timestamp",
    }) }}
)

select
    identity_id,
    linkedin_post_id,
    linkedin_activity_id,
    linkedin_post_url,
    followed_post_url,
    linkedin_profile_url,
    -- A date (YYYY-MM-DD), whatever the loader made of it; a time after it is dropped.
    cast(substring(published_date, 1, 10) as date) as published_date,
    lower(linkedin_post_type) as linkedin_post_type,
    content_text,
    reaction_count,
    comment_count,
    repost_count,
    {%- for role in ["author", "activity_author"] %}
    cast({{ edges_json_text(role, "linkedin_profile_id") }} as {{ dbt.type_bigint() }})
        as {{ role }}_linkedin_profile_id,
    {{ edges_json_text(role, "linkedin_profile_url") }} as {{ role }}_linkedin_profile_url,
    {{ edges_json_text(role, "first_name") }} as {{ role }}_first_name,
    {{ edges_json_text(role, "last_name") }} as {{ role }}_last_name,
    {{ edges_full_name(edges_json_text(role, "first_name"), edges_json_text(role, "last_name")) }}
        as {{ role }}_full_name,
    {{ edges_json_text(role, "headline") }} as {{ role }}_headline,
    {%- endfor %}
    {{ edges_json_text("source_post", "linkedin_post_id") }} as source_post_id,
    {{ edges_json_text("source_post", "linkedin_post_url") }} as source_post_url,
    run_uid,
    extracted_at
from newest
