-- People who engaged with an identity in at least two distinct ways (message, profile view,
-- comment, like, repost, follow) within the last `warm_leads_days` days and are not that
-- identity's connections: one row per (identity, person), ranked per identity (more kinds
-- first, then more engagements, then the most recent), with the reasons.
--
-- "The last 30 days" ends now (UTC) unless the var warm_leads_as_of says otherwise, and
-- counts an engagement by its own time (likes and reposts have none: when extracted).
{%- set as_of = warm_leads_as_of() %}

with recent as (
    select identity_id, linkedin_profile_id, kind, occurred_at
    from {{ ref("engagements") }} as engagement
    where kind <> 'connection'
      and linkedin_profile_id is not null
      and occurred_at > {{ dbt.dateadd("day", -1 * var("warm_leads_days"), as_of) }}
      and occurred_at <= {{ as_of }}
      and not exists (
          select 1
          from {{ ref("engagements") }} as connection
          where connection.kind = 'connection'
            and connection.identity_id = engagement.identity_id
            and connection.linkedin_profile_id = engagement.linkedin_profile_id
      )
),

per_kind as (
    select
        identity_id,
        linkedin_profile_id,
        kind,
        count(*) as engagements,
        max(occurred_at) as last_at
    from recent
    group by identity_id, linkedin_profile_id, kind
),

leads as (
    select
        identity_id,
        linkedin_profile_id,
        count(*) as kind_count,
        sum(engagements) as engagement_count,
        max(last_at) as last_engaged_at,
        {{ dbt.listagg(
            dbt.concat(["kind", "' x'", "cast(engagements as " ~ dbt.type_string() ~ ")"]),
            "', '",
            "order by engagements desc, kind",
        ) }} as reasons
    from per_kind
    group by identity_id, linkedin_profile_id
    having count(*) >= 2
)

select
    {{ dbt.concat(["leads.identity_id", "'|'", "cast(leads.linkedin_profile_id as " ~ dbt.type_string() ~ ")"]) }}
        as lead_id,
    leads.identity_id,
    row_number() over (
        partition by leads.identity_id
        order by
            leads.kind_count desc,
            leads.engagement_count desc,
            leads.last_engaged_at desc,
            leads.linkedin_profile_id
    ) as lead_rank,
    leads.linkedin_profile_id,
    people.full_name,
    people.headline,
    people.linkedin_profile_url,
    leads.kind_count,
    leads.engagement_count,
    leads.last_engaged_at,
    leads.reasons
from leads
inner join {{ ref("people") }} as people
    on people.linkedin_profile_id = leads.linkedin_profile_id
