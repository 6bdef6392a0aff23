"""The environment of a workspace's ``meltano run``: what it needs, nothing of anyone else's.

Meltano reads its whole environment again for every setting it resolves (a copy of
``os.environ`` per lookup, thousands per ``meltano run``), so every variable it is handed costs
CPU in every sync; and a variable of another workspace must never reach this one's tap. The
sync gets only:

- the system's basics (``PATH``, ``HOME``, locale, time zone, temporary folder, TLS
  certificates, proxies);
- Meltano's own (``MELTANO_*``: system database, environment, project root);
- its loader's (``TARGET_POSTGRES_*`` for ``target-postgres``);
- its own extractor's (``TAP_EDGES__<NAME>_*``) and its own key (``api_key_env``).

Only the standard library: tested in the tap's venv, used by the code location's.
"""

from __future__ import annotations

import re
import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from edges_orchestrate.workspaces import Workspace

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
