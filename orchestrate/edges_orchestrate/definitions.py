"""The Dagster code location: each Edges workspace's tables, its dbt models, jobs and schedules.

Per workspace ``<ws>`` of orchestrate/workspaces.yml (group ``<ws>``):

- ``<ws>/tables/<stream>``: one multi-asset whose step runs ``meltano run tap-edges--<ws>
  <loader>`` through Dagster Pipes (meltano_pipes.py), in pool ``edges_workspace_<ws>``;
- ``<ws>/analytics/<model>``: the dbt models of transform/ built over that workspace's schema
  (``dbt build --vars {edges_schema: edges_<ws>, analytics_schema: analytics_<ws>}``), same
  pool, downstream of its tables;
- job ``workspace_<ws>`` (both) and, when the workspace has a schedule, ``schedule_<ws>``.

Job ``all_workspaces`` materializes every workspace at once with the multiprocess executor.
The instance (dagster.yaml) gives every pool one slot, so a workspace never syncs twice at once,
whichever run asks; Meltano refuses an overlapping ``meltano run`` of the same state ID too.

Settings (environment): ``EDGES_WORKSPACES`` (the workspaces file), ``EDGES_MELTANO_ENVIRONMENT``
(default ``cluster``, whose system database must be PostgreSQL: ``MELTANO_DATABASE_URI``),
``EDGES_LOADER`` (default ``target-postgres``, connection in ``TARGET_POSTGRES_*``, which the
dbt profile reads too), ``EDGES_DBT_EXECUTABLE`` (default: Meltano's dbt-postgres utility),
``EDGES_DBT_TARGET_DIR`` (dbt's target folders, one per workspace; default orchestrate/.dbt),
``EDGES_MAX_CONCURRENT`` (steps at once in ``all_workspaces``; default: one per workspace),
``EDGES_MELTANO_PROJECT`` (the Meltano project whose extractors the workspaces are; default
this repository's), ``EDGES_STALE_SYNC_SECONDS`` (a sync Meltano holds as running that has not
beaten for this long is dead and the next one goes ahead: stale.py; default 60).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext, PipesSubprocessClient
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from edges_orchestrate import stale, synclock
from edges_orchestrate.environment import sync_environment, workspace_system
from edges_orchestrate.workspaces import WORKSPACES_FILE, Workspace, load, sync_target

ORCHESTRATE = Path(__file__).resolve().parent.parent
ROOT = ORCHESTRATE.parent
TRANSFORM = ROOT / "transform"
MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
MELTANO_DBT = ROOT / ".meltano" / "utilities" / "dbt-postgres" / "venv" / "bin" / "dbt"
WORKSPACE_TAG = "edges/workspace"
CELERY_QUEUE_TAG = "dagster-celery/queue"
MIGRATE_ATTEMPTS = 4
DBT_TARGET_PATH = ORCHESTRATE / ".dbt" / "target"
# Meltano's dbt-postgres utility (meltano.yml: dbt-core~=1.11.0).
DBT_VERSION = "1.11"


def setting(name: str, default: str) -> str:
    """An orchestrator setting from the environment."""
    return os.environ.get(name) or default


def dbt_project() -> DbtProject:
    """transform/ as the orchestrator parses it (postgres; manifest in orchestrate/.dbt)."""
    return DbtProject(
        project_dir=TRANSFORM,
        profiles_dir=TRANSFORM / "profiles",
        target="postgres",
        target_path=DBT_TARGET_PATH,
    )


def source_tables(manifest_path: Path) -> list[str]:
    """The tap's tables, as dbt reads them (sources of transform/)."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return sorted(
        source["name"]
        for source in manifest["sources"].values()
        if source["source_name"] == "tap_edges"
    )


def meltano_env(
    workspace: Workspace, everyone: list[Workspace], environment: str, loader: str
) -> dict[str, str]:
    """The environment of a workspace's ``meltano run``.

    Its own key and settings, Meltano's, its loader's and the system's basics (environment.py);
    nobody else's, nothing else.

    Raises:
        dg.Failure: Its key is missing, or the cluster's state would not be shared.
    """
    if not os.environ.get(workspace.api_key_env):
        msg = f"workspace {workspace.name}: {workspace.api_key_env} (its Edges API key) is not set"
        raise dg.Failure(description=msg, metadata={"workspace": workspace.name})
    others = {w.api_key_env for w in everyone if w.name != workspace.name}
    env = {
        k: v for k, v in sync_environment(os.environ, workspace, loader).items() if k not in others
    }
    uri = env.get("MELTANO_DATABASE_URI", "")
    if environment == "cluster" and not uri.startswith("postgresql"):
        msg = "environment cluster: MELTANO_DATABASE_URI must be a postgresql+psycopg:// URI"
        raise dg.Failure(description=msg, metadata={"workspace": workspace.name})
    env["MELTANO_ENVIRONMENT"] = environment
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    project = Path(setting("EDGES_MELTANO_PROJECT", str(ROOT)))
    env.update(workspace_system(os.environ, project, workspace.name))
    return env


