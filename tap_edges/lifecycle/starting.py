"""The rows of what a sync does with a partition before and as its requests are answered."""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import typing as t

from tap_edges.lifecycle.caps import sent_cap
from tap_edges.lifecycle.vocabulary import Action, Step, is_terminal
from tap_edges.model import Continuing, Grown, Launching

if t.TYPE_CHECKING:
    from tap_edges.model import Run
    from tap_edges.state import Bookmark


def decide(bookmark: Bookmark, run: Run | None, max_results: int, *, full: bool = False) -> Step:
    """What this sync does with one partition, before anything is sent (no-run to consumed).

    Args:
        bookmark: The partition's bookmark from the incoming state (a launch found by its
            token is already adopted into it).
        run: The run of ``bookmark.run_uid``, or None when Edges does not know it.
        max_results: The cap the partition should run with (configured or grown).
        full: Whether the partition is a listing (a full run each sync, never continued).

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
    if full:  # listing-relisted
        return Step(Action.LAUNCH, "is a listing already read", max_results, logging.DEBUG)
    relaunch = _relaunch(bookmark, run, max_results)
    return relaunch or Step(Action.CONTINUE, "is consumed", max_results)


def _relaunch(bookmark: Bookmark, run: Run, max_results: int) -> Step | None:
    """Rows invalid, not-incremental, cap-changed: a consumed run not to continue."""
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


def after_continue_refused(
    bookmark: Bookmark, run: Run | None, max_results: int, refusal: str
) -> Step:
    """Edges answered a continue with 404 or refused it (continue-gone to continue-refused).

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
    """Edges refused a launch (name-refused, grown-cap-refused, launch-refused).

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
    stands = unsent_launch_dropped(dataclasses.replace(bookmark, grown=grown))
    instead = decide(stands, run, cap)
    why = f"Edges refused max_results {step.max_results}; staying at {cap} for this action"
    return dataclasses.replace(instead, reason=why, level=logging.WARNING, grown=grown)


def unsent_launch_dropped(bookmark: Bookmark) -> Bookmark:
    """Row unsent-launch-dropped: the bookmark once the old run stands (grown-cap-refused).

    A launch an earlier sync wrote ahead at the grown cap and never sent (it was killed) was
    the launch just refused: it is no longer pending. Any other pending request stays.
    """
    pending = None if isinstance(bookmark.pending, Launching) else bookmark.pending
    return dataclasses.replace(bookmark, pending=pending)


class Resend(enum.Enum):
    """What to do after a launch or continue whose answer was lost, once Edges was asked."""

    APPLIED = "applied"  # lost-answer-applied: take the run (a launch's: adopt it)
    SEND_AGAIN = "send again"  # lost-answer-not-applied
    GIVE_UP = "give up"  # lost-answer-given-up


def after_lost_answer(*, applied: bool, attempt: int, tries: int) -> Resend:
    """Rows lost-answer-applied, -not-applied, -given-up.

    Neither request is idempotent, so it is sent again only when Edges shows it was not
    applied (a continue: :func:`continue_applied`; a launch: no run carries its token), and at
    most ``tries`` times in all.

    Args:
        applied: Whether Edges shows the request applied.
        attempt: The try whose answer was lost (1 for the first).
        tries: How many tries in all (``confirm_tries``).

    Returns:
        Take the run, send again, or give up (the state keeps what was sent).
    """
    if applied:
        return Resend.APPLIED
    return Resend.SEND_AGAIN if attempt < tries else Resend.GIVE_UP


def continue_applied(before: Run, now: Run) -> bool:
    """Whether a continue whose answer was lost was applied (lost-answer-applied).

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
