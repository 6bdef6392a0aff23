"""Every row of the lifecycle table (the docstring of tap_edges/lifecycle), one case each."""

from __future__ import annotations

import dataclasses
import logging
import re
import typing as t

import pytest

from tap_edges import lifecycle
from tap_edges.lifecycle import (
    Action,
    Caps,
    Poll,
    Refusal,
    Step,
    Verdict,
    after_continue_refused,
    after_launch_refused,
    after_poll,
    clamped,
    continue_applied,
    decide,
    find_unnamed,
    grow,
    verdict,
    wanted_max_results,
)
from tap_edges.model import Continuing, Grown, Iteration, LastError, Launched, Launching, Run
from tap_edges.state import Bookmark

CAP = 100
DONE = Iteration(started_at="t1", finished_at="t2", output_count=5)
NEXT = Iteration(started_at="t3", finished_at="t4", output_count=9)


def run(**fields: t.Any) -> Run:
    """A finished incremental run at CAP whose latest iteration is DONE, unless told."""
    base: dict[str, t.Any] = {
        "uid": "r1",
        "status": "SUCCEEDED",
        "iteration": DONE,
        "updated_at": "u1",
        "max_results": CAP,
        "sync_mode": "incremental",
    }
    return Run(**{**base, **fields})


CONSUMED = Bookmark(run_uid="r1", iteration=DONE, max_results=CAP)


@dataclasses.dataclass(frozen=True)
class Row:
    row: int
    bookmark: Bookmark
    run: Run | None
    action: Action
    level: int = logging.DEBUG
    wanted: int = CAP


DECIDE = [
    Row(1, Bookmark(), None, Action.LAUNCH),
    Row(2, Bookmark(pending=Launching("0" * 16, CAP)), None, Action.LAUNCH),
    Row(2, Bookmark("r0", pending=Launching("0" * 16, CAP)), run(), Action.LAUNCH),
    Row(3, CONSUMED, None, Action.LAUNCH, logging.WARNING),
    Row(4, CONSUMED, run(status="RUNNING"), Action.WAIT),
    Row(4, CONSUMED, run(status="SOMETHING_NEW"), Action.WAIT),
    Row(5, CONSUMED, run(iteration=NEXT), Action.READ),
    Row(5, Bookmark("r1", pending=Launched()), run(), Action.READ),
    Row(5, dataclasses.replace(CONSUMED, pending=Continuing("u0")), run(), Action.READ),
    Row(6, CONSUMED, run(status="INVALID"), Action.LAUNCH, logging.WARNING),
    Row(7, CONSUMED, run(sync_mode="full"), Action.LAUNCH, logging.WARNING),
    Row(7, CONSUMED, run(sync_mode=None), Action.LAUNCH, logging.WARNING),
    Row(8, CONSUMED, run(), Action.LAUNCH, logging.INFO, wanted=200),
    Row(8, CONSUMED, run(max_results=None), Action.LAUNCH, logging.INFO, wanted=200),
    # a state that did not keep the cap sent: the run's echo stands for it
    Row(8, Bookmark("r1", iteration=DONE), run(), Action.LAUNCH, logging.INFO, wanted=200),
    # Edges clamped the cap sent (200) to 100: the sent cap is still the wanted one
    Row(9, dataclasses.replace(CONSUMED, max_results=200), run(), Action.CONTINUE, wanted=200),
    Row(9, CONSUMED, run(), Action.CONTINUE),
    Row(9, dataclasses.replace(CONSUMED, pending=Continuing("u1")), run(), Action.CONTINUE),
    Row(9, CONSUMED, run(status="FAILED"), Action.CONTINUE),
    Row(9, Bookmark("r1", iteration=DONE), run(max_results=None), Action.CONTINUE),
]


@pytest.mark.parametrize("case", DECIDE, ids=lambda c: f"row{c.row}-{c.action.value}")
def test_decide(case: Row) -> None:
    step = decide(case.bookmark, case.run, case.wanted)
    assert (step.action, step.level, step.max_results) == (case.action, case.level, case.wanted)


CONTINUE_REFUSED = [
    Row(10, CONSUMED, None, Action.LAUNCH, logging.WARNING),
    Row(11, CONSUMED, run(status="RUNNING"), Action.WAIT),
    Row(12, CONSUMED, run(status="INVALID"), Action.LAUNCH, logging.WARNING),
    Row(12, CONSUMED, run(sync_mode="full"), Action.LAUNCH, logging.WARNING),
    Row(12, CONSUMED, run(), Action.LAUNCH, logging.INFO, wanted=200),
    Row(13, CONSUMED, run(), Action.FAIL),
    Row(13, CONSUMED, run(iteration=NEXT), Action.FAIL),
]


