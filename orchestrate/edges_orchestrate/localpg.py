"""A local PostgreSQL server in a folder: ./scripts/orchestrate's, and the tests' throwaway ones.

Installs PostgreSQL with apt-get where its binaries are missing (a fresh machine, CI), then runs
``initdb`` and ``pg_ctl`` as the ``postgres`` user when run as root (PostgreSQL refuses to run
as root). That user must reach the server's folder: every folder above it must let it pass.
A clone in a folder only root can enter (a home of mode 700, ``mktemp -d``) does not, so there
the server keeps its files in a folder of its own under the server user's home, named after
the folder asked for (``server_root``), and the folder asked for records where (``location``).

Only the standard library: run by the system's ``python3`` (scripts/localpg.py) before any
venv exists, and imported by the tests (tests/pgserver.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

APT_TIMEOUT = 900
USER = "postgres"
LOCATION_FILE = "location"


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and psql, newest version first."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    on_path = shutil.which("initdb")
    found = str(candidates[0]) if candidates else on_path
    return Path(found).resolve().parent if found else None


def apt_install(package: str) -> None:
    """Install one Debian package (sudo when not root).

    Raises:
        RuntimeError: apt-get failed.
    """
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Two installs at once (PostgreSQL and Redis, from two tests) wait for dpkg's lock.
    wait = ["-o", f"DPkg::Lock::Timeout={APT_TIMEOUT}"]
    for command in (["apt-get", *wait, "update"], ["apt-get", *wait, "install", "-y", package]):
        done = subprocess.run(
            [*sudo, *command],
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT,
            check=False,
            env=env,
        )
        if done.returncode != 0:
            msg = f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"
            raise RuntimeError(msg)


def install_postgres() -> Path:
    """Find the PostgreSQL binaries, installing Debian's postgresql package if needed.

    Raises:
        RuntimeError: It cannot be installed.
    """
    bindir = find_bindir()
    if bindir is not None:
        return bindir
    apt_install("postgresql")
    bindir = find_bindir()
    if bindir is None:
        msg = "apt-get installed postgresql but initdb is nowhere to be found"
        raise RuntimeError(msg)
    return bindir


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def as_server_user(command: list[str]) -> list[str]:
    """Run as ``postgres`` when root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", USER, "--", *command] if os.geteuid() == 0 else command


def server_user_reaches(folder: Path) -> bool:
    """Whether the server user can enter and write ``folder`` (always, when not root)."""
    if os.geteuid() != 0:
        return True
    probe = as_server_user(
        ["test", "-d", str(folder), "-a", "-x", str(folder), "-a", "-w", str(folder)]
    )
    return subprocess.run(probe, capture_output=True, check=False, timeout=30).returncode == 0


def own_folder(folder: Path) -> None:
    """Make ``folder`` (and nothing above it) the server user's, when root."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, USER, USER)


def fallback_base() -> Path:
    """A folder of the server user's own (its home), for servers whose folder it cannot reach."""
    home = Path(pwd.getpwnam(USER).pw_dir)
    base = home / "tap-edges"
    own_folder(base)
    base.chmod(0o700)
    return base


def server_root(wanted: Path) -> Path:
    """Where the server of ``wanted`` keeps its files.

    ``wanted`` itself when the server user reaches it, else a folder under the server user's
    home named after ``wanted`` (the same every time), whose path ``wanted/location`` records.
    """
    own_folder(wanted)
    if server_user_reaches(wanted):
        return wanted
    digest = hashlib.sha256(str(wanted.resolve()).encode()).hexdigest()[:16]
    root = fallback_base() / f"pg-{digest}"
    own_folder(root)
    (wanted / LOCATION_FILE).write_text(f"{root}\n", encoding="utf-8")
    return root


def temporary_root(prefix: str = "tap-edges-pg-") -> Path:
    """A new empty folder for a throwaway server, reachable by the server user."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    own_folder(root)
    if server_user_reaches(root):
        return root
    root.rmdir()
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=fallback_base()))
    own_folder(root)
    return root


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A PostgreSQL cluster in a folder: ``data/``, ``server.log``, its socket."""

    bindir: Path
    root: Path

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.root / "data"

    @property
    def running(self) -> bool:
        """Whether its postmaster runs (its pid file is there)."""
        return (self.data / "postmaster.pid").exists()

    def run(self, *args: str) -> None:
        """Run one of PostgreSQL's programs as the server user.

        Raises:
            RuntimeError: It failed.
        """
        done = subprocess.run(
            as_server_user([str(self.bindir / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            msg = f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"
            raise RuntimeError(msg)

    def init(self) -> None:
        """``initdb``: trust authentication, user ``postgres``."""
        self.run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8")

    def start(self, port: int, *settings: str) -> None:
        """Start it on 127.0.0.1:``port`` (settings: ``name=value``), its socket in its root."""
        options = " ".join(
            [f"-p {port} -c listen_addresses=127.0.0.1 -k {self.root}"]
            + [f"-c {setting}" for setting in settings]
        )
        log = str(self.root / "server.log")
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """Stop it (fast: open sessions are ended)."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")


def start(wanted: Path) -> tuple[str, int]:
    """Start (initialising if needed) the server kept for ``wanted``; its host and port."""
    cluster = Cluster(install_postgres(), server_root(wanted))
    port_file = cluster.root / "port"
    if not cluster.data.exists():
        cluster.init()
        port_file.write_text(str(free_port()), encoding="ascii")
    port = int(port_file.read_text(encoding="ascii").strip())
    if not cluster.running:
        cluster.start(port)
    return "127.0.0.1", port


def running(wanted: Path) -> bool:
    """Whether the server kept for ``wanted`` runs."""
    return Cluster(install_postgres(), server_root(wanted)).running


def stop(wanted: Path) -> None:
    """Stop the server kept for ``wanted`` if it runs."""
    cluster = Cluster(install_postgres(), server_root(wanted))
    if cluster.running:
        cluster.stop()
