"""The environment of a workspace's ``meltano run``: what it needs, nothing of anyone else's.

Meltano reads its whole environment again for every setting it resolves (a copy of
``os.environ`` per lookup, thousands per ``meltano run``), so every variable it is handed costs
CPU in every sync; and a variable of another workspace must never reach this one's tap. The
sync gets only:

- the system's basics (``PATH``, ``HOME``, locale, time zone, temporary folder, TLS
  certificates, proxies);
- Meltano's own (``MELTANO_*``: system database, environment, project root);
- its loader's (``TARGET_POSTGRES_*`` for ``target-postgres``);
- its own extractor's (``TAP_EDGES__<NAME>_*``) and its own key (``api_key_env``);
- a Meltano system folder of its own (:func:`workspace_system`).

Only the standard library: tested in the tap's venv, used by the code location's.
"""

from __future__ import annotations

import contextlib
import re
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from edges_orchestrate.workspaces import Workspace

PLUGIN_KINDS = ("extractors", "loaders", "utilities")
SYSTEM = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TERM",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    }
)


def plugin_prefix(plugin: str) -> str:
    """A Meltano plugin's own variables' prefix: ``target-postgres``, ``TARGET_POSTGRES_``."""
    return re.sub(r"[^A-Z0-9]", "_", plugin.upper()) + "_"


def sync_environment(
    environ: Mapping[str, str], workspace: Workspace, loader: str
) -> dict[str, str]:
    """The variables of ``environ`` that the workspace's ``meltano run`` may see."""
    prefixes = ("LC_", "MELTANO_", plugin_prefix(loader), workspace.env_prefix)
    return {
        name: value
        for name, value in environ.items()
        if name in SYSTEM or name == workspace.api_key_env or name.startswith(prefixes)
    }


def linked_system_dir(system: Path, plugins: Path) -> Path:
    """A Meltano system folder of its own (mode 700), the plugins of ``plugins`` linked in.

    Its runs and logs are its own: the tap's config, with the key, among them.
    """
    system.mkdir(parents=True, exist_ok=True)
    system.chmod(0o700)
    for kind in PLUGIN_KINDS:
        link = system / kind
        if not link.is_symlink():
            (plugins / kind).mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # made meanwhile by a run of the same
                link.symlink_to(plugins / kind, target_is_directory=True)
    return system


def workspace_system(environ: Mapping[str, str], project: Path, name: str) -> dict[str, str]:
    """The Meltano system folder of a workspace's syncs, and the system database they keep.

    Meltano writes a plugin's config and logging files into ``run/<plugin>/`` of its system
    folder before it starts the plugin, and deletes them after. Every workspace loads with the
    same loader: with one system folder, one sync's target read another's config (its schema)
    or a logging file caught half-written (seen: target-postgres failing at start with
    ``'NoneType' object is not iterable``). Each workspace gets ``workspaces/<name>`` under the
    system folder (``MELTANO_SYS_DIR_ROOT``, else the project's ``.meltano``), the plugins
    linked in; two syncs of one workspace never run at once (its pool and its lock). The system
    database stays the shared one: Meltano's default lives in the system folder, so where
    neither the environment nor the project's ``.env`` names one, the shared folder's is named.
    """
    base = project / environ.get("MELTANO_SYS_DIR_ROOT", ".meltano")  # Meltano's, from the project
    own = linked_system_dir(base.absolute() / "workspaces" / name, base.absolute())
    env = {"MELTANO_SYS_DIR_ROOT": str(own)}
    # Meltano reads its system database from the environment, else from the project's .env,
    # else its default (meltano.db in the system folder: here, the shared one's).
    if "MELTANO_DATABASE_URI" not in environ and not _in_dotenv(project, "MELTANO_DATABASE_URI"):
        env["MELTANO_DATABASE_URI"] = f"sqlite:///{base.absolute()}/meltano.db"
    return env


def _in_dotenv(project: Path, name: str) -> bool:
    """Whether the project's ``.env`` sets ``name``."""
    try:
        lines = (project / ".env").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    names = (line.strip().removeprefix("export ").partition("=")[0].strip() for line in lines)
    return name in names
