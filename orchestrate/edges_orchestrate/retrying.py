"""When a workspace's attempts (a run and its retries) are over: the rule, without Dagster.

Dagster fails a run in two writes: the run's status first (FAILURE), then, where run retries
are enabled, its ``dagster/will_retry`` tag (by the process that stored the failure, right
after; by the retry daemon if that process died in between). A failed run without the tag is
not the end: its retry may be coming. Once (CI, under load) ``cluster wait`` read a killed
worker's run in that moment, took it for the end and reported the workspace failed, while its
retry was about to start and load everything.

Only the standard library: the tests read this rule in the tap's venv.
"""

from __future__ import annotations

# A failed run still without its will_retry tag this long after it ended will not get one.
TAG_GRACE_SECONDS = 60.0


def over(
    *,
    finished: bool,
    failed: bool,
    will_retry: str | None,
    retries_enabled: bool,
    ended_ago: float,
) -> bool:
    """Whether the last attempt of a chain is its last: it finished and no retry is coming.

    Args:
        finished: The last attempt finished (success, failure or canceled).
        failed: It failed.
        will_retry: Its ``dagster/will_retry`` tag, None while absent.
        retries_enabled: The instance retries failed runs (``run_retries.enabled``).
        ended_ago: Seconds since it ended.
    """
    if not finished:
        return False
    if not failed:
        return True
    if will_retry is not None:
        return will_retry != "true"  # "true": its retry is on its way (the chain grows)
    return not retries_enabled or ended_ago > TAG_GRACE_SECONDS
