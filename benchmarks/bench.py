"""Benchmark of tap-edges against the bundled Edges sandbox, which runs in its own process.

Run from the repository root after ``./scripts/test`` (or ``pip install -e .[dev]``)::

    .venv/bin/python benchmarks/bench.py            # about three minutes
    .venv/bin/python benchmarks/bench.py --quick    # smaller figures, under a minute

It prints machine-independent figures (ratios, not seconds):

1. wall time of a sync of 50 post partitions whose runs take D seconds, divided by D
   (a tap that waited for each run in turn would score about 50);
2. records per second emitted by the tap, divided by those of a bare loop that reads the same
   output pages with requests and writes Singer RECORD lines with orjson;
3. ``/v1/runs*`` requests of that sync divided by their lower bound: one continue per
   partition, one poll round per poll interval per 100 runs, and the output pages;
4. peak RSS of the tap process for 10k and for 1M records (it must not grow with them).

The tap is the installed ``tap-edges`` command, run as a subprocess exactly as an orchestrator
would; its stdout is read through a pipe. ``bench.py bare ...`` is the reference loop.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from multiprocessing.connection import Connection

TAP = str(Path(sys.executable).with_name("tap-edges"))
STREAM = "post_commenters"
ACTION = "linkedin-extract-post-commenters"
RECORD_MARK = b'"type":"RECORD"'
PAGE_SIZE = 500
LIST_RUNS_MAX = 100


# -- the sandbox, in a process of its own ------------------------------------------------------


def _host(conn: Connection, run_seconds: float) -> None:
    """Serve a sandbox and run the commands the benchmark sends (child process)."""
    from tap_edges.sandbox import Sandbox  # noqa: PLC0415 (the child's own import)

    with Sandbox(run_seconds=run_seconds) as sandbox:
        sandbox.max_results_limit = 10_000_000
        conn.send((sandbox.base_url, sandbox.api_key))
        while True:
            command, name, args, kwargs = conn.recv()
            if command == "stop":
                return
            if command == "set":
                setattr(sandbox, name, args[0])
                conn.send(None)
            else:
                conn.send(getattr(sandbox, name)(*args, **kwargs))


class SandboxHost:
    """A sandbox in a child process, driven through a pipe."""

    def __init__(self, run_seconds: float) -> None:
        """Start the child process and wait until the sandbox serves."""
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_host, args=(child, run_seconds), daemon=True)
        self._process.start()
        self.base_url, self.api_key = self._conn.recv()

    def call(self, name: str, *args: t.Any, **kwargs: t.Any) -> t.Any:  # noqa: ANN401
        """Call a method of the sandbox and return its answer."""
        self._conn.send(("call", name, args, kwargs))
        return self._conn.recv()

    def set(self, name: str, value: object) -> None:
        """Set an attribute of the sandbox."""
        self._conn.send(("set", name, (value,), {}))
        self._conn.recv()

    def close(self) -> None:
        """Stop the sandbox and its process."""
        self._conn.send(("stop", "", (), {}))
        self._process.join(timeout=30)


@contextlib.contextmanager
def sandbox_host(run_seconds: float) -> Iterator[SandboxHost]:
    """A sandbox process for the duration of a block."""
    host = SandboxHost(run_seconds)
    try:
        yield host
    finally:
        host.close()


# -- running the tap (or the bare loop) and watching its output --------------------------------


@dataclasses.dataclass
class Outcome:
    """What one process did: exit code, wall time, RECORD lines and their timing, peak RSS."""

    returncode: int
    wall: float
    records: int
    first_record: float
    last_record: float
    peak_rss_mb: float
    last_state: dict[str, t.Any] | None

    @property
    def records_per_second(self) -> float:
        """RECORD lines per second between the first and the last one."""
        return self.records / max(self.last_record - self.first_record, 1e-9)


class _StdoutWatcher:
    """Reads a pipe in big chunks: counts RECORD lines, notes when they came, keeps STATE."""

    def __init__(self, stream: t.IO[bytes]) -> None:
        self.records, self.first, self.last = 0, 0.0, 0.0
        self.last_state: dict[str, t.Any] | None = None
        self._stream, self._tail = stream, b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        reader = t.cast("t.Any", self._stream)
        while chunk := reader.read1(1 << 20):
            now, data = time.perf_counter(), self._tail + chunk
            found = data.count(RECORD_MARK) - self._tail.count(RECORD_MARK)
            if found:
                self.first = self.first or now
                self.records, self.last = self.records + found, now
            self._note_state(data)
            self._tail = data[-4096:]

    def _note_state(self, data: bytes) -> None:
        start = data.rfind(b'{"type":"STATE"')
        end = data.find(b"\n", start)
        if start >= 0 and end > start:
            self.last_state = json.loads(data[start:end])["value"]


class _PeakMemory:
    """Polls a process's own high-water RSS (``VmHWM``) until it exits.

    Not ``wait4``'s ``ru_maxrss``: on Linux a child started by vfork or fork inherits its
    parent's high-water mark, so small children would all look as big as the benchmark.
    """

    def __init__(self, pid: int) -> None:
        self.peak_kb = 0
        self._path = Path(f"/proc/{pid}/status")
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                status = self._path.read_text(encoding="ascii")
            except OSError:
                return
            lines = [line for line in status.splitlines() if line.startswith("VmHWM:")]
            if not lines:
                return  # a zombie: its memory is gone
            self.peak_kb = max(self.peak_kb, int(lines[0].split()[1]))
            time.sleep(0.02)


def run_process(command: list[str]) -> Outcome:
    """Run a command, watching its stdout; its stderr goes to a temporary file."""
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        # The same stdout buffering for every process, whatever the caller's environment says.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=env)
        watcher = _StdoutWatcher(t.cast("t.IO[bytes]", process.stdout))
        memory = _PeakMemory(process.pid)
        _, status, _ = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        watcher.thread.join()
        memory.thread.join()
        t.cast("t.IO[bytes]", process.stdout).close()
        if process.returncode != 0:
            stderr.seek(0)
            sys.stderr.write(stderr.read().decode("utf-8", "replace")[-4000:])
    return Outcome(
        returncode=process.returncode,
        wall=wall,
        records=watcher.records,
        first_record=watcher.first - started,
        last_record=watcher.last - started,
        peak_rss_mb=memory.peak_kb / 1024,
        last_state=watcher.last_state,
    )


class Workdir:
    """Config, catalog and state files of the tap for one benchmark."""

    def __init__(self, path: Path, host: SandboxHost, post_urls: list[str]) -> None:
        """Write a config (one identity, these posts) and a catalog selecting one stream."""
        from tap_edges.sandbox import ENGAGEMENT_IDENTITY_IDS  # noqa: PLC0415

        self.path, self.host = path, host
        self.config = {
            "api_url": host.base_url,
            "api_key": host.api_key,
            "identity_ids": [ENGAGEMENT_IDENTITY_IDS[0]],
            "post_urls": post_urls,
            "thread_urls": [],
            "runs_requests_per_minute": 1_000_000,
            "poll_interval_seconds": 1,
        }
        self.state: dict[str, t.Any] | None = None

    def sync(self, **config: float) -> Outcome:
        """Run one sync of the selected stream, from the state the last sync left."""
        config_path = self.path / "config.json"
        config_path.write_text(json.dumps({**self.config, **config}), encoding="utf-8")
        command = [TAP, "--config", str(config_path), "--catalog", str(self._catalog())]
        if self.state is not None:
            state_path = self.path / "state.json"
            state_path.write_text(json.dumps(self.state), encoding="utf-8")
            command += ["--state", str(state_path)]
        outcome = run_process(command)
        if outcome.returncode != 0:
            msg = f"tap-edges exited with {outcome.returncode}"
            raise RuntimeError(msg)
        self.state = outcome.last_state
        return outcome

    def _catalog(self) -> Path:
        path = self.path / "catalog.json"
        if not path.exists():
            config_path = self.path / "config.json"
            found = subprocess.run(
                [TAP, "--config", str(config_path), "--discover"],
                capture_output=True,
                check=True,
            )
            catalog = json.loads(found.stdout)
            for entry in catalog["streams"]:
                for item in entry["metadata"]:
                    if item["breadcrumb"] == []:
                        item["metadata"]["selected"] = entry["tap_stream_id"] == STREAM
            path.write_text(json.dumps(catalog), encoding="utf-8")
        return path


def post_urls(count: int) -> list[str]:
    """Distinct LinkedIn post URLs (the partitions of a post stream)."""
    return [
        f"https://www.linkedin.com/posts/bench_post-activity-{7300000000000000000 + i}-bnch"
        for i in range(count)
    ]


def grow(host: SandboxHost, urls: list[str], n: int) -> None:
    """Add n items to the post feed of each URL, cheaply (1000 distinct ones repeated)."""
    for url in urls:
        host.call("grow", n=n, action=ACTION, input=url, distinct=1000)


# -- the figures -------------------------------------------------------------------------------


def concurrency(run_seconds: float, poll_interval: int) -> dict[str, float]:
    """Figures 1 and 3: a continuing sync of 50 partitions whose runs take run_seconds."""
    urls = post_urls(50)
    with sandbox_host(0.5) as host, tempfile.TemporaryDirectory() as tmp:
        work = Workdir(Path(tmp), host, urls)
        work.sync(max_results=100)  # launches every run
        grow(host, urls, 5)
        host.set("run_seconds", run_seconds)
        host.call("clear_request_log")
        outcome = work.sync(max_results=100, poll_interval_seconds=poll_interval)
        log = [e for e in host.call("request_log") if e["path"].startswith("/v1/runs")]
        runs = host.call("runs")
    continues = sum(1 for e in log if e["path"].endswith("/continue"))
    pages = sum(max(1, math.ceil(run["output_count"] / PAGE_SIZE)) for run in runs)
    rounds = math.ceil(run_seconds / poll_interval) * math.ceil(len(runs) / LIST_RUNS_MAX)
    bound = continues + rounds + pages
    return {
        "partitions": len(runs),
        "wall_over_run": outcome.wall / run_seconds,
        "requests": len(log),
        "bound": bound,
        "requests_over_bound": len(log) / bound,
    }


def throughput(records: int, repeats: int) -> dict[str, float]:
    """Figure 2: records/s of the tap over records/s of the bare loop, same pages (best of n).

    Each round runs a first sync (which launches a run and reads every item of the feed),
    then the bare loop over that run's output pages.
    """
    urls = post_urls(1)
    taps, bares = [], []
    with sandbox_host(0.3) as host, tempfile.TemporaryDirectory() as tmp:
        grow(host, urls, records)
        work = Workdir(Path(tmp), host, urls)
        for _ in range(repeats):
            work.state = None
            taps.append(work.sync(max_results=records + 1000))
            uid = host.call("runs")[-1]["uid"]
            command = [sys.executable, __file__, "bare", host.base_url, host.api_key, STREAM, uid]
            bares.append(run_process(command))
    tap = max(outcome.records_per_second for outcome in taps)
    reference = max(outcome.records_per_second for outcome in bares)
    return {
        "records": taps[0].records,
        "tap_per_s": tap,
        "bare_per_s": reference,
        "ratio": tap / reference,
    }


def memory(partitions: int, per_partition: int) -> dict[str, float]:
    """Figure 4: peak RSS of the tap emitting partitions x per_partition records."""
    urls = post_urls(partitions)
    with sandbox_host(0.3) as host, tempfile.TemporaryDirectory() as tmp:
        grow(host, urls, per_partition)
        outcome = Workdir(Path(tmp), host, urls).sync(max_results=per_partition + 1000)
    return {"records": outcome.records, "peak_rss_mb": outcome.peak_rss_mb, "wall": outcome.wall}


# -- the bare reference loop -------------------------------------------------------------------


def bare(base_url: str, api_key: str, stream: str, run_uids: list[str]) -> None:
    """Read every output page of the runs with requests; write RECORD lines with orjson."""
    import orjson  # noqa: PLC0415 (a dev dependency, only for this loop)
    import requests  # noqa: PLC0415

    out = sys.stdout.buffer
    with requests.Session() as session:
        session.headers["X-API-Key"] = api_key
        for uid in run_uids:
            url: str | None = f"{base_url}/runs/{uid}/outputs?limit={PAGE_SIZE}"
            while url:
                response = session.get(url, timeout=60)
                response.raise_for_status()
                for item in response.json():
                    message = {"type": "RECORD", "stream": stream, "record": item}
                    out.write(orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE))
                url = response.headers.get("X-Pagination-Next")
    out.flush()


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the figures (or run the bare loop)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster figures")
    parser.add_argument("mode", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mode and args.mode[0] == "bare":
        base_url, api_key, stream, *uids = args.mode[1:]
        bare(base_url, api_key, stream, uids)
        return 0
    run_seconds, interval = (6.0, 1) if args.quick else (20.0, 2)
    emitted = 50_000 if args.quick else 200_000
    large = (4, 25_000) if args.quick else (4, 250_000)
    print(f"50 partitions, runs of D={run_seconds:g}s, poll_interval_seconds={interval:g}")
    report(
        "1+3. wall/D (goal <= 1.3), requests/bound (goal <= 1.1)",
        concurrency(run_seconds, interval),
    )
    report("2. tap/bare records per second (goal >= 0.4)", throughput(emitted, repeats=3))
    report("4a. peak RSS, 10k records (goal: flat, < 200 MB)", memory(1, 10_000))
    report(f"4b. peak RSS, {large[0] * large[1]:,} records", memory(*large))
    return 0


def report(title: str, figures: dict[str, float]) -> None:
    """Print one benchmark's figures on one line."""
    shown = ", ".join(
        f"{name}={value:,.3f}" if isinstance(value, float) else f"{name}={value:,}"
        for name, value in figures.items()
    )
    print(f"{title}: {shown}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
