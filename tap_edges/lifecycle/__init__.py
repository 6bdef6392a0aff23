"""Every decision of the run lifecycle, as pure functions over typed values.

The coordinator (:mod:`tap_edges.runs.coordinator`) gathers the facts (the bookmark from the
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
    verdict,
)
from tap_edges.lifecycle.starting import (
    Refusal,
    after_continue_refused,
    after_launch_refused,
    consumed,
    continue_applied,
    decide,
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
    "Status",
    "Step",
    "Unnamed",
    "Verdict",
    "after_continue_refused",
    "after_launch_refused",
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
    "verdict",
    "wanted_max_results",
]
