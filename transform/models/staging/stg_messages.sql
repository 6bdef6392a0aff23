-- One row per (identity_id, message_id): the messages of the threads read.
with newest as (
    {{ edges_newest("messages", ["identity_id", "message_id"], {
        "identity_id": "string",
        "message_id": "string",
        "linkedin_thread_url": "string",
        "linkedin_thread_id": "string",
        "position": "integer",
        "linkedin_profile_id": "bigint",
        "first_name": "string",
        "last_name": "string",
        "sales_navigator_profile_id": "string",
        "job_title": "string",
        "content": "string",
        "created_at": "timestamp",
        "delivered_at": "timestamp",
        "run_uid": "string",
        "extracted_at": "timestamp",
    }) }}
)

select
    identity_id,
    message_id,
    linkedin_thread_url,
    linkedin_thread_id,
    position,
    linkedin_profile_id,
    first_name,
    last_name,
    {{ edges_full_name("first_name", "last_name") }} as full_name,
    sales_navigator_profile_id,
    job_title,
    content,
    created_at,
    delivered_at,
    coalesce(created_at, delivered_at) as sent_at,
    run_uid,
    extracted_at
from newest
