"""Every decision of the run lifecycle, as pure functions over typed values.

The coordinator (:mod:`tap_edges.runs.coordinator`) gathers the facts (the bookmark from the
incoming state, the run object Edges shows, what a request answered) and executes the
:class:`Step` these functions return; it decides nothing itself. One table, one row per
situation, named in the first column; code and comments cite rows by name, never by number.
``tests/lifecycle/test_lifecycle.py`` reads the names from this table and fails for a row
without a case.

=========================  ========================  ==============================  ===============
row                        what the bookmark says    what Edges shows / answered     step
=========================  ========================  ==============================  ===============
**before anything is sent:** :func:`decide`
----------------------------------------------------------------------------------------------------
no-run                     no run uid                (nothing)                       LAUNCH
launch-not-found           a launch pending (its     (nothing)                       LAUNCH
                           run was not found by its
                           token)
run-unknown                run uid                   unknown to Edges                LAUNCH, warn
in-flight                  run uid                   run not terminal                WAIT
iteration-not-recorded     run uid, iteration F      terminal, fingerprint not F,    READ
                                                     or a continue is pending and
                                                     ``updated_at`` moved
invalid                    run uid, iteration F      terminal, F, INVALID            LAUNCH, warn
not-incremental            run uid, iteration F      terminal, F, not incremental    LAUNCH, warn
cap-changed                run uid, iteration F,     terminal, F; the cap wanted     LAUNCH, info
                           sent cap C                now differs from C (a setting
                                                     changed)
listing-relisted           a listing's run uid,      terminal, F                     LAUNCH (a full
                           iteration F                                               run: listings
                                                                                     are never
                                                                                     continued)
consumed                   run uid, iteration F      terminal, F                     CONTINUE
**after Edges answered a continue:** :func:`after_continue_refused`
----------------------------------------------------------------------------------------------------
continue-gone              continue sent             404, or refused and the run is  LAUNCH, warn
                                                     gone
continued-elsewhere        continue sent             refused; the run is in flight   WAIT
                                                     (another process continued it)
continue-refused-relaunch  continue sent             refused; the run is terminal    LAUNCH
                                                     and invalid, not-incremental
                                                     or cap-changed applies
continue-refused           continue sent             refused; otherwise              FAIL
**after Edges refused a launch:** :func:`after_launch_refused`
----------------------------------------------------------------------------------------------------
name-refused               launch carrying the       refused; the error names        LAUNCH again
                           run's ``name``            ``name`` or "additional         without it;
                                                     properties"                     remember that
                                                                                     for the
                                                                                     workspace
grown-cap-refused          launch at a grown cap     4xx                             stay at the
                                                                                     run's cap,
                                                                                     remember it as
                                                                                     the limit: in-
                                                                                     flight,
                                                                                     iteration-not-
                                                                                     recorded,
                                                                                     consumed
unsent-launch-dropped      a launch an earlier sync  (with grown-cap-refused: the    the launch is
                           wrote ahead, never sent   old run stands)                 no longer
                                                                                     pending
launch-refused             launch                    refused otherwise               FAIL
**after an answer was lost:** :func:`after_lost_answer`, :func:`continue_applied`
----------------------------------------------------------------------------------------------------
lost-answer-applied        launch or continue sent,  a continue: the run in flight,  take the run (a
                           no answer                 a new iteration or              launch's: adopt
                                                     ``updated_at`` moved; a         it)
                                                     launch: its run found
lost-answer-not-applied    (same)                    nothing changed, tries left     send again
lost-answer-given-up       (same)                    nothing changed, last try       FAIL (the state
                                                                                     keeps what was
                                                                                     sent)
**while waiting:** :func:`after_poll`, :func:`timed_out`
----------------------------------------------------------------------------------------------------
run-gone                   run in flight             gone from Edges                 FAIL
not-moved                  this sync continued it    still the iteration before      WAIT (not
                                                                                     moved)
unknown-status             run in flight             a status the tap does not know  WAIT, warn
run-timeout                run in flight for         still in flight                 FAIL (the run
                           ``run_timeout_seconds``                                   stays in the
                                                                                     state: the next
                                                                                     sync waits)
**after the batch is read:** :func:`grow`, :func:`clamped` and :func:`verdict`
----------------------------------------------------------------------------------------------------
full-batch-grows           a continued run's batch   ``adaptive_max_results``, cap   next sync:
                           is full                   under the ceiling and under     twice the cap
                                                     what Edges takes (cap-clamped,  (relaunch)
                                                     grown-cap-refused)
cap-clamped                sent cap C, no known      the run echoes a cap E < C      the run's cap
                           limit L or L != E         (Edges clamped it)              is E; remember
                                                                                     L = E; warn
                                                                                     once; no
                                                                                     relaunch
no-data                    batch read                ended with the label            an empty batch:
                                                     NO_DATA_AVAILABLE (any status)  OK
run-failed                 batch read                FAILED, BLOCKED, STOPPED,       FAIL (emitted)
                                                     INVALID
run-partial                batch read                PARTIAL_SUCCEEDED               warn (emitted)
**a launch without a name lost its answer:** :func:`find_unnamed`
----------------------------------------------------------------------------------------------------
unnamed-adopt              a launch pending, sent    one run of the action, created  adopt it
                           without ``name`` (name-   after it was written ahead, no
                           refused)                  partition's, identity and
                                                     input (as far as Edges shows
                                                     them) match
unnamed-none               (same)                    no such run                     LAUNCH
unnamed-several            (same)                    several                         LAUNCH, warn (a
                                                                                     duplicate run
                                                                                     may be paid)
=========================  ========================  ==============================  ===============

The cap a run works with is the cap the tap sent (kept in the bookmark): what Edges echoes in
``parameters.max_results`` is information only (cap-clamped), so a clamp never relaunches
(cap-changed compares caps the tap sent).

The rule behind iteration-not-recorded and consumed: the incoming state is the only record of
what a target committed (after a failed load Meltano hands the tap an older state). So a run is
continued only when that state records the run's latest iteration as consumed; otherwise the
sync reads that iteration, emits it and leaves the run alone, since Edges may serve only the
newest iteration's outputs and a continue would overwrite it.
"""

