"""A local PostgreSQL server kept in a folder, for ./scripts/orchestrate.

``localpg.py start DIR`` initialises the server in DIR the first time (installing PostgreSQL
with apt-get where its binaries are missing, as tests/pgserver.py does), starts it unless it is
running, and prints ``<host> <port>``; ``localpg.py stop DIR`` stops it. Trust authentication
on 127.0.0.1 only, user ``postgres``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pgserver import USER, _Cluster, free_port, install_postgres


def start(root: Path) -> str:
    """Start (initialising if needed) the server in ``root``; its host and port."""
    cluster = _Cluster(install_postgres(), root)
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, USER, USER)
    port_file = root / "port"
    if not cluster.data.exists():
        cluster.run("initdb", "-D", str(cluster.data), "-U", USER, "--auth=trust", "-E", "UTF8")
        port_file.write_text(str(free_port()), encoding="ascii")
    port = port_file.read_text(encoding="ascii").strip()
    if not (cluster.data / "postmaster.pid").exists():
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root}"
        log = str(root / "server.log")
        cluster.run("pg_ctl", "-D", str(cluster.data), "-o", options, "-l", log, "-w", "start")
    return f"127.0.0.1 {port}"


def stop(root: Path) -> None:
    """Stop the server in ``root`` if it runs."""
    cluster = _Cluster(install_postgres(), root)
    if (cluster.data / "postmaster.pid").exists():
        cluster.run("pg_ctl", "-D", str(cluster.data), "-m", "fast", "-w", "stop")


def main(argv: list[str]) -> int:
    """Start DIR | stop DIR."""
    action, root = argv[0], Path(argv[1]).resolve()
    if action == "start":
        print(start(root))
    else:
        stop(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
