-- One row per (identity_id, view_id): who viewed the identity's profile, and when.
with newest as (
    {{ edges_newest("profile_viewers", ["identity_id", "view_id"], {
        "identity_id": "string",
        "view_id": "string",
        "linkedin_profile_id": "bigint",
        "linkedin_profile_handle": "string",
        "linkedin_profile_url": "string",
        "headline": "string",
        "connection_degree": "string",
        "sales_navigator_profile_id": "string",
        "profile_image_url": "string",
        "linkedin_people_post_search_url": "string",
        "view_date": "timestamp",
        "view_timestamp": "bigint",
        "run_uid": "string",
        "extracted_at": "timestamp",
    }) }}
)

select
    identity_id,
    view_id,
    linkedin_profile_id,
    linkedin_profile_handle,
    linkedin_profile_url,
    headline,
    connection_degree,
    sales_navigator_profile_id,
    profile_image_url,
    linkedin_people_post_search_url,
    coalesce(view_date, {{ edges_epoch_ms("view_timestamp") }}) as viewed_at,
    (
        linkedin_profile_id is null
        and linkedin_profile_url is null
        and linkedin_profile_handle is null
    ) as is_private,
    run_uid,
    extracted_at
from newest