from __future__ import annotations

from tap_edges.lifecycle.caps import (
    Caps,
    clamped,
    grow,
    run_cap,
    sent_cap,
    wanted_max_results,
)
from tap_edges.lifecycle.finishing import (
    CLOCK_SKEW_SECONDS,
    NO_DATA,
    Poll,
    Unnamed,
    Verdict,
    after_poll,
    find_unnamed,
    timed_out,
    verdict,
)
from tap_edges.lifecycle.starting import (
    Refusal,
    Resend,
    after_continue_refused,
    after_launch_refused,
    after_lost_answer,
    consumed,
    continue_applied,
    decide,
    unsent_launch_dropped,
)
from tap_edges.lifecycle.vocabulary import (
    IN_FLIGHT,
    QUEUED,
    SUCCESSFUL,
    TERMINAL,
    UNSUCCESSFUL,
    Action,
    Status,
    Step,
    is_terminal,
)

__all__ = [
    "CLOCK_SKEW_SECONDS",
    "IN_FLIGHT",
    "NO_DATA",
    "QUEUED",
    "SUCCESSFUL",
    "TERMINAL",
    "UNSUCCESSFUL",
    "Action",
    "Caps",
    "Poll",
    "Refusal",
    "Resend",
    "Status",
    "Step",
    "Unnamed",
    "Verdict",
    "after_continue_refused",
    "after_launch_refused",
    "after_lost_answer",
    "after_poll",
    "clamped",
    "consumed",
    "continue_applied",
    "decide",
    "find_unnamed",
    "grow",
    "is_terminal",
    "run_cap",
    "sent_cap",
    "timed_out",
    "unsent_launch_dropped",
    "verdict",
    "wanted_max_results",
]