@pytest.mark.parametrize("case", CONTINUE_REFUSED, ids=lambda c: f"row{c.row}-{c.action.value}")
def test_after_continue_refused(case: Row) -> None:
    pending = dataclasses.replace(case.bookmark, pending=Continuing("u1"))
    step = after_continue_refused(pending, case.run, case.wanted, "NOT_CONTINUABLE: no")
    assert (step.action, step.level) == (case.action, case.level)
    if step.action is Action.FAIL:
        assert "Edges refused to continue it (NOT_CONTINUABLE: no)" in step.reason


@pytest.mark.parametrize(
    ("row", "status", "asked", "old_run", "action", "grown"),
    [
        (15, 400, 200, run(), Action.CONTINUE, Grown(CAP, CAP)),
        (15, 422, 400, run(max_results=200), Action.CONTINUE, Grown(CAP, 200)),
        (15, 400, 200, run(status="RUNNING"), Action.WAIT, Grown(CAP, CAP)),
        (15, 400, 200, run(iteration=NEXT), Action.READ, Grown(CAP, CAP)),
        (16, 400, CAP, run(), Action.FAIL, None),  # not a grown cap
        (16, 503, 200, run(), Action.FAIL, None),  # not a refusal
    ],
)
def test_after_launch_refused(  # noqa: PLR0913, PLR0917
    row: int, status: int, asked: int, old_run: Run, action: Action, grown: Grown | None
) -> None:
    launch = Step(Action.LAUNCH, "was launched with max_results 100", asked, logging.INFO)
    old = dataclasses.replace(CONSUMED, max_results=old_run.max_results)
    step = after_launch_refused(old, old_run, launch, CAP, Refusal(status, "BAD_PARAMETERS: no"))
    assert (step.action, step.grown) == (action, grown), f"row {row}"
    if grown is not None:
        assert step.level == logging.WARNING
        assert f"Edges refused max_results {asked}" in step.reason
        # with the grown cap remembered, the next syncs want the cap Edges takes
        remembered = dataclasses.replace(CONSUMED, grown=grown)
        assert wanted_max_results(remembered, Caps(CAP)) == grown.max_results


@pytest.mark.parametrize(
    ("words", "named", "status", "unnamed"),
    [
        ("BAD_PARAMETERS: body must NOT have additional properties", True, 400, True),  # row 14
        ("VALIDATION_ERROR: /name must be shorter", True, 422, True),
        ("BAD_PARAMETERS: 'name' is not allowed", True, 400, True),
        ("BAD_PARAMETERS: body must NOT have additional properties", False, 400, False),
        ("BAD_PARAMETERS: max_results must be <= 1000", True, 400, False),
        ("BAD_PARAMETERS: identity_name is unknown", True, 400, False),  # a word, not `name`
        ("STATUS_500: additional properties", True, 500, False),
    ],
)
def test_a_launch_refused_for_its_name_is_sent_again_without_it(
    words: str, named: bool, status: int, unnamed: bool
) -> None:
    launch = Step(Action.LAUNCH, "has no run yet", CAP)
    step = after_launch_refused(Bookmark(), None, launch, CAP, Refusal(status, words, named))
    assert step.unnamed is unnamed
    assert step.action is (Action.LAUNCH if unnamed else Action.FAIL)
    if unnamed:
        assert (step.max_results, step.level) == (CAP, logging.WARNING)


def test_a_grown_cap_refused_after_a_killed_sync_stays_on_the_old_run() -> None:
    """Row 15 when an earlier sync wrote the grown launch ahead and was killed before sending.

    Its launch was not found (row 2 launched again, at the grown cap): the refusal must still
    leave the partition on its consumed old run, not launch a second run at the old cap.
    """
    killed = dataclasses.replace(CONSUMED, pending=Launching("0" * 16, 200))
    launch = Step(Action.LAUNCH, "has no run yet", 200)
    refusal = Refusal(400, "BAD_PARAMETERS: max_results must be <= 100")
    step = after_launch_refused(killed, run(), launch, CAP, refusal)
    assert (step.action, step.max_results) == (Action.CONTINUE, CAP)


@pytest.mark.parametrize(
    ("row", "now", "applied"),
    [
        (17, run(status="RUNNING"), True),
        (17, run(iteration=NEXT), True),
        (17, run(updated_at="u2"), True),
        (18, run(), False),
    ],
)
def test_continue_applied(row: int, now: Run, applied: bool) -> None:
    assert continue_applied(run(), now) is applied, f"row {row}"


