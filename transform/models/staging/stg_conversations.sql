-- One row per (identity_id, linkedin_thread_id): the conversations of the identities' inboxes
-- (the conversations listing), as last listed. The tap emits a conversation again when its
-- last_activity_at moved: the newest extraction wins (then the latest activity).
with newest as (
    {{ edges_newest("conversations", ["identity_id", "linkedin_thread_id"], {
        "identity_id": "string",
        "linkedin_thread_id": "string",
        "linkedin_thread_url": "string",
        "participants": "json",
        "read": "boolean",
        "unread_count": "integer",
        "total_received_messages": "integer",
        "created_at": "timestamp",
        "last_activity_at": "timestamp",
        "last_message": "json",
        "sponsored": "boolean",
        "run_uid": "string",
        "extracted_at": "timestamp",
    }, newest=["last_activity_at"]) }}
)

select
    identity_id,
    linkedin_thread_id,
    linkedin_thread_url,
    participants,
    read as is_read,
    unread_count,
    total_received_messages,
    created_at,
    last_activity_at,
    {{ edges_json_text("last_message", "message_id") }} as last_message_id,
    cast({{ edges_json_text("last_message", "delivered_at") }} as {{ dbt.type_timestamp() }})
        as last_message_at,
    cast({{ edges_json_text("last_message", "linkedin_profile_id") }} as {{ dbt.type_bigint() }})
        as last_message_linkedin_profile_id,
    {{ edges_full_name(
        edges_json_text("last_message", "first_name"),
        edges_json_text("last_message", "last_name"),
    ) }} as last_message_full_name,
    {{ edges_json_text("last_message", "content") }} as last_message_content,
    sponsored as is_sponsored,
    run_uid,
    extracted_at
from newest
