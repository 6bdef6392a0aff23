"""When a workspace's attempts are over (orchestrate/edges_orchestrate/retrying.py).

Dagster stores a run's failure, then its will_retry tag. Once (CI, under load) ``cluster wait``
read a killed worker's run between the two and reported the workspace failed for good, while its
retry was about to start.
"""

from __future__ import annotations

from edges_orchestrate.retrying import TAG_GRACE_SECONDS, over


def failed_is_over(
    will_retry: str | None, *, retries_enabled: bool = True, ended_ago: float = 1.0
) -> bool:
    return over(
        finished=True,
        failed=True,
        will_retry=will_retry,
        retries_enabled=retries_enabled,
        ended_ago=ended_ago,
    )


def test_a_failed_run_not_yet_tagged_is_not_the_end() -> None:
    assert not failed_is_over(None)


def test_a_failed_run_tagged_to_retry_waits_for_its_retry() -> None:
    assert not failed_is_over("true")


def test_a_failed_run_tagged_not_to_retry_is_the_end() -> None:
    assert failed_is_over("false")


def test_without_retries_or_long_untagged_a_failed_run_is_the_end() -> None:
    assert failed_is_over(None, retries_enabled=False)
    assert failed_is_over(None, ended_ago=TAG_GRACE_SECONDS + 1)


def test_a_running_run_is_not_the_end_and_a_success_is() -> None:
    assert not over(
        finished=False, failed=False, will_retry=None, retries_enabled=True, ended_ago=0.0
    )
    assert over(finished=True, failed=False, will_retry=None, retries_enabled=True, ended_ago=0.0)
