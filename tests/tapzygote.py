"""A process that has imported the tap once and forks a ``tap-edges`` run per request.

Started by tests/forktap.py with the venv's Python. Each request (a JSON line on stdin: the
arguments, the working folder, the whole environment and the files for stdout and stderr) gets
a forked child that sets them up as a new process would have them and runs the tap's
command-line entry point, exactly as the ``tap-edges`` script does; the zygote answers with the
child's pid, then with its exit status once it ended (``subprocess``'s convention: a negative
number for a signal). What a child does not pay is the interpreter's start and the import of
singer-sdk and the tap, about 0.7 s of CPU, which most of the suite's CPU time was.

Single-threaded (nothing here starts a thread before forking), one request at a time.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import threading
import traceback

from tap_edges.tap import TapEdges


def child(request: dict[str, object]) -> None:
    """In the forked child: become the requested run, run the tap, exit with its code."""
    code = 1
    try:
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update(t_dict(request["env"]))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.argv = ["tap-edges", *t_list(request["args"])]
        try:
            sys.exit(TapEdges.cli())
        except SystemExit as done:
            code = exit_code(done.code)
        except BaseException:  # noqa: BLE001 - what the interpreter does with an uncaught one
            traceback.print_exc()
            code = 1
        # What the interpreter does at a normal exit: wait for the non-daemon threads, then
        # run the atexit functions.
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # the fd may be closed: nothing to flush
                stream.flush()
        os._exit(code)


def exit_code(code: object) -> int:
    """The status ``sys.exit(code)`` gives a process."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def t_dict(value: object) -> dict[str, str]:
    assert isinstance(value, dict)
    return {str(k): str(v) for k, v in value.items()}


def t_list(value: object) -> list[str]:
    assert isinstance(value, list)
    return [str(v) for v in value]


def main() -> None:
    """Serve requests until stdin closes."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(request)
        answers.write(f"{pid}\n")
        _, status = os.waitpid(pid, 0)
        answers.write(f"{os.waitstatus_to_exitcode(status)}\n")


if __name__ == "__main__":
    main()
