"""Every decision of the run lifecycle, as pure functions over typed values.

The coordinator (:mod:`tap_edges.coordinator`) gathers the facts (the bookmark from the
incoming state, the run object Edges shows, what a request answered) and executes the
:class:`Step` these functions return; it decides nothing itself. One table, one row per
situation (``tests/test_lifecycle.py`` has one case per row):

=====  ===============================  ==================================  ==================
row    what the bookmark says           what Edges shows / answered         step
=====  ===============================  ==================================  ==================
**before anything is sent:** :func:`decide`
---------------------------------------------------------------------------------------------
1      no run uid                       (nothing)                           LAUNCH
2      a launch pending (its run was    (nothing)                           LAUNCH
       not found by its token)
3      run uid                          unknown to Edges                    LAUNCH, warn
4      run uid                          run not terminal                    WAIT
5      run uid, iteration F             terminal, fingerprint not F, or a   READ
                                        continue is pending and
                                        ``updated_at`` moved
6      run uid, iteration F             terminal, F, INVALID                LAUNCH, warn
7      run uid, iteration F             terminal, F, not incremental        LAUNCH, warn
8      run uid, iteration F, sent cap   terminal, F; the cap wanted now     LAUNCH, info
       C                                differs from C (a setting changed)
9      run uid, iteration F             terminal, F                         CONTINUE
**after Edges answered a continue:** :func:`after_continue_refused`
---------------------------------------------------------------------------------------------
10     continue sent                    404, or refused and the run is      LAUNCH, warn
                                        gone
11     continue sent                    refused; the run is in flight       WAIT
                                        (another process continued it)
12     continue sent                    refused; the run is terminal and    LAUNCH (6-8)
                                        rows 6-8 relaunch it
13     continue sent                    refused; otherwise                  FAIL
**after Edges refused a launch:** :func:`after_launch_refused`
---------------------------------------------------------------------------------------------
14     launch carrying the run's        refused; the error names ``name``   LAUNCH again without
       ``name``                         or "additional properties"          it; remember that
                                                                            for the workspace
15     launch at a grown cap            4xx                                 stay at the run's
                                                                            cap, remember it as
                                                                            the limit: rows 4,
                                                                            5, 9
16     launch                           refused otherwise                   FAIL
**after an answer was lost:** :func:`continue_applied`
---------------------------------------------------------------------------------------------
17     continue sent, no answer         run in flight, or a new iteration   applied: WAIT
                                        or ``updated_at`` moved
18     continue sent, no answer         run unchanged                       not applied: send
                                                                            again (a few times)
**while waiting:** :func:`after_poll`
---------------------------------------------------------------------------------------------
19     run in flight                    gone from Edges                     FAIL
20     this sync continued it           still the iteration before          WAIT (not moved)
21     run in flight                    a status the tap does not know      WAIT, warn
**after the batch is read:** :func:`grow`, :func:`clamped` and :func:`verdict`
---------------------------------------------------------------------------------------------
22     a continued run's batch is       ``adaptive_max_results``, cap       next sync: twice
       full                             under the ceiling and under what    the cap (relaunch)
                                        Edges takes (row 23, row 15)
23     sent cap C, no known limit L     the run echoes a cap E < C (Edges   the run's cap is E;
       or L != E                        clamped it)                         remember L = E;
                                                                            warn once; no
                                                                            relaunch
24     batch read                       ended with the label                an empty batch: OK
                                        NO_DATA_AVAILABLE (any status)
25     batch read                       FAILED, BLOCKED, STOPPED, INVALID   FAIL (emitted)
26     batch read                       PARTIAL_SUCCEEDED                   warn (emitted)
**a launch without a name lost its answer:** :func:`find_unnamed`
---------------------------------------------------------------------------------------------
27     a launch pending, sent without   one run of the action, created      adopt it
       ``name`` (row 14)                after it was written ahead, no
                                        partition's, identity and input
                                        (as far as Edges shows them) match
28     (same)                           no such run                         LAUNCH
29     (same)                           several                             LAUNCH, warn (a
                                                                            duplicate run may
                                                                            be paid)
=====  ===============================  ==================================  ==================

The cap a run works with is the cap the tap sent (kept in the bookmark): what Edges echoes in
``parameters.max_results`` is information only (row 23), so a clamp never relaunches (row 8
compares caps the tap sent).

The rule behind rows 5 and 9: the incoming state is the only record of what a target committed
(after a failed load Meltano hands the tap an older state). So a run is continued only when
that state records the run's latest iteration as consumed; otherwise the sync reads that
iteration, emits it and leaves the run alone, since Edges may serve only the newest
iteration's outputs and a continue would overwrite it.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import typing as t

from tap_edges.model import Continuing, Grown, Run
from tap_edges.times import parse_time

if t.TYPE_CHECKING:
    from tap_edges.state import Bookmark

# The status vocabulary: every status Edges documents for a run, and how the tap reads it.
Status = t.Literal[
    "CREATED",
    "QUEUED",
    "SCHEDULED",
    "RUNNING",
    "PENDING",
    "SUCCEEDED",
    "PARTIAL_SUCCEEDED",
    "FAILED",
    "BLOCKED",
    "STOPPED",
    "INVALID",
]
IN_FLIGHT: frozenset[Status] = frozenset({"CREATED", "QUEUED", "SCHEDULED", "RUNNING", "PENDING"})
# In flight but not started: Edges runs a few runs at a time per plan and queues the rest.
QUEUED: frozenset[Status] = IN_FLIGHT - {"RUNNING"}
UNSUCCESSFUL: frozenset[Status] = frozenset({"FAILED", "BLOCKED", "STOPPED", "INVALID"})
SUCCESSFUL: frozenset[Status] = frozenset({"SUCCEEDED", "PARTIAL_SUCCEEDED"})
TERMINAL: frozenset[Status] = SUCCESSFUL | UNSUCCESSFUL


class Action(enum.Enum):
    """What the coordinator does with a partition's run."""

    LAUNCH = "launch"  # start a fresh incremental run (first sync, or the old run is replaced)
    WAIT = "wait"  # the run is in flight: wait for it, then read its iteration
    READ = "read"  # the run's latest iteration is not consumed: read it, do not continue
    CONTINUE = "continue"  # the latest iteration is consumed: continue, wait, read
    FAIL = "fail"  # the partition fails this sync (the others go on)