@pytest.mark.parametrize(
    ("row", "before", "now", "poll"),
    [
        (19, None, None, Poll.GONE),
        (20, run(), run(), Poll.NOT_MOVED),
        (21, None, run(status="WARMING_UP"), Poll.UNKNOWN),
        (21, run(), run(status="WARMING_UP"), Poll.UNKNOWN),
        (0, None, run(status="RUNNING"), Poll.MOVED),
        (0, run(), run(status="RUNNING"), Poll.MOVED),
        (0, run(), run(iteration=NEXT), Poll.MOVED),
    ],
)
def test_after_poll(row: int, before: Run | None, now: Run | None, poll: Poll) -> None:
    assert after_poll(before, now) is poll, f"row {row}"


@pytest.mark.parametrize(
    ("cap", "count", "fresh", "limit", "caps", "grown"),
    [
        (100, 100, False, None, Caps(100), Grown(100, 200)),  # row 22
        (100, 150, False, None, Caps(100), Grown(100, 200)),
        (3000, 3000, False, None, Caps(100), Grown(100, 5000)),  # up to the ceiling, no more
        (100, 100, False, 150, Caps(100), Grown(100, 150)),  # up to what Edges takes
        (150, 150, False, 150, Caps(100), None),  # Edges takes no more (a clamp, a refusal)
        (100, 99, False, None, Caps(100), None),  # not full
        (100, 100, True, None, Caps(100), None),  # a launch's first batch is full by design
        (100, 100, False, None, Caps(100, adaptive=False), None),  # adaptive_max_results off
        (5000, 5000, False, None, Caps(100), None),  # at the ceiling already
        (None, 100, False, None, Caps(100), None),  # cap unknown
    ],
)
def test_grow(  # noqa: PLR0913, PLR0917
    cap: int | None, count: int, fresh: bool, limit: int | None, caps: Caps, grown: Grown | None
) -> None:
    assert grow(cap, count, fresh=fresh, limit=limit, caps=caps) == grown


@pytest.mark.parametrize(
    ("sent", "echo", "limit", "clamp"),
    [
        (200, 100, None, 100),  # row 23: Edges clamped 200 to 100
        (200, 100, 150, 100),  # a new clamp
        (200, 100, 100, None),  # already recorded: said once
        (100, 100, None, None),  # echoed as sent
        (100, None, None, None),  # no echo
        (100, 200, None, None),  # Edges runs more than sent: not a clamp
        (None, 100, None, None),  # the cap sent is unknown (an old state): the echo stands
    ],
)
def test_clamped(sent: int | None, echo: int | None, limit: int | None, clamp: int | None) -> None:
    bookmark = dataclasses.replace(CONSUMED, max_results=sent, cap_limit=limit)
    assert clamped(bookmark, run(max_results=echo)) == clamp


@pytest.mark.parametrize(
    ("status", "found"),
    [
        ("FAILED", Verdict.FAILED),  # row 25
        ("BLOCKED", Verdict.FAILED),
        ("STOPPED", Verdict.FAILED),
        ("INVALID", Verdict.FAILED),
        ("PARTIAL_SUCCEEDED", Verdict.PARTIAL),  # row 26
        ("SUCCEEDED", Verdict.OK),
    ],
)
def test_verdict(status: str, found: Verdict) -> None:
    assert verdict(run(status=status)) is found
    other = LastError("EXTRACTION_FAILED", "LinkedIn said no")
    assert verdict(run(status=status, last_error=other)) is found


@pytest.mark.parametrize("status", ["FAILED", "SUCCEEDED", "PARTIAL_SUCCEEDED"])
def test_verdict_no_data_available_is_an_empty_batch(status: str) -> None:  # row 24
    nothing = LastError("NO_DATA_AVAILABLE", "nothing to extract")
    assert verdict(run(status=status, last_error=nothing)) is Verdict.OK


@pytest.mark.parametrize(
    ("configured", "grown", "adaptive", "ceiling", "wanted"),
    [
        (100, None, True, 5000, 100),
        (100, Grown(100, 400), True, 5000, 400),
        (100, Grown(100, 400), False, 5000, 100),  # adaptive off: the setting
        (100, Grown(50, 400), True, 5000, 100),  # the setting changed since it grew
        (100, Grown(100, 400), True, 300, 300),  # the ceiling was lowered
    ],
)
def test_wanted_max_results(
    configured: int, grown: Grown | None, adaptive: bool, ceiling: int, wanted: int
) -> None:
    bookmark = dataclasses.replace(CONSUMED, grown=grown)
    caps = Caps(configured, adaptive=adaptive, ceiling=ceiling)
    assert wanted_max_results(bookmark, caps) == wanted


