"""The Celery app of a distributed deployment's workers: one Dagster run per task.

Started by ``python -m edges_orchestrate.cluster worker`` (or by hand)::

    celery -A edges_orchestrate.worker worker -P threads -Q edges_alpha,edges_gamma -n w1@%h

with ``EDGES_CELERY_BROKER`` (Redis), ``DAGSTER_HOME`` holding orchestrate/cluster/dagster.yaml
and the workspaces' settings. The threads pool: prefork's children are daemonic processes,
which cannot start the step's Dagster Pipes process. The task takes its name from
dagster-celery's (``execute_job``: the launcher addresses it by name) and does what
dagster-celery's does, after tagging the run with this worker's name (``edges/worker``, which
the launcher's health check reads). While the worker lives it refreshes its liveness key in
Redis (celery_launcher.py); a worker stopped cleanly deletes it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import time
import typing as t

import redis
from celery import signals
from dagster import DagsterInstance
from dagster._cli.api import _execute_run_command_body
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import unpack_value
from dagster_celery.config import DEFAULT_CONFIG, TASK_EXECUTE_JOB_NAME
from dagster_celery.make_app import make_app

from edges_orchestrate.liveness import (
    ALIVE_SECONDS,
    BEAT_SECONDS,
    launcher_tagged,
    liveness_key,
    worker_tags,
)

BROKER = os.environ.get("EDGES_CELERY_BROKER", "redis://127.0.0.1:6379/0")

app = make_app(
    {
        "broker": BROKER,
        "backend": BROKER,
        "include": [],
        "config_source": {
            **DEFAULT_CONFIG,
            "broker_connection_retry_on_startup": True,
            # A worker takes a run only when a thread of its is free: no run waits behind
            # another on a worker (nor dies with it) while another worker could take it.
            "worker_disable_prefetch": True,
        },
        "task_default_queue": "edges",
    }
)
_stop_beating = threading.Event()
TAG_WAIT_SECONDS = 10


@app.task(bind=True, name=TASK_EXECUTE_JOB_NAME, track_started=True)
def execute_job(self: t.Any, execute_job_args_packed: t.Any) -> int:  # noqa: ANN401 - Celery's
    """Execute one Dagster run here, tagged with this worker's name first."""
    args = unpack_value(execute_job_args_packed, as_type=ExecuteRunArgs)
    with DagsterInstance.get() as instance:
        task_id = str(self.request.id)
        _after_the_launchers_tag(instance, args.run_id, task_id)
        instance.add_run_tags(args.run_id, worker_tags(str(self.request.hostname), task_id))
        return _execute_run_command_body(
            instance=instance,
            run_id=args.run_id,
            write_stream_fn=lambda _event: None,
            set_exit_code_on_failure=True,
        )


def _after_the_launchers_tag(instance: DagsterInstance, run_id: str, task_id: str) -> None:
    """Wait (a few seconds at most) until the launcher has tagged the run with this task's id.

    Dagster's ``add_run_tags`` reads the run, merges and writes the whole run back: the
    launcher tagging the task id while this worker tags its name would keep only one of the two
    in the run (seen: a run without its worker's name; and a retry, which carries its parent's
    task id from the start, left with the dead worker's name and failed by the health check).
    """
    deadline = time.monotonic() + TAG_WAIT_SECONDS
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run is None or launcher_tagged(run.tags, task_id):
            return
        time.sleep(0.1)


def _beat(hostname: str) -> None:
    client = redis.Redis.from_url(BROKER, socket_timeout=10)
    while not _stop_beating.is_set():
        # The broker away: the next beat tries again.
        with contextlib.suppress(redis.RedisError):
            client.set(liveness_key(hostname), os.getpid(), ex=ALIVE_SECONDS)
        _stop_beating.wait(BEAT_SECONDS)
    client.delete(liveness_key(hostname))


def _yaml_handlers_only_when_configured(original: t.Any) -> t.Any:  # noqa: ANN401
    def handlers(self: t.Any) -> t.Any:  # noqa: ANN401
        if not self._instance.get_python_log_dagster_handler_config():
            return []
        return original(self)

    return handlers


@signals.worker_init.connect
def prepare(**_: t.Any) -> None:  # noqa: ANN401
    """Before the first task: what every run would otherwise do at once in its thread.

    Dagster builds each run's log handlers with ``logging.config.dictConfig``, even when the
    instance configures none; dictConfig takes every handler's lock under logging's own, and a
    run logging meanwhile in another thread holds its handler's lock and waits for logging's:
    two runs starting together in one worker deadlock (seen here). The instance configures no
    handler (cluster/dagster.yaml), so none is built. The code location and the instance's
    storage are loaded here once, not by two runs' threads at the same time.
    """
    from dagster._core.instance.methods.event_methods import EventMethods  # noqa: PLC0415

    EventMethods.get_yaml_python_handlers = _yaml_handlers_only_when_configured(  # type: ignore[method-assign]
        EventMethods.get_yaml_python_handlers
    )
    importlib.import_module("edges_orchestrate.definitions")
    with DagsterInstance.get() as instance:
        instance.get_runs(limit=1)


@signals.worker_ready.connect
def start_beating(sender: t.Any, **_: t.Any) -> None:  # noqa: ANN401 - Celery's consumer
    """Keep this worker's liveness key while it lives."""
    threading.Thread(target=_beat, args=(str(sender.hostname),), daemon=True).start()


@signals.worker_shutdown.connect
def stop_beating(**_: t.Any) -> None:  # noqa: ANN401
    """A clean stop: the key goes at once."""
    _stop_beating.set()
