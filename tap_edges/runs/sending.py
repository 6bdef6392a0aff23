"""Sending launches and continues exactly once, and saying what came of them.

Neither request is idempotent: a launch sent twice pays for two runs, a continue sent twice
skips an iteration. So the coordinator writes what is about to be sent into the bookmark
first (:func:`write_ahead_launch`, :func:`write_ahead_continue`) and flushes the state; then a
:class:`Sender` sends it. After a failure without a clear answer it never resends blindly: it
looks at Edges first (the run's status, or a run carrying the launch's token in its name) and
resends only what was not applied. It returns an :data:`Outcome`; what to do with a refusal is
decided by :mod:`tap_edges.lifecycle`.
"""

from __future__ import annotations

import dataclasses
import secrets
import typing as t

from tap_edges import errors
from tap_edges.api.retries import TOO_MANY
from tap_edges.batches.layout import restarted
from tap_edges.lifecycle import (
    Resend,
    Unnamed,
    after_lost_answer,
    continue_applied,
    find_unnamed,
)
from tap_edges.model import Continuing, Launched, Launching, Run, input_values
from tap_edges.runs.partitions import token_of

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Collection, Container

    from tap_edges.api.client import EdgesClient
    from tap_edges.runs.partitions import Partition
    from tap_edges.state import Bookmark

MAX_INPUT_LOOKUPS = 10  # GET /runs/{uid}/inputs per lost launch without a name, at most


@dataclasses.dataclass(frozen=True)
class Started:
    """Edges started the run (a launch) or its new iteration (a continue).

    Attributes:
        run: The run; a launch's is a placeholder (QUEUED) until the first poll.
        moved: For a continue whose answer was lost: the run read back, already moved on.
    """

    run: Run
    moved: bool = False


@dataclasses.dataclass(frozen=True)
class Refused:
    """Edges refused the request with a 4xx (not 429); the error says why."""

    error: errors.APIError


@dataclasses.dataclass(frozen=True)
class Gone:
    """Edges answered a continue with 404: the run no longer exists."""


Outcome = t.Union[Started, Refused, Gone]  # noqa: UP007 (a runtime alias on 3.10)


def write_ahead_launch(
    bookmark: Bookmark, max_results: int, *, named: bool = True, sent_at: str | None = None
) -> Bookmark:
    """The bookmark to save before a launch: a fresh token (it goes in the run's name).

    Args:
        bookmark: The bookmark now.
        max_results: The cap to launch with.
        named: Whether the launch carries the name (Edges may refuse it: name-refused).
        sent_at: Now, ISO 8601 UTC (finds a run launched without a name: unnamed-adopt).

    Returns:
        The bookmark with the launch pending.
    """
    token = secrets.token_hex(8)
    pending = Launching(token=token, max_results=max_results, named=named, sent_at=sent_at)
    return dataclasses.replace(bookmark, pending=pending)


def write_ahead_continue(bookmark: Bookmark, run: Run) -> Bookmark:
    """The bookmark to save before a continue: the run's ``updated_at`` before it."""
    return dataclasses.replace(bookmark, pending=Continuing(updated_at=run.updated_at))


def started(bookmark: Bookmark, uid: str, launch: Launching) -> Bookmark:
    """The bookmark once a launch written ahead started (or was adopted as) run ``uid``.

    Its first batch is not emitted yet. What was learned of how Edges serves outputs holds for
    the new run; what the old run served (``seen``) does not.
    """
    return dataclasses.replace(
        bookmark,
        run_uid=uid,
        iteration=None,
        pending=Launched(),
        max_results=launch.max_results,
        outputs=restarted(bookmark.outputs),
    )


