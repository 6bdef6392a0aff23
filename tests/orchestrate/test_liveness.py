"""Which worker holds a Celery run (orchestrate/edges_orchestrate/liveness.py).

A retry is created with its parent's tags: the dead worker's name and the dead task's id. Once
(CI, under load) the retry's worker tagged its name while the launcher tagged the new task id,
one write erased the other, and the health check read the inherited name, found that worker
dead and failed the retry: the workspace's sync failed for good.
"""

from __future__ import annotations

from edges_orchestrate.liveness import (
    TASK_ID_TAG,
    WORKER_TAG,
    launcher_tagged,
    started_on,
    worker_of,
    worker_tags,
)


def test_a_run_names_the_worker_of_its_current_task() -> None:
    tags = {TASK_ID_TAG: "task-1", **worker_tags("worker-1@vm", "task-1")}
    assert worker_of(tags) == "worker-1@vm"
    assert worker_of({TASK_ID_TAG: "task-1"}) is None  # taken, not yet tagged
    assert worker_of({}) is None


def test_a_retry_does_not_name_its_parents_dead_worker() -> None:
    parent = {TASK_ID_TAG: "task-1", **worker_tags("worker-1@vm", "task-1")}
    retry = dict(parent)  # Dagster's run retries copy the parent's tags
    # The retry's worker starts before its launcher has tagged the new task: it waits.
    assert not launcher_tagged(retry, "task-2")
    retry[TASK_ID_TAG] = "task-2"  # the launcher's tag
    assert launcher_tagged(retry, "task-2")
    assert worker_of(retry) is None  # never the dead worker-1
    retry.update(worker_tags("worker-2@vm", "task-2"))
    assert worker_of(retry) == "worker-2@vm"


def test_a_name_without_its_task_is_not_believed() -> None:
    """A worker's name tag alone (as written before the task was tagged with it) says nothing."""
    assert worker_of({TASK_ID_TAG: "task-2", WORKER_TAG: "worker-1@vm"}) is None


def test_a_late_launcher_write_leaves_the_task_and_its_record_names_the_worker() -> None:
    """The launcher read the retry before the worker tagged it, and wrote after: its write
    (the inherited tags, its task id) erased the worker's name. The run still names its own
    task (the worker wrote the same id), and the task's record says where it started."""
    parent = {TASK_ID_TAG: "task-1", **worker_tags("worker-1@vm", "task-1")}
    read_by_the_launcher = dict(parent)
    retry = {**parent, **worker_tags("worker-2@vm", "task-2")}  # the worker's write
    assert retry[TASK_ID_TAG] == "task-2"  # written by the worker too
    retry = {**read_by_the_launcher, TASK_ID_TAG: "task-2"}  # the launcher's late write
    assert worker_of(retry) is None  # not the dead worker-1
    assert started_on("STARTED", {"pid": 7, "hostname": "worker-2@vm"}) == "worker-2@vm"


def test_a_task_record_names_a_worker_only_once_started() -> None:
    assert started_on("PENDING", None) is None
    assert started_on("STARTED", None) is None
    assert started_on("STARTED", {"pid": 7}) is None
    assert started_on("SUCCESS", {"hostname": "worker-2@vm"}) is None
