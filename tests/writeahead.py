"""The write-ahead rule, checked on the tap as it runs (the installed CLI, in its own process).

Every launch and continue is written into a STATE before it is sent, so that a tap killed while
it waits for the answer is followed by a sync that adopts the run instead of paying for another.
:class:`Watch` makes the sandbox look, each time it has applied a launch or a continue, at the
last STATE the tap had written to its stdout (a file, written through as the tap's writer does)
and records whether that STATE already named the request: the pending launch with the token in
the run's name (or, for a launch sent without a name, a pending launch marked unnamed) and the
cap sent, or the pending continue of that run. It can also kill the tap at a chosen request,
once Edges applied it: the answer is then lost, as when a process dies while waiting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import signal
import subprocess
import threading
import time
import typing as t

from tapkit import STDOUT, TAP, TapRun, tap_args

from tap_edges.actions import ACTIONS
from tap_edges.runs.partitions import token_of

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from edges_sandbox import Sandbox
    from edges_sandbox.wire import Request, Response

STREAM_OF_ACTION = {spec.action: spec.stream for spec in ACTIONS}
LAUNCH = re.compile(r"^/v1/actions/([^/]+)/run/async$")
CONTINUE = re.compile(r"^/v1/runs/([^/]+)/continue$")


@dataclasses.dataclass(frozen=True)
class Send:
    """A launch or continue the sandbox applied.

    Attributes:
        kind: ``launch`` or ``continue``.
        stream: The stream whose partition it is for (launches; None for continues).
        identity_id: The launch's identity (launches).
        inputs: The launch's input object (launches).
        named: Whether the launch carried a name.
        run_uid: The run continued, or the run the launch created.
        status: The HTTP status Edges answered.
        problem: Why the last STATE before it did not name it, or None.
    """

    kind: str
    stream: str | None
    identity_id: str | None
    inputs: dict[str, t.Any]
    named: bool
    run_uid: str | None
    status: int
    problem: str | None


def last_state(path: Path) -> dict[str, t.Any] | None:
    """The last whole STATE line written to a Singer output file (None: no STATE yet)."""
    state = None
    for line in path.read_bytes().split(b"\n")[:-1]:  # the last piece is cut or empty
        message = json.loads(line)
        if message.get("type") == "STATE":
            state = message["value"]
    return state


def partitions(state: dict[str, t.Any], stream: str) -> list[dict[str, t.Any]]:
    """The partition bookmarks of one stream in a Singer state."""
    return list(state.get("bookmarks", {}).get(stream, {}).get("partitions", []))


def launch_problem(
    state: dict[str, t.Any] | None, stream: str, body: dict[str, t.Any]
) -> str | None:
    """Why ``state`` does not name this launch as pending, or None when it does."""
    identity, inputs = body["identity_ids"][0], body["inputs"][0]
    if state is None:
        return f"a {stream} launch was sent before any STATE"
    found = [
        p
        for p in partitions(state, stream)
        if p["context"].get("identity_id") == identity
        and all(p["context"].get(k) == v for k, v in inputs.items())
    ]
    if len(found) != 1:
        return f"a {stream} launch for {identity} {inputs} has no partition in the STATE"
    pending = found[0].get("edges_pending") or {}
    name = body.get("name")
    wanted = {
        "op": "launch",
        "token": token_of(name) if name else pending.get("token"),
        "named": bool(name),
        "max_results": body["parameters"]["max_results"],
    }
    seen = {**pending, "named": pending.get("named") is not False}
    if any(seen.get(k) != v for k, v in wanted.items()):
        return f"a {stream} launch {wanted} was sent while the STATE said {pending}"
    return None


def continue_problem(state: dict[str, t.Any] | None, uid: str) -> str | None:
    """Why ``state`` does not name the continue of run ``uid`` as pending, or None."""
    if state is None:
        return f"run {uid} was continued before any STATE"
    for stream in state.get("bookmarks", {}):
        for p in partitions(state, stream):
            if p.get("edges_run_uid") == uid:
                if (p.get("edges_pending") or {}).get("op") == "continue":
                    return None
                return f"run {uid} was continued while the STATE said {p.get('edges_pending')}"
    return f"run {uid} was continued while no partition of the STATE owned it"


@dataclasses.dataclass
class Watch:
    """Watches one tap process at a time through the sandbox's observer.

    Attributes:
        sandbox: The sandbox the tap talks to (its observer is this watch's).
        workdir: Where the tap's config, state, stdout and stderr go.
        sends: Every launch and continue applied, in order, across runs.
    """

    sandbox: Sandbox
    workdir: Path
    stdout: Path | None = None  # the tap's stdout (default: workdir / "watched-stdout.jsonl")
    sends: list[Send] = dataclasses.field(default_factory=list)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    _process: subprocess.Popen[bytes] | None = None
    _kill_when: Callable[[Send], bool] | None = None
    _also: Callable[[Request, Response], None] | None = None
    killed: bool = False

    def __post_init__(self) -> None:
        """Become the sandbox's observer."""
        if self.stdout is None:
            self.stdout = self.workdir / "watched-stdout.jsonl"
        self.sandbox.requests.observer = self._observe

    def problems(self) -> list[str]:
        """Every send the STATE before it did not name."""
        return [s.problem for s in self.sends if s.problem is not None]

    def run(  # noqa: PLR0913
        self,
        config: dict[str, t.Any],
        *,
        state: dict[str, t.Any] | None = None,
        kill_when: Callable[[Send], bool] | None = None,
        kill_after_lines: int | None = None,
        also: Callable[[Request, Response], None] | None = None,
        timeout: float = 180,
    ) -> TapRun:
        """Run the tap once; kill it (SIGKILL) at the first send ``kill_when`` picks.

        Args:
            config: The tap's config.
            state: The state handed to the tap, if any.
            kill_when: Picks the applied send at which the tap is killed.
            kill_after_lines: Kill the tap once it wrote this many lines; only these reach the
                target (what the tap wrote after them is cut off, as by a kill at that line).
            also: Called with every API request once applied (after the check).
            timeout: Seconds the tap may take.

        Returns:
            What the tap wrote (what reached the target), as far as whole lines go.
        """
        assert self.stdout is not None
        command = [TAP, *tap_args(config, self.workdir, state=state)]
        stderr_path = self.workdir / "watched-stderr.log"
        self._kill_when, self._also, self.killed = kill_when, also, False
        with self.stdout.open("wb") as out, stderr_path.open("wb") as err:
            process = subprocess.Popen(command, stdout=out, stderr=err)
            with self._lock:
                self._process = process
            try:
                code = self._wait(process, kill_after_lines, time.monotonic() + timeout)
            finally:
                with self._lock:
                    self._process = None
                if process.poll() is None:
                    process.kill()
                    process.wait()
        lines = self.stdout.read_bytes().split(b"\n")[:-1][:kill_after_lines]
        stdout = "".join(line.decode() + "\n" for line in lines)
        return TapRun(code, stdout, stderr_path.read_text(encoding="utf-8"))

    def _wait(self, process: subprocess.Popen[bytes], lines: int | None, deadline: float) -> int:
        """Wait for the tap; kill it once it wrote ``lines`` lines."""
        assert self.stdout is not None
        while (code := process.poll()) is None:
            if lines is not None and self.stdout.read_bytes().count(b"\n") >= lines:
                with self._lock:
                    process.send_signal(signal.SIGKILL)
                    self.killed = True
                return process.wait()
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(TAP, deadline)
            time.sleep(0.005)
        return code

    def _observe(self, request: Request, response: Response) -> None:
        send = self._send(request, response)
        if send is not None:
            with self._lock:
                self.sends.append(send)
                if self._process is not None and self._kill_when and self._kill_when(send):
                    self._process.send_signal(signal.SIGKILL)
                    self._process.wait()
                    self._process, self._kill_when, self.killed = None, None, True
        if self._also is not None:
            self._also(request, response)

    def _send(self, request: Request, response: Response) -> Send | None:
        launch, resumed = LAUNCH.match(request.path), CONTINUE.match(request.path)
        if request.method != "POST" or not (launch or resumed):
            return None
        answer = response.body if isinstance(response.body, dict) else {}
        assert self.stdout is not None
        if not self.stdout.exists():  # a tap this watch does not follow (no run_tap)
            return None
        state = last_state(self.stdout)
        if resumed:
            uid = resumed.group(1)
            return Send("continue", None, None, {}, False, uid, response.status,
                        continue_problem(state, uid))  # fmt: skip
        assert launch is not None
        stream, body = STREAM_OF_ACTION[launch.group(1)], request.json_object()
        uid = answer.get("run_uid")
        return Send("launch", stream, body["identity_ids"][0], body["inputs"][0],
                    "name" in body, uid if isinstance(uid, str) else None, response.status,
                    launch_problem(state, stream, body))  # fmt: skip


def runs_of(sandbox: Sandbox, stream: str, identity_id: str, **inputs: str) -> list[str]:
    """The uids of the runs Edges holds for one partition, oldest first."""
    action = next(spec.action for spec in ACTIONS if spec.stream == stream)
    return [
        uid
        for uid, run in sandbox.engine.runs.items()
        if run.action_name == action
        and run.identity_id == identity_id
        and all(run.input.get(k) == v for k, v in inputs.items())
    ]


@contextlib.contextmanager
def watched(sandbox: Sandbox, workdir: Path) -> Iterator[Watch]:
    """Check the write-ahead rule at every send of the taps ``tapkit.run_tap`` runs in workdir.

    Raises:
        AssertionError: At the end, naming every send the STATE before it did not name.
    """
    watch = Watch(sandbox, workdir, stdout=workdir / STDOUT)
    yield watch
    sandbox.requests.observer = None
    assert watch.problems() == [], watch.problems()
