-- One row per post the post streams follow or followed (linkedin_post_url, their input): how
-- many people engaged, likes by reaction type, comments, reposts, first and last engagement,
-- and the post itself as the posts listing gives it (published date, type, text, author,
-- LinkedIn's own counts). A post extracted by several identities counts each like, comment
-- and repost once.
--
-- The posts: every URL with an engagement, and every listed post followed now
-- (followed_post_url), with no engagement yet or not: its counts are then 0. A URL's post is
-- the listed post it is the followed_post_url or linkedin_post_url of, or whose activity id
-- it shows (the post streams report the activity id, not the listing's linkedin_post_id; a
-- post that left post_window_days has no followed_post_url any more); none for a post_urls
-- entry no author's listing holds.
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

with followed as (
    select linkedin_post_url
    from {{ ref("engagements") }}
    where linkedin_post_url is not null
    union
    select followed_post_url
    from {{ ref("stg_posts") }}
    where followed_post_url is not null
),

counted as (
    select
        followed.linkedin_post_url,
        count(distinct engagement.linkedin_profile_id) as unique_people,
        count(distinct case when engagement.kind = 'like' then engagement.source_id end) as likes,
        {%- for reaction, names in reactions.items() %}
        count(distinct case
            when engagement.kind = 'like' and engagement.reaction_type in ('{{ names | join("', '") }}')
                then engagement.source_id
        end) as likes_{{ reaction }},
        {%- endfor %}
        count(distinct case
            when engagement.kind = 'like'
                and (engagement.reaction_type is null or engagement.reaction_type not in ('{{ known | join("', '") }}'))
                then engagement.source_id
        end) as likes_other,
        count(distinct case when engagement.kind = 'comment' then engagement.source_id end) as comments,
        count(distinct case when engagement.kind = 'repost' then engagement.source_id end) as reposts,
        min(engagement.occurred_at) as first_engagement_at,
        max(engagement.occurred_at) as last_engagement_at
    from followed
    left join {{ ref("engagements") }} as engagement
        on engagement.linkedin_post_url = followed.linkedin_post_url
    group by followed.linkedin_post_url
),

-- Each URL's post: the listing that follows it by this URL first, then the newest listing.
matched as (
    select
        followed.linkedin_post_url,
        post.linkedin_post_id,
        post.linkedin_activity_id,
        post.published_date,
        post.linkedin_post_type,
        post.content_text,
        post.author_linkedin_profile_id,
        post.author_full_name,
        post.author_linkedin_profile_url,
        post.linkedin_profile_url as activity_profile_url,
        post.reaction_count,
        post.comment_count,
        post.repost_count,
        post.extracted_at,
        row_number() over (
            partition by followed.linkedin_post_url
            order by
                case when post.followed_post_url = followed.linkedin_post_url then 0 else 1 end,
                post.extracted_at desc,
                post.identity_id,
                post.linkedin_post_id
        ) as best_first
    from followed
    inner join {{ ref("stg_posts") }} as post
        on post.followed_post_url = followed.linkedin_post_url
        or post.linkedin_post_url = followed.linkedin_post_url
        or post.linkedin_activity_id = {{ edges_activity_id("followed.linkedin_post_url") }}
)

select
    counted.linkedin_post_url,
    counted.unique_people,
    counted.likes,
    {%- for reaction in reactions %}
    counted.likes_{{ reaction }},
    {%- endfor %}
    counted.likes_other,
    counted.comments,
    counted.reposts,
    counted.first_engagement_at,
    counted.last_engagement_at,
    matched.linkedin_post_id,
    matched.linkedin_activity_id,
    matched.published_date,
    matched.linkedin_post_type,
    matched.content_text,
    matched.author_linkedin_profile_id,
    matched.author_full_name,
    matched.author_linkedin_profile_url,
    matched.activity_profile_url,
    matched.reaction_count as listed_reaction_count,
    matched.comment_count as listed_comment_count,
    matched.repost_count as listed_repost_count,
    matched.extracted_at as listed_at
from counted
left join matched
    on matched.linkedin_post_url = counted.linkedin_post_url
    and matched.best_first = 1