def migrate_system_database() -> None:
    """Bring Meltano's system database to its schema once, before syncs start side by side.

    Every ``meltano run`` migrates a system database that is behind; several starting at once
    on a fresh PostgreSQL race to create the same tables and all but one fail. Two of these
    upgrades can race the same way (two runs started together): the loser tries again, and
    finds the database migrated.

    Raises:
        RuntimeError: When Meltano cannot.
    """
    for attempt in range(MIGRATE_ATTEMPTS):
        done = subprocess.run(
            [str(MELTANO), "upgrade", "database"],
            capture_output=True,
            text=True,
            check=False,
            cwd=setting("EDGES_MELTANO_PROJECT", str(ROOT)),
            env={**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"},
        )
        if done.returncode == 0:
            return
        time.sleep(1 + attempt)
    msg = f"meltano upgrade database failed:\n{done.stderr[-3000:]}"
    raise RuntimeError(msg)


def tables_asset(
    workspace: Workspace, everyone: list[Workspace], tables: list[str]
) -> dg.AssetsDefinition:
    """The workspace's tables, loaded by one ``meltano run`` through Dagster Pipes."""
    keys = {table: dg.AssetKey([workspace.name, "tables", table]) for table in tables}
    specs = [
        dg.AssetSpec(key, group_name=workspace.name, kinds={"meltano", "postgres"})
        for key in keys.values()
    ]

    @dg.multi_asset(
        name=f"{workspace.name}_tables",
        specs=specs,
        pool=f"edges_workspace_{workspace.name}",
        op_tags={WORKSPACE_TAG: workspace.name},
        description=f"meltano run {workspace.extractor} <loader>: workspace {workspace.name}",
    )
    def load_workspace(
        context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient
    ) -> Any:  # noqa: ANN401 - Dagster's results
        environment, loader = sync_target()
        state_id = workspace.state_id(environment, loader)
        env = meltano_env(workspace, everyone, environment, loader)
        check_settings(workspace)
        invocation = pipes_subprocess_client.run(
            command=[sys.executable, "-m", "edges_orchestrate.meltano_pipes"],
            context=context,
            # The Pipes client adds its own process's environment to this one: the variables
            # this workspace must not see are named for the Pipes process to drop.
            env=env,
            cwd=setting("EDGES_MELTANO_PROJECT", str(ROOT)),
            extras={
                # The Pipes process adds --force when a dead sync holds the state ID (stale.py),
                # holding the workspace's sync lock (synclock.py).
                "command": [str(MELTANO), "run", workspace.extractor, loader],
                "state_id": state_id,
                "unset": sorted(set(os.environ) - set(env)),
                "tables": {table: key.to_user_string() for table, key in keys.items()},
            },
        )
        outcome = invocation.get_custom_messages()[-1]
        if outcome["returncode"] != 0:
            raise failure(workspace, outcome)
        yield from invocation.get_results()

    return load_workspace


def check_settings(workspace: Workspace) -> None:
    """The sync's settings the Pipes process reads, checked before it starts.

    Raises:
        dg.Failure: EDGES_STALE_SYNC_SECONDS or EDGES_SYNC_LOCK_WAIT_SECONDS is not a number.
    """
    try:
        stale.stale_after()
        synclock.wait_seconds()
    except ValueError as error:
        raise dg.Failure(description=str(error), metadata={"workspace": workspace.name}) from None


def failure(workspace: Workspace, outcome: dict[str, Any]) -> dg.Failure:
    """A workspace's failed sync, its summary and log tail attached."""
    metadata: dict[str, Any] = {
        "workspace": workspace.name,
        "state id": outcome["state_id"],
        "meltano exit code": outcome["returncode"],
        **(outcome["summary"] or {}),
        "log tail": dg.MetadataValue.md("```\n" + "\n".join(outcome["tail"]) + "\n```"),
    }
    if outcome.get("locked"):
        description = f"workspace {workspace.name}: " + " ".join(outcome["tail"])
    else:
        description = f"workspace {workspace.name}: meltano run exited {outcome['returncode']}"
    return dg.Failure(
        description=description,
        metadata=metadata,
    )


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt resource, told the dbt version instead of asking ``dbt --version``.

    dagster-dbt runs ``dbt --version`` twice per invocation to tell dbt Core from the Fusion
    engine; each asks PyPI for the latest release (7 s of a 10 s build here).
    """

    @property
    def _cli_version(self) -> version.Version:
        return version.parse(os.environ.get("EDGES_DBT_VERSION") or DBT_VERSION)


class WorkspaceTranslator(DagsterDbtTranslator):
    """transform/'s sources and models under the workspace's keys and group."""

    def __init__(self, workspace: Workspace) -> None:
        """Translate for this workspace."""
        super().__init__()
        self.workspace = workspace

    def get_asset_key(self, dbt_resource_props: dict[str, Any]) -> dg.AssetKey:  # type: ignore[override]
        """``<ws>/tables/<table>`` for a source, ``<ws>/analytics/<model>`` for a model."""
        kind = "tables" if dbt_resource_props["resource_type"] == "source" else "analytics"
        return dg.AssetKey([self.workspace.name, kind, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: dict[str, Any]) -> str:  # type: ignore[override]
        """The workspace's group."""
        return self.workspace.name


def models_asset(workspace: Workspace, project: DbtProject) -> dg.AssetsDefinition:
    """The dbt models of transform/ over the workspace's schema."""
    variables = {"edges_schema": workspace.schema, "analytics_schema": workspace.analytics_schema}

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name=f"{workspace.name}_dbt",
        dagster_dbt_translator=WorkspaceTranslator(workspace),
        pool=f"edges_workspace_{workspace.name}",
        op_tags={WORKSPACE_TAG: workspace.name},
    )
    def build(context: AssetExecutionContext, dbt: DbtCli) -> Any:  # noqa: ANN401
        # Its own target path: dbt's partial parse is reused from one build to the next (the
        # pool keeps two builds of a workspace from sharing it).
        targets = Path(setting("EDGES_DBT_TARGET_DIR", str(DBT_TARGET_PATH.parent)))
        target_path = targets / workspace.name
        build_args = ["build", "--vars", json.dumps(variables)]
        yield from dbt.cli(build_args, context=context, target_path=target_path).stream()

    return build


