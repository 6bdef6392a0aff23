"""Runs of ``tap-edges`` forked from a process that imported the tap once (tests/tapzygote.py).

A run is still a process of its own (its own pid, working folder, environment, stdout and
stderr, exit status, the tap's own entry point), only without the interpreter's start and the
import of singer-sdk and the tap that every ``tap-edges`` process pays: about 0.7 s of CPU per
run, most of the suite's CPU time. Each xdist worker starts its zygote on first use. A run
asked for while the worker's zygote is busy (from another thread) is a plain subprocess, and so
is every run when ``TAP_EDGES_TEST_SUBPROCESS=1``. Runs that a test streams, signals or kills
use ``subprocess.Popen`` and are not forked here.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import typing as t
from pathlib import Path

ZYGOTE = Path(__file__).with_name("tapzygote.py")


class Zygote:
    """The worker's zygote: one run at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ZYGOTE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lock = threading.Lock()

    def run(
        self,
        args: t.Sequence[str],
        cwd: Path,
        env: dict[str, str],
        timeout: float,
        stdout: Path | None = None,
    ) -> tuple[int, str, str]:
        """Fork a run; its exit status, stdout and stderr. Raises TimeoutExpired as ``run``."""
        with tempfile.TemporaryDirectory() as tmp:
            out, err = stdout or Path(tmp, "stdout"), Path(tmp, "stderr")
            request = {"args": list(args), "cwd": str(cwd), "env": env}
            assert self.process.stdin is not None
            self.process.stdin.write(
                json.dumps({**request, "stdout": str(out), "stderr": str(err)}) + "\n"
            )
            pid = int(self.answer(None))
            try:
                code = int(self.answer(timeout))
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self.answer(None)
                raise
            return code, out.read_text(), err.read_text()

    def answer(self, timeout: float | None) -> str:
        assert self.process.stdout is not None
        if timeout is not None:
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired(["tap-edges"], timeout)
        line = self.process.stdout.readline()
        assert line, f"the tap zygote ended (status {self.process.poll()})"
        return line.strip()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


_zygote: Zygote | None = None
_starting = threading.Lock()


def zygote() -> Zygote | None:
    """This process's zygote (started now if needed), or None when runs are not forked."""
    global _zygote  # noqa: PLW0603 - one per process
    if os.environ.get("TAP_EDGES_TEST_SUBPROCESS") == "1":
        return None
    with _starting:
        if _zygote is None or _zygote.process.poll() is not None:
            _zygote = Zygote()
            atexit.register(_zygote.close)
        return _zygote


def run_tap_command(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    stdout: Path | None = None,
) -> tuple[int, str, str]:
    """``tap-edges`` with these arguments (``command[0]`` is the tap): forked when it can be.

    ``stdout``: a file the tap writes its stdout to as it runs (so that a test can read it while
    the tap runs); it is also returned, as a string.
    """
    forker = zygote()
    if forker is not None and forker.lock.acquire(blocking=False):
        try:
            return forker.run(command[1:], cwd, env, timeout, stdout)
        finally:
            forker.lock.release()
    if stdout is None:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
        )
        return done.returncode, done.stdout, done.stderr
    with stdout.open("wb") as out:
        written = subprocess.run(
            command, stdout=out, stderr=subprocess.PIPE, timeout=timeout, check=False, cwd=cwd,
            env=env,
        )  # fmt: skip
    return written.returncode, stdout.read_text(encoding="utf-8"), written.stderr.decode()
