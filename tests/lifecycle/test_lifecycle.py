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
    Resend,
    Step,
    Verdict,
    after_continue_refused,
    after_launch_refused,
    after_lost_answer,
    after_poll,
    clamped,
    continue_applied,
    decide,
    find_unnamed,
    grow,
    timed_out,
    unsent_launch_dropped,
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
    row: str
    bookmark: Bookmark
    run: Run | None
    action: Action
    level: int = logging.DEBUG
    wanted: int = CAP
    full: bool = False


DECIDE = [
    Row("no-run", Bookmark(), None, Action.LAUNCH),
    Row("launch-not-found", Bookmark(pending=Launching("0" * 16, CAP)), None, Action.LAUNCH),
    Row("launch-not-found", Bookmark("r0", pending=Launching("0" * 16, CAP)), run(), Action.LAUNCH),
    Row("run-unknown", CONSUMED, None, Action.LAUNCH, logging.WARNING),
    Row("in-flight", CONSUMED, run(status="RUNNING"), Action.WAIT),
    Row("in-flight", CONSUMED, run(status="SOMETHING_NEW"), Action.WAIT),
    Row("iteration-not-recorded", CONSUMED, run(iteration=NEXT), Action.READ),
    Row("iteration-not-recorded", Bookmark("r1", pending=Launched()), run(), Action.READ),
    Row(
        "iteration-not-recorded",
        dataclasses.replace(CONSUMED, pending=Continuing("u0")),
        run(),
        Action.READ,
    ),
    Row("invalid", CONSUMED, run(status="INVALID"), Action.LAUNCH, logging.WARNING),
    Row("not-incremental", CONSUMED, run(sync_mode="full"), Action.LAUNCH, logging.WARNING),
    Row("not-incremental", CONSUMED, run(sync_mode=None), Action.LAUNCH, logging.WARNING),
    Row("cap-changed", CONSUMED, run(), Action.LAUNCH, logging.INFO, wanted=200),
    Row("cap-changed", CONSUMED, run(max_results=None), Action.LAUNCH, logging.INFO, wanted=200),
    # a state that did not keep the cap sent: the run's echo stands for it
    Row(
        "cap-changed",
        Bookmark("r1", iteration=DONE),
        run(),
        Action.LAUNCH,
        logging.INFO,
        wanted=200,
    ),
    # Edges clamped the cap sent (200) to 100: the sent cap is still the wanted one
    Row(
        "consumed",
        dataclasses.replace(CONSUMED, max_results=200),
        run(),
        Action.CONTINUE,
        wanted=200,
    ),
    Row("consumed", CONSUMED, run(), Action.CONTINUE),
    Row(
        "consumed", dataclasses.replace(CONSUMED, pending=Continuing("u1")), run(), Action.CONTINUE
    ),
    Row("consumed", CONSUMED, run(status="FAILED"), Action.CONTINUE),
    Row("consumed", Bookmark("r1", iteration=DONE), run(max_results=None), Action.CONTINUE),
    # A listing's run (a full run: sync_mode not incremental, maybe another cap): listed anew.
    Row("listing-relisted", CONSUMED, run(sync_mode=None), Action.LAUNCH, full=True),
    Row("listing-relisted", CONSUMED, run(), Action.LAUNCH, wanted=400, full=True),
    # ... but a listing's run not read yet is read first, and one in flight waited for.
    Row("iteration-not-recorded", CONSUMED, run(iteration=NEXT), Action.READ, full=True),
    Row("in-flight", CONSUMED, run(status="RUNNING"), Action.WAIT, full=True),
]


@pytest.mark.parametrize("case", DECIDE, ids=lambda c: f"{c.row}-{c.action.value}")
def test_decide(case: Row) -> None:
    step = decide(case.bookmark, case.run, case.wanted, full=case.full)
    assert (step.action, step.level, step.max_results) == (case.action, case.level, case.wanted)


