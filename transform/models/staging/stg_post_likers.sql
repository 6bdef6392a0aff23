-- One row per (identity_id, like_id): the reactions to the followed posts (one per person
-- and post; like_id is the tap's derived key).
with newest as (
    {{ edges_newest("post_likers", ["identity_id", "like_id"], {
        "identity_id": "string",
        "like_id": "string",
        "linkedin_post_url": "string",
        "linkedin_post_id": "string",
        "linkedin_profile_id": "bigint",
        "first_name": "string",
        "last_name": "string",
        "full_name": "string",
        "job_title": "string",
        "linkedin_profile_url": "string",
        "sales_navigator_profile_id": "string",
        "sales_navigator_profile_url": "string",
        "linkedin_people_post_search_url": "string",
        "liker_connection_degree": "string",
        "reaction_type": "string",
        "reaction_urn": "string",
        "run_uid": "string",
        "extracted_at": "timestamp",
    }) }}
)

select
    identity_id,
    like_id,
    linkedin_post_url,
    linkedin_post_id,
    linkedin_profile_id,
    first_name,
    last_name,
    coalesce(full_name, {{ edges_full_name("first_name", "last_name") }}) as full_name,
    job_title,
    linkedin_profile_url,
    sales_navigator_profile_id,
    sales_navigator_profile_url,
    linkedin_people_post_search_url,
    liker_connection_degree,
    lower(reaction_type) as reaction_type,
    reaction_urn,
    run_uid,
    extracted_at
from newest
