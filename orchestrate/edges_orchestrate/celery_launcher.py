"""dagster-celery's run launcher, with a health check that knows when a worker is gone.

``CeleryRunLauncher`` (dagster-celery) sends each run to a Celery queue as one task; the worker
that takes it executes the whole run (its steps in-process, edges_orchestrate/worker.py). Its
health check reads only the task's state in the result backend: a worker that is SIGKILLed, or
whose machine is lost, never records an end, so its task stays ``STARTED`` and the run
``RUNNING`` for ever. Here the check also reads the worker's liveness: every worker refreshes
``edges:worker:<hostname>`` in Redis every ``BEAT_SECONDS`` with a time to live of
``ALIVE_SECONDS``; a ``STARTED`` task whose worker's key has expired has lost its worker, and
the run is reported ``FAILED``, which Dagster's run monitoring turns into a failed run (freeing
its pool slots) and run retries into a new run on another worker.
"""

from __future__ import annotations

import typing as t

import redis
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from edges_orchestrate.liveness import ALIVE_SECONDS, liveness_key, started_on, worker_of

if t.TYPE_CHECKING:
    from dagster import DagsterRun


class EdgesCeleryRunLauncher(CeleryRunLauncher):
    """``CeleryRunLauncher`` whose health check fails a run whose worker stopped beating."""

    def _redis(self) -> redis.Redis:
        return redis.Redis.from_url(str(self.broker), socket_timeout=10)

    def worker_alive(self, hostname: str) -> bool:
        """Whether the worker refreshed its liveness key within ``ALIVE_SECONDS``."""
        with self._redis() as client:
            return bool(client.exists(liveness_key(hostname)))

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        """The task's state, and for a task in flight, whether its worker still lives."""
        task_id = run.tags.get(DAGSTER_CELERY_TASK_ID_TAG)
        if task_id is None:  # launched, not yet tagged (UNKNOWN would fail the run)
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no Celery task yet")
        result = self.celery.AsyncResult(task_id)
        state = result.state
        if state == "SUCCESS":
            return CheckRunHealthResult(WorkerStatus.SUCCESS)
        if state == "FAILURE":
            return CheckRunHealthResult(WorkerStatus.FAILED, "Celery task failed.")
        # The worker that took the task tags the run (worker.py) before executing it; a retry's
        # tags inherited from its parent name the dead worker, and are not read; else the
        # task's record names where it started (liveness.py).
        hostname = worker_of(run.tags) or started_on(state, result.info)
        if not hostname:
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"task {state}, no worker yet")
        if not self.worker_alive(hostname):
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"worker {hostname} stopped beating (no liveness for {ALIVE_SECONDS} s): "
                "its process or machine is gone",
            )
        return CheckRunHealthResult(WorkerStatus.RUNNING)