CONTINUE_REFUSED = [
    Row("continue-gone", CONSUMED, None, Action.LAUNCH, logging.WARNING),
    Row("continued-elsewhere", CONSUMED, run(status="RUNNING"), Action.WAIT),
    Row(
        "continue-refused-relaunch", CONSUMED, run(status="INVALID"), Action.LAUNCH, logging.WARNING
    ),
    Row(
        "continue-refused-relaunch", CONSUMED, run(sync_mode="full"), Action.LAUNCH, logging.WARNING
    ),
    Row("continue-refused-relaunch", CONSUMED, run(), Action.LAUNCH, logging.INFO, wanted=200),
    Row("continue-refused", CONSUMED, run(), Action.FAIL),
    Row("continue-refused", CONSUMED, run(iteration=NEXT), Action.FAIL),
]


@pytest.mark.parametrize("case", CONTINUE_REFUSED, ids=lambda c: f"{c.row}-{c.action.value}")
def test_after_continue_refused(case: Row) -> None:
    pending = dataclasses.replace(case.bookmark, pending=Continuing("u1"))
    step = after_continue_refused(pending, case.run, case.wanted, "NOT_CONTINUABLE: no")
    assert (step.action, step.level) == (case.action, case.level)
    if step.action is Action.FAIL:
        assert "Edges refused to continue it (NOT_CONTINUABLE: no)" in step.reason


LAUNCH_REFUSED = [
    ("grown-cap-refused", 400, 200, run(), Action.CONTINUE, Grown(CAP, CAP)),
    ("grown-cap-refused", 422, 400, run(max_results=200), Action.CONTINUE, Grown(CAP, 200)),
    ("grown-cap-refused", 400, 200, run(status="RUNNING"), Action.WAIT, Grown(CAP, CAP)),
    ("grown-cap-refused", 400, 200, run(iteration=NEXT), Action.READ, Grown(CAP, CAP)),
    ("launch-refused", 400, CAP, run(), Action.FAIL, None),  # not a grown cap
    ("launch-refused", 503, 200, run(), Action.FAIL, None),  # not a refusal
]


@pytest.mark.parametrize(("row", "status", "asked", "old_run", "action", "grown"), LAUNCH_REFUSED)
def test_after_launch_refused(  # noqa: PLR0913, PLR0917
    row: str, status: int, asked: int, old_run: Run, action: Action, grown: Grown | None
) -> None:
    launch = Step(Action.LAUNCH, "was launched with max_results 100", asked, logging.INFO)
    old = dataclasses.replace(CONSUMED, max_results=old_run.max_results)
    step = after_launch_refused(old, old_run, launch, CAP, Refusal(status, "BAD_PARAMETERS: no"))
    assert (step.action, step.grown) == (action, grown), row
    if grown is not None:
        assert step.level == logging.WARNING
        assert f"Edges refused max_results {asked}" in step.reason
        # with the grown cap remembered, the next syncs want the cap Edges takes
        remembered = dataclasses.replace(CONSUMED, grown=grown)
        assert wanted_max_results(remembered, Caps(CAP)) == grown.max_results


NAME_REFUSED = [
    ("name-refused", "BAD_PARAMETERS: body must NOT have additional properties", True, 400, True),
    ("name-refused", "VALIDATION_ERROR: /name must be shorter", True, 422, True),
    ("name-refused", "BAD_PARAMETERS: 'name' is not allowed", True, 400, True),
    (
        "launch-refused",
        "BAD_PARAMETERS: body must NOT have additional properties",
        False,
        400,
        False,
    ),
    ("launch-refused", "BAD_PARAMETERS: max_results must be <= 1000", True, 400, False),
    ("launch-refused", "BAD_PARAMETERS: identity_name is unknown", True, 400, False),  # a word
    ("launch-refused", "STATUS_500: additional properties", True, 500, False),
]


@pytest.mark.parametrize(("row", "words", "named", "status", "unnamed"), NAME_REFUSED)
def test_a_launch_refused_for_its_name_is_sent_again_without_it(
    row: str, words: str, named: bool, status: int, unnamed: bool
) -> None:
    launch = Step(Action.LAUNCH, "has no run yet", CAP)
    step = after_launch_refused(Bookmark(), None, launch, CAP, Refusal(status, words, named))
    assert step.unnamed is unnamed
    assert step.action is (Action.LAUNCH if unnamed else Action.FAIL)
    if unnamed:
        assert (step.max_results, step.level) == (CAP, logging.WARNING)


