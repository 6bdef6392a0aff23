-- One row per post (linkedin_post_url, the input of the post streams): how many people
-- engaged, likes by reaction type, comments, reposts, first and last engagement. A post
-- extracted by several identities counts each like, comment and repost once.
{%- set reactions = {
    "like": ["like"],
    "celebrate": ["celebrate", "praise"],
    "support": ["support", "appreciation"],
    "love": ["love", "empathy"],
    "insightful": ["insightful", "interest"],
    "funny": ["funny", "entertainment"],
} %}
{%- set known = [] %}
{%- for names in reactions.values() %}{% do known.extend(names) %}{% endfor %}

select
    linkedin_post_url,
    count(distinct linkedin_profile_id) as unique_people,
    count(distinct case when kind = 'like' then source_id end) as likes,
    {%- for reaction, names in reactions.items() %}
    count(distinct case
        when kind = 'like' and reaction_type in ('{{ names | join("', '") }}') then source_id
    end) as likes_{{ reaction }},
    {%- endfor %}
    count(distinct case
        when kind = 'like' and (reaction_type is null or reaction_type not in ('{{ known | join("', '") }}'))
            then source_id
    end) as likes_other,
    count(distinct case when kind = 'comment' then source_id end) as comments,
    count(distinct case when kind = 'repost' then source_id end) as reposts,
    min(occurred_at) as first_engagement_at,
    max(occurred_at) as last_engagement_at
from {{ ref("engagements") }}
where linkedin_post_url is not null
group by linkedin_post_url
