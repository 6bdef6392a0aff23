-- One row per (identity_id, linkedin_thread_id, participant_index): the people of each
-- conversation besides the identity (stg_conversations' participants, unnested), as the
-- conversation was last listed.
with participants as (
    {{ edges_json_elements(
        ref("stg_conversations"),
        ["identity_id", "linkedin_thread_id", "created_at", "last_activity_at", "run_uid", "extracted_at"],
        "participants",
    ) }}
)

select
    identity_id,
    linkedin_thread_id,
    element_index as participant_index,
    cast({{ edges_json_text("element", "linkedin_profile_id") }} as {{ dbt.type_bigint() }})
        as linkedin_profile_id,
    {{ edges_json_text("element", "first_name") }} as first_name,
    {{ edges_json_text("element", "last_name") }} as last_name,
    {{ edges_full_name(
        edges_json_text("element", "first_name"),
        edges_json_text("element", "last_name"),
    ) }} as full_name,
    {{ edges_json_text("element", "job_title") }} as job_title,
    {{ edges_json_text("element", "linkedin_profile_url") }} as linkedin_profile_url,
    {{ edges_json_text("element", "sales_navigator_profile_id") }} as sales_navigator_profile_id,
    created_at as conversation_created_at,
    last_activity_at as conversation_last_activity_at,
    run_uid,
    extracted_at
from participants
