"""Which worker holds a Celery run, read from the run's tags: the rules, without Dagster.

A worker that takes a run tags it with its name and the Celery task it is executing
(worker.py); the launcher's health check reads them to ask whether that worker still beats
(celery_launcher.py). Two facts of Dagster make the task's id part of the answer:

- A retry is created with its parent's tags (run retries copy them), so it carries the dead
  worker's name and the dead task's id until its own launcher and worker tag it again. A name
  is believed only when it was written for the task the run is now launched as.
- ``add_run_tags`` reads the run, merges and writes the whole run back: a worker tagging its
  name while the launcher tags the task id keeps only one of the two. The worker tags only
  after the launcher's tag names its own task (an inherited id is not that), and writes the
  task id with its name (the same value the launcher writes), so that once it has tagged, the
  run names its own task whatever the launcher's write erased.
- Where the run's tags name no worker for its task (a name erased by a late launcher write),
  the task's own record tells: Celery stores the worker's hostname when the task starts
  (``track_started``), read by :func:`started_on`.

Only the standard library: the tests read these rules in the tap's venv.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping

BEAT_SECONDS = 2
ALIVE_SECONDS = 10
WORKER_TAG = "edges/worker"
WORKER_TASK_TAG = "edges/worker-task"
# dagster_celery.tags.DAGSTER_CELERY_TASK_ID_TAG (tests/e2e/test_orchestrate_e2e.py checks it).
TASK_ID_TAG = "dagster-celery/task_id"


def liveness_key(hostname: str) -> str:
    """The Redis key a live worker keeps."""
    return f"edges:worker:{hostname}"


def launcher_tagged(tags: Mapping[str, str], task_id: str) -> bool:
    """Whether the launcher has tagged the run with this task's id, so the worker may tag it."""
    return tags.get(TASK_ID_TAG) == task_id


def worker_tags(hostname: str, task_id: str) -> dict[str, str]:
    """What the worker executing ``task_id`` tags the run with (the task's id too)."""
    return {TASK_ID_TAG: task_id, WORKER_TAG: hostname, WORKER_TASK_TAG: task_id}


def worker_of(tags: Mapping[str, str]) -> str | None:
    """The worker executing the run's current task, or None while none has said so.

    A name written for another task than the one the run names (a retry's inherited tags) is
    not this run's worker.
    """
    task_id = tags.get(TASK_ID_TAG)
    if task_id is None or tags.get(WORKER_TASK_TAG) != task_id:
        return None
    return tags.get(WORKER_TAG)


def started_on(state: str, info: object) -> str | None:
    """The worker a Celery task started on, from its result record (state and meta)."""
    if state != "STARTED" or not isinstance(info, dict):
        return None
    hostname = info.get("hostname")
    return hostname if isinstance(hostname, str) and hostname else None