def workspace_job(workspace: Workspace) -> Any:  # noqa: ANN401 - an unresolved asset job
    """A workspace's tables and models, tagged with the workspace (run tag concurrency)."""
    return dg.define_asset_job(
        f"workspace_{workspace.name}",
        selection=dg.AssetSelection.groups(workspace.name),
        # The Celery queue of its runs in the distributed deployment (cluster/dagster.yaml);
        # nothing reads it on one machine.
        tags={WORKSPACE_TAG: workspace.name, CELERY_QUEUE_TAG: f"edges_{workspace.name}"},
        # Its two steps (sync, then dbt) run one after the other in the run's own process
        # (a Celery worker's thread in the distributed deployment): no process per step.
        executor_def=dg.in_process_executor,
        description=f"Load workspace {workspace.name} and build its dbt models.",
    )


# What the step server imports before it forks a step (module names).
PRELOAD = [__name__, "dagster._core.storage.sqlite_storage", "psycopg"]


def build_definitions(workspaces_file: Path) -> dg.Definitions:
    """Everything Dagster shows: assets, jobs, schedules, resources."""
    workspaces = load(workspaces_file)
    project = dbt_project()
    tables = source_tables(project.manifest_path)
    assets: list[dg.AssetsDefinition] = []
    for workspace in workspaces:
        assets += [tables_asset(workspace, workspaces, tables), models_asset(workspace, project)]
    jobs = [workspace_job(w) for w in workspaces]
    every = dg.define_asset_job(
        "all_workspaces",
        selection=dg.AssetSelection.all(),
        # Every workspace's sync at once (they wait on Edges, not on the CPU), not one per core.
        # Steps forked from a server that imported Dagster and these definitions once: a
        # spawned step process pays that import again, about 8 s of CPU per step. The server
        # also imports what every step imports next: the instance's storage (local SQLite,
        # 0.5 s of a step's 1.7 s of CPU) and psycopg (stale.py).
        executor_def=dg.multiprocess_executor.configured(
            {
                "max_concurrent": int(setting("EDGES_MAX_CONCURRENT", str(len(workspaces)))),
                "start_method": {"forkserver": {"preload_modules": PRELOAD}},
            }
        ),
        description="Every workspace at once: each its own sync, then its dbt models.",
    )
    schedules = [
        dg.ScheduleDefinition(
            name=f"schedule_{w.name}",
            job=job,
            cron_schedule=w.schedule,
            execution_timezone="UTC",
        )
        for w, job in zip(workspaces, jobs, strict=True)
        if w.schedule
    ]
    dbt = DbtCli(
        project_dir=project,
        profiles_dir=str(TRANSFORM / "profiles"),
        target="postgres",
        dbt_executable=setting("EDGES_DBT_EXECUTABLE", str(MELTANO_DBT)),
    )
    return dg.Definitions(
        assets=assets,
        jobs=[*jobs, every],
        schedules=schedules,
        resources={"pipes_subprocess_client": dg.PipesSubprocessClient(), "dbt": dbt},
    )


def workspaces_file() -> Path:
    """The workspaces file in use."""
    return Path(setting("EDGES_WORKSPACES", str(WORKSPACES_FILE)))


def all_workspaces_job() -> dg.JobDefinition:
    """The ``all_workspaces`` job (reconstructable: the multiprocess executor rebuilds it)."""
    return defs.resolve_job_def("all_workspaces")


defs = build_definitions(workspaces_file())