@dataclasses.dataclass(frozen=True)
class Step:
    """One decision: the action, why, with what cap, and how loudly to say so.

    Attributes:
        action: What to do.
        reason: Why, worded to follow "<partition>: run <uid> ".
        max_results: The cap to launch with (or the run works with).
        level: How loudly the coordinator logs the decision.
        grown: A cap to remember for the next syncs (row 15), if any; the largest cap Edges
            takes for the action is then remembered as ``grown.max_results`` too.
        unnamed: Launch without the run's ``name`` from now on (row 14).
    """

    action: Action
    reason: str
    max_results: int
    level: int = logging.DEBUG
    grown: Grown | None = None
    unnamed: bool = False


def decide(bookmark: Bookmark, run: Run | None, max_results: int) -> Step:
    """Rows 1-9: what this sync does with one partition, before anything is sent.

    Args:
        bookmark: The partition's bookmark from the incoming state (a launch found by its
            token is already adopted into it).
        run: The run of ``bookmark.run_uid``, or None when Edges does not know it.
        max_results: The cap the partition should run with (configured or grown).

    Returns:
        The step to execute.
    """
    if bookmark.run_uid is None or bookmark.pending_launch is not None:
        return Step(Action.LAUNCH, "has no run yet", max_results)
    if run is None:
        return Step(Action.LAUNCH, "is unknown to the Edges API", max_results, logging.WARNING)
    if not is_terminal(run):
        return Step(Action.WAIT, f"is still {run.status}", max_results)
    if not consumed(bookmark, run):
        return Step(Action.READ, "has an iteration the state does not record", max_results)
    relaunch = _relaunch(bookmark, run, max_results)
    return relaunch or Step(Action.CONTINUE, "is consumed", max_results)


def _relaunch(bookmark: Bookmark, run: Run, max_results: int) -> Step | None:
    """Rows 6-8: a finished, consumed run that cannot (or should not) be continued."""
    if run.status == "INVALID":
        why = "is INVALID and cannot be continued"
        return Step(Action.LAUNCH, why, max_results, logging.WARNING)
    if run.sync_mode != "incremental":
        why = "was not launched with sync_mode incremental and cannot be continued"
        return Step(Action.LAUNCH, why, max_results, logging.WARNING)
    cap = sent_cap(bookmark, run)
    if cap is not None and cap != max_results:
        why = f"runs with max_results {cap}, not {max_results}"
        return Step(Action.LAUNCH, why, max_results, logging.INFO)
    return None


def after_continue_refused(
    bookmark: Bookmark, run: Run | None, max_results: int, refusal: str
) -> Step:
    """Rows 10-13: Edges answered a continue with 404 or refused it (a 4xx).

    Args:
        bookmark: The bookmark before the continue was prepared.
        run: The run as Edges shows it now (None when it is gone).
        max_results: The cap the partition should run with.
        refusal: Edges' words, for the failure.

    Returns:
        The step to execute instead.
    """
    if run is None:
        return Step(Action.LAUNCH, "no longer exists", max_results, logging.WARNING)
    if not is_terminal(run):
        return Step(Action.WAIT, f"is {run.status}: another process continued it", max_results)
    step = decide(dataclasses.replace(bookmark, pending=None), run, max_results)
    if step.action is Action.LAUNCH:
        return step
    return Step(Action.FAIL, f"Edges refused to continue it ({refusal})", max_results)


