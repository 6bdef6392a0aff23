-- One row per (identity_id, linkedin_profile_id): the identity's 1st-degree connections.
with newest as (
    {{ edges_newest("connections", ["identity_id", "linkedin_profile_id"], {
        "identity_id": "string",
        "linkedin_profile_id": "bigint",
        "first_name": "string",
        "last_name": "string",
        "full_name": "string",
        "job_title": "string",
        "linkedin_profile_handle": "string",
        "linkedin_profile_url": "string",
        "profile_image_url": "string",
        "sales_navigator_profile_id": "string",
        "connected_at": "timestamp",
        "run_uid": "string",
        "extracted_at": "timestamp",
    }) }}
)

select
    identity_id,
    linkedin_profile_id,
    first_name,
    last_name,
    coalesce(full_name, {{ edges_full_name("first_name", "last_name") }}) as full_name,
    job_title,
    linkedin_profile_handle,
    linkedin_profile_url,
    profile_image_url,
    sales_navigator_profile_id,
    connected_at,
    run_uid,
    extracted_at
from newest