def test_a_grown_cap_refused_after_a_killed_sync_stays_on_the_old_run() -> None:
    """Rows grown-cap-refused and unsent-launch-dropped: an earlier sync wrote the grown
    launch ahead and was killed before sending it.

    Its launch was not found (launch-not-found launched again, at the grown cap): the refusal
    must still leave the partition on its consumed old run, not launch a second at the old cap.
    """
    killed = dataclasses.replace(CONSUMED, pending=Launching("0" * 16, 200))
    launch = Step(Action.LAUNCH, "has no run yet", 200)
    refusal = Refusal(400, "BAD_PARAMETERS: max_results must be <= 100")
    step = after_launch_refused(killed, run(), launch, CAP, refusal)
    assert (step.action, step.max_results) == (Action.CONTINUE, CAP)


CONTINUE_APPLIED = [
    ("lost-answer-applied", run(status="RUNNING"), True),
    ("lost-answer-applied", run(iteration=NEXT), True),
    ("lost-answer-applied", run(updated_at="u2"), True),
    ("lost-answer-not-applied", run(), False),
]


@pytest.mark.parametrize(("row", "now", "applied"), CONTINUE_APPLIED)
def test_continue_applied(row: str, now: Run, applied: bool) -> None:
    assert continue_applied(run(), now) is applied, row


LOST_ANSWER = [
    ("lost-answer-applied", True, 1, 3, Resend.APPLIED),
    ("lost-answer-applied", True, 3, 3, Resend.APPLIED),
    ("lost-answer-not-applied", False, 1, 3, Resend.SEND_AGAIN),
    ("lost-answer-not-applied", False, 2, 3, Resend.SEND_AGAIN),
    ("lost-answer-given-up", False, 3, 3, Resend.GIVE_UP),
    ("lost-answer-given-up", False, 1, 1, Resend.GIVE_UP),
]


@pytest.mark.parametrize(("row", "applied", "attempt", "tries", "resend"), LOST_ANSWER)
def test_after_lost_answer(
    row: str, applied: bool, attempt: int, tries: int, resend: Resend
) -> None:
    assert after_lost_answer(applied=applied, attempt=attempt, tries=tries) is resend, row


UNSENT_LAUNCH = [
    ("unsent-launch-dropped", Launching("0" * 16, 200), None),
    ("unsent-launch-dropped", Continuing("u1"), Continuing("u1")),  # only a launch is dropped
    ("unsent-launch-dropped", Launched(), Launched()),
]


@pytest.mark.parametrize(("row", "pending", "after"), UNSENT_LAUNCH)
def test_unsent_launch_dropped(row: str, pending: t.Any, after: t.Any) -> None:
    bookmark = dataclasses.replace(CONSUMED, pending=pending)
    assert unsent_launch_dropped(bookmark) == dataclasses.replace(CONSUMED, pending=after), row


AFTER_POLL = [
    ("run-gone", None, None, Poll.GONE),
    ("not-moved", run(), run(), Poll.NOT_MOVED),
    ("unknown-status", None, run(status="WARMING_UP"), Poll.UNKNOWN),
    ("unknown-status", run(), run(status="WARMING_UP"), Poll.UNKNOWN),
    ("in-flight", None, run(status="RUNNING"), Poll.MOVED),
    ("in-flight", run(), run(status="RUNNING"), Poll.MOVED),
    ("in-flight", run(), run(iteration=NEXT), Poll.MOVED),
]


@pytest.mark.parametrize(("row", "before", "now", "poll"), AFTER_POLL)
def test_after_poll(row: str, before: Run | None, now: Run | None, poll: Poll) -> None:
    assert after_poll(before, now) is poll, row


TIMED_OUT = [
    ("run-timeout", 3600.0, 3600.0, True),
    ("run-timeout", 4000.0, 3600.0, True),
    ("in-flight", 3599.0, 3600.0, False),
]


