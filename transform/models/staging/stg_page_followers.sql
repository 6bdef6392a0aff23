-- One row per (identity_id, linkedin_company_url, linkedin_profile_id): the followers of the
-- configured company pages.
with newest as (
    {{ edges_newest("page_followers", ["identity_id", "linkedin_company_url", "linkedin_profile_id"], {
        "identity_id": "string",
        "linkedin_company_url": "string",
        "linkedin_profile_id": "bigint",
        "first_name": "string",
        "last_name": "string",
        "full_name": "string",
        "headline": "string",
        "linkedin_profile_handle": "string",
        "linkedin_profile_url": "string",
        "sales_navigator_profile_id": "string",
        "profile_image_url": "string",
        "linkedin_people_post_search_url": "string",
        "followed_at": "timestamp",
        "run_uid": "string",
        "extracted_at": "timestamp",
    }) }}
)

select
    identity_id,
    linkedin_company_url,
    linkedin_profile_id,
    first_name,
    last_name,
    coalesce(full_name, {{ edges_full_name("first_name", "last_name") }}) as full_name,
    headline,
    linkedin_profile_handle,
    linkedin_profile_url,
    sales_navigator_profile_id,
    profile_image_url,
    linkedin_people_post_search_url,
    followed_at,
    run_uid,
    extracted_at
from newest
