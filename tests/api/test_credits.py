"""The credits the summary shows: any shape Edges may answer, and no answer at all."""

from __future__ import annotations

import logging
import typing as t

import pytest

from tap_edges import errors
from tap_edges.api.credits import Credits, credits_line, read_credits

WORKSPACE = {"name": "w", "credits_left": 90, "credits_used": 10, "credits_max": 100,
             "plan_name": "Gold"}  # fmt: skip
CONSUMPTION = {"consumptions": [{"action_slug": "linkedin-extract-post-likers",
                                 "credits_used": 7.5, "runs_count": 2}]}  # fmt: skip


class Answers:
    """A client whose two credits endpoints answer what the test says (or raise it)."""

    def __init__(self, workspace: t.Any, consumption: t.Any) -> None:
        self.answers = {"workspace": workspace, "consumption": consumption}

    def _answer(self, name: str) -> t.Any:
        found = self.answers[name]
        if isinstance(found, Exception):
            raise found
        return found

    def workspace(self) -> t.Any:
        return self._answer("workspace")

    def consumption(self) -> t.Any:
        return self._answer("consumption")


def read(client: Answers, noted: set[str] | None = None) -> Credits | None:
    return read_credits(
        t.cast("t.Any", client), logging.getLogger("test"), set() if noted is None else noted
    )


def test_an_object_and_its_consumption() -> None:
    found = read(Answers(WORKSPACE, CONSUMPTION))
    assert found == Credits(90, 10, 100, "Gold", {"linkedin-extract-post-likers": 7.5})


def test_a_list_of_workspaces_and_no_consumption(caplog: pytest.LogCaptureFixture) -> None:
    refused = errors.APIError(method="GET", path="/v1/workspaces/consumption", status=404)
    noted: set[str] = set()
    with caplog.at_level(logging.INFO):
        found = read(Answers([WORKSPACE], refused), noted)
        read(Answers([WORKSPACE], refused), noted)
    assert found == Credits(90, 10, 100, "Gold", None)
    assert len([r for r in caplog.records if "consumption" in r.getMessage()]) == 1  # once


@pytest.mark.parametrize(
    "answer", [errors.APIError(method="GET", path="/v1/workspaces", status=404), "text", [], None]
)
def test_no_credits_is_noted_not_raised(answer: t.Any) -> None:
    assert read(Answers(answer, CONSUMPTION)) is None


def test_a_key_not_allowed_to_see_the_credits_is_noted_too() -> None:
    refused = errors.AuthError(method="GET", path="/v1/workspaces", status=403)
    assert read(Answers(refused, CONSUMPTION)) is None


def test_the_line() -> None:
    before = Credits(90, 10, 100, "Gold", {"a": 1.0})
    after = Credits(80, 20, 100, "Gold", {"a": 3.0, "b": 8.0})
    assert credits_line(before, after) == (
        "credits: used this sync 10, left 80 of 100, plan Gold, by action: a 2, b 8"
    )
    assert credits_line(None, after) == "credits: not told by Edges"
    assert credits_line(Credits(left=5), Credits(left=2)) == "credits: used this sync 3, left 2"
