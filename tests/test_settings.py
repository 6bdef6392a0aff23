"""What each stream needs from the config: pure functions of the config mapping."""

from __future__ import annotations

import dataclasses

import pytest

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS
from tap_edges.actions import ACTIONS_BY_STREAM
from tap_edges.settings import StreamSettings, identity_ids, max_results_for, stream_settings
from tap_edges.tap import TapEdges

THREAD = "https://www.linkedin.com/messaging/thread/2-abc==/"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"identity_ids": ["a", "b"]}, ("a", "b")),
        ({"identity_ids": ["a"], "sandbox": True}, ("a",)),  # configured ones win
        ({"sandbox": True}, tuple(ENGAGEMENT_IDENTITY_IDS)),  # the sandbox's own
        ({"sandbox": True, "identity_ids": []}, tuple(ENGAGEMENT_IDENTITY_IDS)),
        ({}, ()),  # no default outside the sandbox (config validation says so)
    ],
)
def test_identities(config: dict[str, object], expected: tuple[str, ...]) -> None:
    assert identity_ids(config) == expected


def test_a_stream_override_of_max_results_applies_to_that_stream_only() -> None:
    config = {"max_results": 50, "max_results_per_stream": {"connections": 500}}
    assert max_results_for(config, "connections") == 500
    assert max_results_for(config, "messages") == 50
    assert max_results_for({}, "messages") == 100


def test_stream_settings_give_the_inputs_of_the_action_only() -> None:
    config = {"identity_ids": ["a"], "thread_urls": [THREAD], "max_results": 7}
    messages = stream_settings(config, ACTIONS_BY_STREAM["messages"])
    assert messages == StreamSettings(identity_ids=("a",), inputs=(THREAD,), max_results=7)
    connections = stream_settings(config, ACTIONS_BY_STREAM["connections"])
    assert connections == StreamSettings(identity_ids=("a",), inputs=(), max_results=7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        messages.max_results = 8  # type: ignore[misc]


def test_streams_take_their_partitions_and_cap_from_their_settings() -> None:
    config = {"sandbox": True, "thread_urls": [THREAD], "max_results_per_stream": {"messages": 9}}
    tap = TapEdges(config=config, validate_config=False)
    (stream,) = [s for s in tap.discover_streams() if s.name == "messages"]
    assert stream.partitions == [
        {"identity_id": i, "linkedin_thread_url": THREAD} for i in ENGAGEMENT_IDENTITY_IDS
    ]
    assert stream.partition(stream.partitions[0]).max_results == 9