@dataclasses.dataclass(frozen=True)
class Refusal:
    """What Edges answered a request it refused.

    Attributes:
        status: The HTTP status.
        words: Edges' label and message.
        named: Whether the refused launch carried the run's ``name``.
    """

    status: int
    words: str = ""
    named: bool = False

    @property
    def of_name(self) -> bool:
        """Whether Edges refused the launch for its ``name`` (bodies are validated strictly)."""
        words = self.words.lower()
        return self.named and (
            "additional propert" in words or re.search(r"\bname\b", words) is not None
        )


def after_launch_refused(
    bookmark: Bookmark, run: Run | None, step: Step, configured: int, refusal: Refusal
) -> Step:
    """Rows 14-16: Edges refused a launch.

    Edges validates bodies strictly and may not take the run's ``name`` (the tap puts the
    launch's token there): the launch is sent again without it, and so are the workspace's
    next ones. A launch at a cap ``adaptive_max_results`` grew to is refused when Edges does
    not take that cap for this action: the partition stays on its old run at the old run's
    cap, and remembers that cap so the next syncs do not ask again.

    Args:
        bookmark: The bookmark before the launch was prepared.
        run: The old run, if there is one.
        step: The launch step Edges refused.
        configured: The cap the settings give the partition.
        refusal: What Edges answered.

    Returns:
        The step to execute instead.
    """
    status = refusal.status
    if 400 <= status < 500 and refusal.of_name:  # noqa: PLR2004
        why = "Edges refuses the run's name on launches: launching without it"
        return dataclasses.replace(step, reason=why, level=logging.WARNING, unnamed=True)
    grown_refused = 400 <= status < 500 and step.max_results > configured  # noqa: PLR2004
    if not grown_refused:
        return Step(Action.FAIL, "could not be launched", step.max_results)
    cap = sent_cap(bookmark, run) or configured
    grown = Grown(setting=configured, max_results=cap)
    instead = decide(dataclasses.replace(bookmark, grown=grown), run, cap)
    why = f"Edges refused max_results {step.max_results}; staying at {cap} for this action"
    return dataclasses.replace(instead, reason=why, level=logging.WARNING, grown=grown)


def continue_applied(before: Run, now: Run) -> bool:
    """Rows 17-18: whether a continue whose answer was lost was applied.

    Args:
        before: The run before the continue was sent.
        now: The run read after the failure.

    Returns:
        True when the run started a new iteration (in flight, or finished a new one).
    """
    return (
        not is_terminal(now)
        or now.iteration != before.iteration
        or now.updated_at != before.updated_at
    )


class Poll(enum.Enum):
    """What one status poll says of a run in flight."""

    GONE = "gone"  # row 19
    NOT_MOVED = "not moved"  # row 20: still shows the iteration before this sync's continue
    UNKNOWN = "unknown"  # row 21: a status the tap does not know; keep waiting
    MOVED = "moved"  # in flight or terminal: take it


def after_poll(before: Run | None, now: Run | None) -> Poll:
    """Rows 19-21: what a poll of a run in flight shows.

    Args:
        before: The run before this sync continued it (None when it did not).
        now: The run as Edges shows it now (None when it is gone).

    Returns:
        How to take the run object.
    """
    if now is None:
        return Poll.GONE
    if before is not None and not continue_applied(before, now):
        return Poll.NOT_MOVED
    if now.status not in TERMINAL | IN_FLIGHT:
        return Poll.UNKNOWN
    return Poll.MOVED


@dataclasses.dataclass(frozen=True)
class Caps:
    """What the settings say of a partition's cap.

    Attributes:
        configured: ``max_results`` after ``max_results_per_stream``.
        adaptive: The ``adaptive_max_results`` setting.
        ceiling: The ``max_results_ceiling`` setting.
    """

    configured: int
    adaptive: bool = True
    ceiling: int = 5000


def grow(
    cap: int | None, count: int, *, fresh: bool, limit: int | None, caps: Caps
) -> Grown | None:
    """Row 22: the cap a partition grows to after a full batch of a continued run.

    Args:
        cap: The cap the run works with, if known.
        count: New items in the batch.
        fresh: Whether the batch is the run's first (a launch's, which is full by design).
        limit: The largest cap Edges takes for the action, when a clamp or a refusal told.
        caps: The settings.

    Returns:
        The grown cap, or None when the partition keeps its cap.
    """
    ceiling = caps.ceiling if limit is None else min(caps.ceiling, limit)
    if cap is None or count < cap or fresh or not caps.adaptive or cap >= ceiling:
        return None
    return Grown(setting=caps.configured, max_results=min(2 * cap, ceiling))


