"""The sandbox world's shared audience: the same people engage in several streams."""

from __future__ import annotations

from edges_sandbox.catalog import ACTIONS
from edges_sandbox.world import World

NOW = 1_800_000_000.0
POST = "https://www.linkedin.com/posts/edges-run_launch-activity-7200000000000000001-abcd"


def profile_ids(world: World, slug: str, identity: str | None, value: str | None) -> set[int]:
    feed = world.feed(ACTIONS[slug], identity, value, NOW)
    return {r["linkedin_profile_id"] for r in feed.records if r["linkedin_profile_id"]}


def test_people_engage_in_several_streams_and_some_are_connections() -> None:
    world = World(seed=7, created_at=NOW)
    viewers = profile_ids(world, "linkedin-extract-profile-viewers", "id-a", None)
    likers = profile_ids(world, "linkedin-extract-post-likers", None, POST)
    commenters = profile_ids(world, "linkedin-extract-post-commenters", None, POST)
    connections = profile_ids(world, "linkedin-extract-connections", "id-a", None)
    other_connections = profile_ids(world, "linkedin-extract-connections", "id-b", None)

    engaged_twice = (viewers & likers) | (likers & commenters) | (viewers & commenters)
    assert len(engaged_twice) >= 5
    assert engaged_twice - connections, "some engaged people are not connections"
    assert engaged_twice & connections, "some engaged people are connections"
    # Apart from the shared audience, every feed has people of its own.
    assert len(connections - other_connections) >= 50