SENT = "2026-11-28T10:00:00Z"


def found(uid: str, created: str = "2026-11-28T10:00:01Z", **fields: t.Any) -> Run:
    return Run(uid, "QUEUED", created_at=created, **fields)


@pytest.mark.parametrize(
    ("case", "input_value", "runs", "taken", "adopted", "candidates"),
    [
        ("row 27: the one run since", None, [found("a")], (), "a", ("a",)),
        (
            "row 27: clocks differ a little",
            None,
            [found("a", "2026-11-28T09:59:00Z")],
            (),
            "a",
            ("a",),
        ),
        ("row 27: the others are taken", None, [found("a"), found("b")], ("b",), "a", ("a",)),
        (
            "row 27: the input tells them apart",
            "https://x/post/1",
            [
                found("a", input_values=("https://x/post/2",)),
                found("b", input_values=("https://x/post/1",)),
            ],
            (),
            "b",
            ("b",),
        ),
        (
            "row 27: the identity tells them apart",
            None,
            [found("a", identity_ids=("other",)), found("b", identity_ids=("me",))],
            (),
            "b",
            ("b",),
        ),
        (
            "row 27: one made since, one just before (an uncommitted sync's)",
            None,
            [found("a"), found("b", "2026-11-28T09:59:30Z")],
            (),
            "a",
            ("a",),
        ),
        ("row 28: nothing since", None, [found("a", "2026-11-28T09:00:00Z")], (), None, ()),
        ("row 28: no run at all", None, [], (), None, ()),
        ("row 28: only taken runs", None, [found("a")], ("a",), None, ()),
        ("row 29: several could be it", None, [found("a"), found("b")], (), None, ("a", "b")),
        (
            "row 29: inputs not shown",
            "https://x/post/1",
            [found("a"), found("b")],
            (),
            None,
            ("a", "b"),
        ),
    ],
)
def test_find_unnamed(  # noqa: PLR0913, PLR0917
    case: str,
    input_value: str | None,
    runs: list[Run],
    taken: tuple[str, ...],
    adopted: str | None,
    candidates: tuple[str, ...],
) -> None:
    got = find_unnamed("me", input_value, SENT, runs, taken)
    assert (got.run.uid if got.run else None, got.candidates) == (adopted, candidates), case


def test_every_row_of_the_table_has_a_case() -> None:
    doc = lifecycle.__doc__ or ""
    rows = {int(m) for m in re.findall(r"^(\d+)\s{2,}", doc, flags=re.MULTILINE)}
    covered = {c.row for c in DECIDE + CONTINUE_REFUSED} | {14, 15, 16, 17, 18, 19, 20, 21}
    # 14: test_a_launch_refused_for_its_name_is_sent_again_without_it
    covered |= {22, 23, 24, 25, 26}  # test_grow, test_clamped and the verdict tests
    covered |= {27, 28, 29}  # test_find_unnamed
    assert rows == set(range(1, 30))
    assert rows == covered


def test_the_status_vocabulary_is_one_set() -> None:
    assert set(t.get_args(lifecycle.Status)) == lifecycle.TERMINAL | lifecycle.IN_FLIGHT
    assert not lifecycle.TERMINAL & lifecycle.IN_FLIGHT


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"uid": "r", "status": "running"}, Run("r", "RUNNING")),
        ({"run_uid": "r"}, Run("r")),
        (
            {
                "uid": "r",
                "status": "SUCCEEDED",
                "started_at": "a",
                "finished_at": "b",
                "output_count": "7",
                "updated_at": "u",
                "parameters": {"max_results": 50, "sync_mode": "incremental"},
                "last_error": {"label": "L", "message": "M"},
                "name": "n",
            },
            Run(
                "r",
                "SUCCEEDED",
                Iteration("a", "b", 7),
                "u",
                50,
                "incremental",
                LastError("L", "M"),
                "n",
            ),
        ),
        ({"status": "RUNNING"}, None),
        ("not a run", None),
        ({"uid": "r", "parameters": {"max_results": True}}, Run("r")),
    ],
)
def test_run_from_json(obj: object, expected: Run | None) -> None:
    assert Run.from_json(obj) == expected