def clamped(bookmark: Bookmark, run: Run) -> int | None:
    """Row 23: the cap Edges clamped the run to, when the tap has not recorded it yet.

    Args:
        bookmark: The partition's bookmark (the cap sent, the limit known).
        run: The finished run (the cap it echoes).

    Returns:
        The echoed cap, when it is below the cap sent and not yet the known limit.
    """
    sent, echo = sent_cap(bookmark, run), run.max_results
    if sent is None or echo is None or echo >= sent or bookmark.cap_limit == echo:
        return None
    return echo


class Verdict(enum.Enum):
    """Rows 24-26: how a finished run ended, once its batch is emitted."""

    OK = "ok"  # row 24 too
    PARTIAL = "partial"  # row 26: warn
    FAILED = "failed"  # row 25: the partition fails (its outputs were emitted)


# Edges' label for a run that found nothing to extract (changelog 2026-06-22): an empty batch.
NO_DATA = "NO_DATA_AVAILABLE"


def verdict(run: Run) -> Verdict:
    """Rows 24-26: the verdict on a finished run."""
    if run.last_error is not None and run.last_error.label == NO_DATA:
        return Verdict.OK
    if run.status in UNSUCCESSFUL:
        return Verdict.FAILED
    if run.status == "PARTIAL_SUCCEEDED":
        return Verdict.PARTIAL
    return Verdict.OK


def consumed(bookmark: Bookmark, run: Run) -> bool:
    """Whether the bookmark records the run's latest iteration as emitted.

    Args:
        bookmark: The partition's bookmark.
        run: The run now.

    Returns:
        True when the fingerprints match and no continue may have moved the run since.
    """
    if bookmark.iteration is None or bookmark.iteration != run.iteration:
        return False
    pending = bookmark.pending
    return not (isinstance(pending, Continuing) and pending.updated_at != run.updated_at)


def wanted_max_results(bookmark: Bookmark, caps: Caps) -> int:
    """The cap a partition should run with: the configured one, or what it grew to.

    Args:
        bookmark: The partition's bookmark (holds the grown cap).
        caps: The settings.

    Returns:
        The grown cap while the configured cap is the one it grew from, else the configured.
    """
    grown = bookmark.grown
    if not caps.adaptive or grown is None or grown.setting != caps.configured:
        return caps.configured
    return max(caps.configured, min(grown.max_results, caps.ceiling))


def sent_cap(bookmark: Bookmark, run: Run | None) -> int | None:
    """The cap the tap launched the run with (the run's echo for states that did not keep it)."""
    if bookmark.max_results is not None:
        return bookmark.max_results
    return None if run is None else run.max_results


def run_cap(bookmark: Bookmark, run: Run | None) -> int | None:
    """The cap a run works with: the one Edges echoes (a clamp), else the one sent."""
    if run is not None and run.max_results is not None:
        return run.max_results
    return bookmark.max_results


def is_terminal(run: Run) -> bool:
    """Whether the run finished its iteration (a status the tap does not know is not)."""
    return run.status in TERMINAL


# Runs created this long before a launch was written ahead still count (clocks differ).
CLOCK_SKEW_SECONDS = 120.0


@dataclasses.dataclass(frozen=True)
class Unnamed:
    """Rows 27-29: the run a launch without a name started, when it is the only candidate.

    Attributes:
        run: The run to adopt (row 27), or None (rows 28-29: launch).
        candidates: The uids of every matching run (several: row 29).
    """

    run: Run | None
    candidates: tuple[str, ...] = ()


def find_unnamed(
    identity_id: str,
    input_value: str | None,
    sent_at: str | None,
    runs: t.Iterable[Run],
    taken: t.Container[str],
) -> Unnamed:
    """Rows 27-29: which run, if any, a launch without a name started (its answer was lost).

    Args:
        identity_id: The partition's identity.
        input_value: The partition's input, if its action takes one.
        sent_at: When the launch was written ahead (ISO 8601 UTC).
        runs: The newest runs of the action.
        taken: The runs other partitions (or earlier syncs) already own.

    Returns:
        The run to adopt, or the candidates when not exactly one.
    """
    since = parse_time(sent_at)
    cutoff = None if since is None else since.timestamp() - CLOCK_SKEW_SECONDS
    matches = []
    for run in runs:
        created = parse_time(run.created_at)
        if run.uid in taken or (cutoff is not None and created and created.timestamp() < cutoff):
            continue
        if run.identity_ids and identity_id not in run.identity_ids:
            continue
        if input_value is not None and run.input_values and input_value not in run.input_values:
            continue
        matches.append(run)
    if len(matches) == 1:
        return Unnamed(matches[0], (matches[0].uid,))
    return Unnamed(None, tuple(run.uid for run in matches))
