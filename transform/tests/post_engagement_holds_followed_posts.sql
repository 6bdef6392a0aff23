-- post_engagement holds every post the post streams follow now (a listing's
-- followed_post_url), with the post's listing matched. Returns the followed URLs missing, or
-- held without a linkedin_post_id.
select distinct post.followed_post_url
from {{ ref("stg_posts") }} as post
left join {{ ref("post_engagement") }} as engagement
    on engagement.linkedin_post_url = post.followed_post_url
where post.followed_post_url is not null
  and engagement.linkedin_post_id is null
