-- One row per (identity_id, linkedin_repost_id): the reposts of the followed posts.
with newest as (
    {{ edges_newest("post_reposters", ["identity_id", "linkedin_repost_id"], {
        "identity_id": "string",
        "linkedin_repost_id": "bigint",
        "linkedin_post_url": "string",
        "linkedin_profile_id": "bigint",
        "first_name": "string",
        "last_name": "string",
        "full_name": "string",
        "linkedin_profile_handle": "string",
        "linkedin_profile_url": "string",
        "sales_navigator_profile_id": "string",
        "sales_navigator_profile_url": "string",
        "reposter_connection_degree": "string",
        "linkedin_repost_url": "string",
        "repost_text": "string",
        "run_uid": "string",
        "extracted_at": "timestamp",
    }) }}
)

select
    identity_id,
    linkedin_repost_id,
    linkedin_post_url,
    linkedin_profile_id,
    first_name,
    last_name,
    coalesce(full_name, {{ edges_full_name("first_name", "last_name") }}) as full_name,
    linkedin_profile_handle,
    linkedin_profile_url,
    sales_navigator_profile_id,
    sales_navigator_profile_url,
    reposter_connection_degree,
    linkedin_repost_url,
    repost_text,
    run_uid,
    extracted_at
from newest