@pytest.mark.parametrize(("row", "waited", "timeout", "out"), TIMED_OUT)
def test_timed_out(row: str, waited: float, timeout: float, out: bool) -> None:
    assert timed_out(waited, timeout) is out, row


@pytest.mark.parametrize(
    ("cap", "count", "fresh", "limit", "caps", "grown"),
    [
        (100, 100, False, None, Caps(100), Grown(100, 200)),  # full-batch-grows
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
        (200, 100, None, 100),  # cap-clamped: Edges clamped 200 to 100
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
        ("FAILED", Verdict.FAILED),  # run-failed
        ("BLOCKED", Verdict.FAILED),
        ("STOPPED", Verdict.FAILED),
        ("INVALID", Verdict.FAILED),
        ("PARTIAL_SUCCEEDED", Verdict.PARTIAL),  # run-partial
        ("SUCCEEDED", Verdict.OK),
    ],
)
def test_verdict(status: str, found: Verdict) -> None:
    assert verdict(run(status=status)) is found
    other = LastError("EXTRACTION_FAILED", "LinkedIn said no")
    assert verdict(run(status=status, last_error=other)) is found


@pytest.mark.parametrize("status", ["FAILED", "SUCCEEDED", "PARTIAL_SUCCEEDED"])
def test_verdict_no_data_available_is_an_empty_batch(status: str) -> None:  # no-data
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


FIND_UNNAMED = [
    ("unnamed-adopt: the one run since", None, [found("a")], (), "a", ("a",)),
    (
        "unnamed-adopt: clocks differ a little",
        None,
        [found("a", "2026-11-28T09:59:00Z")],
        (),
        "a",
        ("a",),
    ),
    ("unnamed-adopt: the others are taken", None, [found("a"), found("b")], ("b",), "a", ("a",)),
    (
        "unnamed-adopt: the input tells them apart",
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
        "unnamed-adopt: the identity tells them apart",
        None,
        [found("a", identity_ids=("other",)), found("b", identity_ids=("me",))],
        (),
        "b",
        ("b",),
    ),
    (
        "unnamed-adopt: one made since, one just before (an uncommitted sync's)",
        None,
        [found("a"), found("b", "2026-11-28T09:59:30Z")],
        (),
        "a",
        ("a",),
    ),
    ("unnamed-none: nothing since", None, [found("a", "2026-11-28T09:00:00Z")], (), None, ()),
    ("unnamed-none: no run at all", None, [], (), None, ()),
    ("unnamed-none: only taken runs", None, [found("a")], ("a",), None, ()),
    ("unnamed-several: several could be it", None, [found("a"), found("b")], (), None, ("a", "b")),
    (
        "unnamed-several: inputs not shown",
        "https://x/post/1",
        [found("a"), found("b")],
        (),
        None,
        ("a", "b"),
    ),
]


@pytest.mark.parametrize(
    ("case", "input_value", "runs", "taken", "adopted", "candidates"), FIND_UNNAMED
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


def table_rows() -> list[str]:
    """The names of the rows of the lifecycle table, read from its docstring."""
    doc = lifecycle.__doc__ or ""
    table = doc[doc.index("====") : doc.rindex("====")]
    return re.findall(r"^([a-z][a-z-]*[a-z])  ", table, flags=re.MULTILINE)[1:]  # not "row"


# Every case names the row it shows; the verdict and cap tables cover the rows they name.
COVERED = (
    {c.row for c in DECIDE + CONTINUE_REFUSED}
    | {case[0] for case in LAUNCH_REFUSED + NAME_REFUSED + CONTINUE_APPLIED + LOST_ANSWER}
    | {case[0] for case in UNSENT_LAUNCH + AFTER_POLL + TIMED_OUT}
    | {str(case[0]).split(":")[0] for case in FIND_UNNAMED}
    | {"full-batch-grows", "cap-clamped", "no-data", "run-failed", "run-partial"}
)


@pytest.mark.parametrize("row", table_rows())
def test_every_row_of_the_table_has_a_case(row: str) -> None:
    assert row in COVERED


def test_every_case_names_a_row_of_the_table() -> None:
    rows = table_rows()
    assert len(rows) == len(set(rows)) == 33
    assert set(rows) >= COVERED


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