@dataclasses.dataclass(frozen=True)
class Sender:
    """Sends launches and continues once, confirming after an ambiguous failure (frozen)."""

    client: EdgesClient
    logger: logging.Logger
    sleep: Callable[[float], None]
    callback_url: str | None = None
    confirm_tries: int = 3

    def find_launched(self, action: str, tokens: Collection[str]) -> dict[str, Run]:
        """The runs of launches whose answers were lost, found by the tokens in their names.

        Args:
            action: The action the launches were for.
            tokens: The launches' tokens.

        Returns:
            The runs found, by token.
        """

        def match(name: str) -> str | None:
            token = token_of(name)
            return token if token in tokens else None

        found = self.client.find_named_runs(action, match, len(tokens))
        runs = {token: Run.from_json(obj) for token, obj in found.items()}
        return {token: run for token, run in runs.items() if run is not None}

    def find_unnamed(
        self, partition: Partition, pending: Launching, taken: Container[str]
    ) -> Unnamed:
        """Rows unnamed-*: the run a launch without a name started, found by what Edges shows.

        Args:
            partition: The partition.
            pending: The launch written ahead (when it was written).
            taken: The runs other partitions own.

        Returns:
            The run to adopt, or the candidates when not exactly one (said in a WARNING: the
            caller launches again).
        """
        runs = [run for run in map(Run.from_json, self.client.recent_runs(partition.action)) if run]
        found = find_unnamed(
            partition.identity_id, partition.input_value, pending.sent_at, runs, taken
        )
        if partition.input_value is not None and found.candidates:
            # Run objects do not show inputs: the runs' inputs tell the partition's apart (even
            # one run: it may be another partition's).
            looked, unlooked = (
                found.candidates[:MAX_INPUT_LOOKUPS],
                found.candidates[MAX_INPUT_LOOKUPS:],
            )
            shown = [
                dataclasses.replace(run, input_values=input_values(self.client.run_inputs(run.uid)))
                for run in runs
                if run.uid in looked
            ]
            found = find_unnamed(
                partition.identity_id, partition.input_value, pending.sent_at, shown, taken
            )
            if found.run is None and unlooked:  # its run may be among those not looked at
                found = Unnamed(None, (*found.candidates, *unlooked))
        if found.run is None and found.candidates:
            self.logger.warning(
                "%s: a launch without a name lost its answer and %d runs could be it (%s): "
                "launching again; one of them may be a duplicate run.",
                partition.label,
                len(found.candidates),
                ", ".join(found.candidates),
            )
        return found

    def launch(
        self, partition: Partition, pending: Launching, taken: Container[str] = ()
    ) -> Started | Refused:
        """Launch the partition's run; adopt it if Edges made it and the answer was lost.

        Args:
            partition: The partition.
            pending: The launch written ahead in the bookmark (its token and cap).
            taken: The runs other partitions own (not adopted by a launch without a name).

        Returns:
            :class:`Started` or :class:`Refused`.

        Raises:
            AuthError: The key was rejected.
            EdgesError: Edges could not be reached, or it failed (5xx) past the retries.
        """
        body = partition.launch_body(
            self.callback_url,
            token=pending.token,
            max_results=pending.max_results,
            named=pending.named,
        )
        for attempt in range(1, self.confirm_tries + 1):
            try:
                answer = self.client.launch(partition.action, body)
            except errors.AmbiguousError as exc:
                run = self._launched(partition, pending, taken)
                if run is not None:
                    self.logger.info(
                        "%s: adopting run %s (this sync launched it: %s and its answer was lost).",
                        partition.label,
                        run.uid,
                        exc,
                    )
                    return Started(Run(run.uid, "QUEUED"))
                self._not_applied(partition, "launch", exc, attempt, applied=False)
                continue
            except errors.AuthError:
                raise
            except errors.APIError as exc:
                if _refusal(exc):
                    return Refused(exc)
                raise
            return Started(Run(str(answer["run_uid"]), "QUEUED"))
        raise AssertionError  # pragma: no cover (the last attempt returns or raises)

    def _launched(
        self, partition: Partition, pending: Launching, taken: Container[str]
    ) -> Run | None:
        """The run a launch whose answer was lost started, if Edges made it."""
        if pending.named:
            return self.find_launched(partition.action, {pending.token}).get(pending.token)
        return self.find_unnamed(partition, pending, taken).run

    def continue_run(self, partition: Partition, before: Run) -> Outcome:
        """Continue the run; after a failure without a clear answer, look whether it applied.

        Args:
            partition: The partition.
            before: The run before the continue (its iteration and ``updated_at``).

        Returns:
            :class:`Started`, :class:`Refused` or :class:`Gone`.

        Raises:
            AuthError: The key was rejected.
            EdgesError: Edges could not be reached, or it failed (5xx) past the retries.
        """
        for attempt in range(1, self.confirm_tries + 1):
            try:
                answer = self.client.continue_run(before.uid)
            except errors.AmbiguousError as exc:
                try:
                    now = Run.from_json(self.client.get_run(before.uid))
                except errors.NotFoundError:
                    return Gone()  # purged meanwhile: continue-gone
                applied = now is not None and continue_applied(before, now)
                if now is not None and applied:
                    self.logger.info(
                        "%s: run %s: the continue was applied (%s); its answer was lost (%s).",
                        partition.label,
                        before.uid,
                        now.status,
                        exc,
                    )
                    return Started(now, moved=True)
                self._not_applied(partition, "continue", exc, attempt, applied=applied)
                continue
            except errors.NotFoundError:
                return Gone()
            except errors.AuthError:
                raise
            except errors.APIError as exc:
                if _refusal(exc):
                    return Refused(exc)
                raise
            run = Run.from_json(answer) or Run(before.uid)
            return Started(dataclasses.replace(run, uid=before.uid, status="SCHEDULED"))
        raise AssertionError  # pragma: no cover (the last attempt returns or raises)

    def _not_applied(
        self,
        partition: Partition,
        what: str,
        exc: errors.AmbiguousError,
        attempt: int,
        *,
        applied: bool,
    ) -> None:
        """Wait before sending again what Edges did not apply; give up after the last try."""
        if after_lost_answer(applied=applied, attempt=attempt, tries=self.confirm_tries) is (
            Resend.GIVE_UP
        ):
            raise exc
        delay = min(30.0, 2.0**attempt)
        self.logger.info(
            "%s: the %s was not applied (%s); sending it again in %.0fs.",
            partition.label,
            what,
            exc,
            delay,
        )
        self.sleep(delay)


def _refusal(exc: errors.APIError) -> bool:
    """Whether Edges refused the request itself (a 4xx other than 429), not failed at it."""
    return 400 <= exc.status < 500 and exc.status != TOO_MANY  # noqa: PLR2004
