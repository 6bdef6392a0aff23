"""Benchmark of tap-edges against the bundled Edges sandbox, which runs in its own process.

Run from the repository root after ``./scripts/test`` (or ``pip install -e .[dev]``)::

    .venv/bin/python benchmarks/bench.py            # about twenty minutes
    .venv/bin/python benchmarks/bench.py --quick    # smaller figures, about nine minutes

It prints machine-independent figures (ratios and counts, rather than seconds):

1. wall time of a sync of 50 post partitions whose runs take D seconds, divided by D
   (a tap that waited for each run in turn would score about 50);
2. records per second emitted by the tap, divided by those of a bare loop that reads the same
   output pages with requests, parses them with orjson and writes Singer RECORD lines with
   orjson; the sandbox serves pre-encoded pages (``preencode_outputs``) so that its own JSON
   encoding bounds neither; also the tap's CPU time per record;
3. ``/v1/runs*`` requests of the sync of figure 1 divided by their lower bound: one continue
   per partition, one poll round per poll interval per 100 runs, and the output pages;
4. peak RSS of the tap process for 10k and for 1M records (it must not grow with them);
5. output requests per partition and sync on a 2,000-item history built by five real
   iterations, in each outputs layout the sandbox serves: for a sync with 5 new items right
   after the history (where a tap may learn the layout), for the next one (the steady state)
   and for a sync with nothing new;
6. wall time of a continuing sync of 50 partitions under a real budget (30 ``/v1/runs*``
   requests a minute, enforced by the sandbox) divided by the time that budget alone needs for
   the lower-bound requests, and the number of 429 answers;
7. 5,000 partitions (100 identities x 50 posts): peak RSS, CPU time per partition and sync,
   and the size of the last STATE message per partition, for the first sync and a continuing
   one.
8. N workspaces (8 x 50 partitions; --quick 4 x 20) through the Dagster code location at once
   on this machine (orchestrate/, benchmarks/orchestrated.py): wall time divided by the slowest
   workspace run alone (goal <= 1.5), and peak RSS per workspace (every process of the run,
   Dagster's step workers, Meltano, taps and targets, divided by N) and of the largest process;
   the CPU time (goal <= 3 s) and peak RSS of one workspace sync (its Pipes process, Meltano,
   the tap and the target).

The tap is the installed ``tap-edges`` command, run as a subprocess exactly as an orchestrator
would; its stdout is read through a pipe. ``bench.py bare ...`` is the reference loop.
Figures can be chosen by number, e.g. ``bench.py --quick 5 6``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
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
    from collections.abc import Callable, Iterator
    from multiprocessing.connection import Connection

TAP = str(Path(sys.executable).with_name("tap-edges"))
STREAM = "post_commenters"
ACTION = "linkedin-extract-post-commenters"
MESSAGES = "linkedin-extract-messages"
RECORD_MARK = b'"type":"RECORD"'
STATE_MARK = b'{"type":"STATE"'
PAGE_SIZE = 500
LIST_RUNS_MAX = 100
LAYOUTS = ("cumulative", "cumulative-newest", "latest")
BUDGET_WINDOW_SECONDS = 60.0


# -- the sandbox, in a process of its own ------------------------------------------------------


def _host(conn: Connection, run_seconds: float, options: dict[str, t.Any]) -> None:
    """Serve a sandbox and run the commands the benchmark sends (child process)."""
    from edges_sandbox import Sandbox  # noqa: PLC0415 (the child's own import)

    with Sandbox(run_seconds=run_seconds, **options) as sandbox:
        sandbox.settings.max_results_limit = 10_000_000
        conn.send((sandbox.base_url, sandbox.api_key))
        while True:
            command, name, args, kwargs = conn.recv()
            if command == "stop":
                return
            owner, _, attribute = name.rpartition(".")  # e.g. "settings.run_seconds"
            target = functools.reduce(getattr, owner.split(".") if owner else (), sandbox)
            if command == "set":
                setattr(target, attribute, args[0])
                conn.send(None)
            else:
                conn.send(getattr(target, attribute)(*args, **kwargs))


class SandboxHost:
    """A sandbox in a child process, driven through a pipe."""

    def __init__(self, run_seconds: float, **options: t.Any) -> None:  # noqa: ANN401
        """Start the child process and wait until the sandbox serves."""
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_host, args=(child, run_seconds, options), daemon=True
        )
        self._process.start()
        self.base_url, self.api_key = self._conn.recv()

    def call(self, name: str, *args: t.Any, **kwargs: t.Any) -> t.Any:  # noqa: ANN401
        """Call a method of the sandbox (a dotted path: ``backstage.runs``); return its answer."""
        self._conn.send(("call", name, args, kwargs))
        return self._conn.recv()

    def set(self, name: str, value: object) -> None:
        """Set an attribute of the sandbox (a dotted path, e.g. ``settings.run_seconds``)."""
        self._conn.send(("set", name, (value,), {}))
        self._conn.recv()

    def runs_log(self) -> list[dict[str, t.Any]]:
        """The ``/v1/runs*`` requests logged since the log was last cleared."""
        return [e for e in self.call("requests.entries") if e["path"].startswith("/v1/runs")]

    def peak_rss_mb(self) -> float:
        """The sandbox process's peak RSS so far."""
        return _vm_hwm_kb(t.cast("int", self._process.pid)) / 1024

    def close(self) -> None:
        """Stop the sandbox and its process."""
        self._conn.send(("stop", "", (), {}))
        self._process.join(timeout=30)


@contextlib.contextmanager
def sandbox_host(run_seconds: float, **options: t.Any) -> Iterator[SandboxHost]:  # noqa: ANN401
    """A sandbox process for the duration of a block (options go to ``Sandbox``)."""
    host = SandboxHost(run_seconds, **options)
    try:
        yield host
    finally:
        host.close()


def _vm_hwm_kb(pid: int) -> int:
    """A process's own high-water RSS in kB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0
    lines = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(lines[0].split()[1]) if lines else 0


# -- running the tap (or the bare loop) and watching its output --------------------------------


@dataclasses.dataclass
class Outcome:
    """What one process did: exit code, wall and CPU time, RECORD lines, peak RSS, STATE."""

    returncode: int
    wall: float
    cpu: float
    records: int
    first_record: float
    last_record: float
    peak_rss_mb: float
    last_state: dict[str, t.Any] | None
    state_bytes: int
    states: int
    stdout_bytes: int

    @property
    def records_per_second(self) -> float:
        """RECORD lines per second between the first and the last one."""
        return self.records / max(self.last_record - self.first_record, 1e-9)


class _StdoutWatcher:
    """Reads a pipe in big chunks: counts RECORD lines, notes when they came, keeps STATE."""

    def __init__(self, stream: t.IO[bytes]) -> None:
        self.records, self.first, self.last = 0, 0.0, 0.0
        self.states, self.total = 0, 0
        self.last_state_line = b""
        self._stream, self._partial = stream, b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        reader = t.cast("t.Any", self._stream)
        while chunk := reader.read1(1 << 20):
            now = time.perf_counter()
            self.total += len(chunk)
            end = chunk.rfind(b"\n")
            if end < 0:  # no line ends here (a big STATE on its way)
                self._partial += chunk
                continue
            lines, self._partial = self._partial + chunk[: end + 1], chunk[end + 1 :]
            found = lines.count(RECORD_MARK)
            if found:
                self.first = self.first or now
                self.records, self.last = self.records + found, now
            self._note_states(lines)

    def _note_states(self, lines: bytes) -> None:
        count = lines.count(STATE_MARK)
        if count:
            self.states += count
            start = lines.rfind(STATE_MARK)
            self.last_state_line = lines[start : lines.index(b"\n", start)]

    @property
    def last_state(self) -> dict[str, t.Any] | None:
        if not self.last_state_line:
            return None
        return t.cast("dict[str, t.Any]", json.loads(self.last_state_line)["value"])


class _PeakMemory:
    """Polls a process's own high-water RSS (``VmHWM``) until it exits.

    Not ``wait4``'s ``ru_maxrss``: on Linux a child started by vfork or fork inherits its
    parent's high-water mark, so small children would all look as big as the benchmark.
    """

    def __init__(self, pid: int) -> None:
        self.peak_kb = 0
        self._pid = pid
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while found := _vm_hwm_kb(self._pid):  # 0: gone, or a zombie whose memory is gone
            self.peak_kb = max(self.peak_kb, found)
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
        _, status, usage = os.wait4(process.pid, 0)
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
        cpu=usage.ru_utime + usage.ru_stime,
        records=watcher.records,
        first_record=watcher.first - started,
        last_record=watcher.last - started,
        peak_rss_mb=memory.peak_kb / 1024,
        last_state=watcher.last_state,
        state_bytes=len(watcher.last_state_line),
        states=watcher.states,
        stdout_bytes=watcher.total,
    )


class Workdir:
    """Config, catalog and state files of the tap for one benchmark."""

    def __init__(
        self,
        path: Path,
        host: SandboxHost,
        post_urls: list[str],
        identity_ids: list[str] | None = None,
        streams: tuple[str, ...] = (STREAM,),
    ) -> None:
        """Write a config (these identities, by default one; these posts) and a catalog."""
        from edges_sandbox import ENGAGEMENT_IDENTITY_IDS  # noqa: PLC0415

        self.path, self.host, self.streams = path, host, streams
        self.config = {
            "api_url": host.base_url,
            "api_key": host.api_key,
            "identity_ids": identity_ids or [ENGAGEMENT_IDENTITY_IDS[0]],
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
                        item["metadata"]["selected"] = entry["tap_stream_id"] in self.streams
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
        host.call("backstage.grow", n=n, action=ACTION, input=url, distinct=1000)


def output_requests(log: list[dict[str, t.Any]]) -> int:
    """How many ``GET /v1/runs/{uid}/outputs`` requests a request log holds."""
    return sum(1 for e in log if e["method"] == "GET" and e["path"].endswith("/outputs"))


# -- the figures -------------------------------------------------------------------------------


def concurrency(run_seconds: float, poll_interval: int) -> dict[str, float]:
    """Figures 1 and 3: a continuing sync of 50 partitions whose runs take run_seconds."""
    urls = post_urls(50)
    with sandbox_host(0.5) as host, tempfile.TemporaryDirectory() as tmp:
        work = Workdir(Path(tmp), host, urls)
        work.sync(max_results=100)  # launches every run
        grow(host, urls, 5)
        host.set("settings.run_seconds", run_seconds)
        host.call("requests.clear")
        outcome = work.sync(max_results=100, poll_interval_seconds=poll_interval)
        log = host.runs_log()
        runs = host.call("backstage.runs")
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

    The sandbox serves pre-encoded pages. Each round runs a first sync (which launches a run
    and reads every item of the feed), then the bare loop over that run's output pages. The
    tap's CPU time per record leaves out what a sync of one small partition costs (start-up).
    """
    urls = post_urls(1)
    taps, bares = [], []
    with sandbox_host(0.3, preencode_outputs=True) as host, tempfile.TemporaryDirectory() as tmp:
        grow(host, urls, records)
        work = Workdir(Path(tmp), host, urls)
        for _ in range(repeats):
            work.state = None
            taps.append(work.sync(max_results=records + 1000))
            uid = host.call("backstage.runs")[-1]["uid"]
            command = [sys.executable, __file__, "bare", host.base_url, host.api_key, STREAM, uid]
            bares.append(run_process(command))
        # Start-up and one small partition (a fresh 40-item feed): what is not per record.
        small = Path(tmp) / "small"
        small.mkdir()
        idle = Workdir(small, host, post_urls(2)[1:]).sync(max_results=1000)
    best = max(taps, key=lambda outcome: outcome.records_per_second)
    reference = max(outcome.records_per_second for outcome in bares)
    return {
        "records": best.records,
        "tap_per_s": best.records_per_second,
        "bare_per_s": reference,
        "ratio": best.records_per_second / reference,
        "tap_cpu_us_per_record": (best.cpu - idle.cpu) / (best.records - idle.records) * 1e6,
        "tap_cpu_s": best.cpu,
        "small_sync_cpu_s": idle.cpu,
    }


def memory(partitions: int, per_partition: int) -> dict[str, float]:
    """Figure 4: peak RSS of the tap emitting partitions x per_partition records."""
    urls = post_urls(partitions)
    with sandbox_host(0.3) as host, tempfile.TemporaryDirectory() as tmp:
        grow(host, urls, per_partition)
        outcome = Workdir(Path(tmp), host, urls).sync(max_results=per_partition + 1000)
    return {"records": outcome.records, "peak_rss_mb": outcome.peak_rss_mb, "wall": outcome.wall}


def history(
    layout: str, partitions: int, items: int = 2000, iterations: int = 5
) -> dict[str, float]:
    """Figure 5: output requests per partition-sync on an ``items``-item history.

    The history is built by real iterations of real runs, each read by a sync of the tap: a
    launch, then continues, each delivering ``items / iterations`` new items. Then three syncs
    are measured: 5 new items (the first after the history), 5 new items again (the steady
    state) and nothing new.
    """
    from edges_sandbox.catalog import ACTIONS  # noqa: PLC0415

    urls = post_urls(partitions)
    step = items // iterations
    with sandbox_host(0.3, outputs_mode=layout) as host, tempfile.TemporaryDirectory() as tmp:
        work = Workdir(Path(tmp), host, urls)
        grow(host, urls, step - ACTIONS[ACTION].initial_size)
        for index in range(iterations):
            if index:
                grow(host, urls, step)
            work.sync(max_results=1000)
        counts = {run["output_count"] for run in host.call("backstage.runs")}
        if layout != "latest" and counts != {items}:
            msg = f"the history should hold {items} items per run, not {sorted(counts)}"
            raise RuntimeError(msg)
        figures: dict[str, float] = {}
        for name, new in (("first", 5), ("steady", 5), ("nothing_new", 0)):
            grow(host, urls, new)
            host.call("requests.clear")
            outcome = work.sync(max_results=1000)
            figures[name] = output_requests(host.runs_log()) / partitions
            if outcome.records != new * partitions:
                msg = f"{layout}: {outcome.records} records for {new * partitions} new items"
                raise RuntimeError(msg)
    return {"partitions": partitions, **figures}


def budget_bound(continues: int, polls: int, pages: int, budget: int, run_seconds: float) -> float:
    """Seconds a budget of ``budget`` requests per sliding minute needs for these requests.

    Starting with an unused budget, request k (0-based) cannot start before minute k // budget.
    The last request is at best the last of all, and it cannot come before the last continued
    run has finished (it is read after a poll that sees it finished).
    """

    def slot(k: int) -> float:
        return BUDGET_WINDOW_SECONDS * (k // budget)

    last = slot(continues + polls + pages - 1)
    return max(last, slot(continues - 1) + run_seconds)


def budgeted(partitions: int, budget: int = 30, run_seconds: float = 2.0) -> dict[str, float]:
    """Figure 6: a continuing sync of 50 partitions under a budget the sandbox enforces.

    The runs are launched and read first without a budget; then 5 items are added to every
    feed and the budget is set on both sides (config and sandbox). The lower bound counts one
    continue per partition, one poll round (100 runs per request) and one output page per
    partition (each run has fewer than 500 new items).
    """
    urls = post_urls(partitions)
    with sandbox_host(0.5) as host, tempfile.TemporaryDirectory() as tmp:
        work = Workdir(Path(tmp), host, urls)
        work.sync(max_results=100)
        grow(host, urls, 5)
        host.set("settings.run_seconds", run_seconds)
        host.call("settings.set_faults", runs_budget_per_minute=budget)
        host.call("requests.clear")
        outcome = work.sync(
            max_results=100, runs_requests_per_minute=budget, poll_interval_seconds=15
        )
        log = host.runs_log()
    lower = partitions + math.ceil(partitions / LIST_RUNS_MAX) + partitions
    bound = budget_bound(
        partitions, math.ceil(partitions / LIST_RUNS_MAX), partitions, budget, run_seconds
    )
    return {
        "partitions": partitions,
        "wall_s": outcome.wall,
        "bound_s": bound,
        "wall_over_bound": outcome.wall / bound,
        "requests": len(log),
        "bound_requests": lower,
        "http_429": sum(1 for e in log if e["status"] == 429),
        "records": outcome.records,
    }


def scale(identities: int, posts: int) -> list[tuple[str, dict[str, float]]]:
    """Figure 7: a first sync and a continuing one of identities x posts partitions."""
    from edges_sandbox import extra_identity_ids  # noqa: PLC0415

    urls, ids = post_urls(posts), extra_identity_ids(identities)
    partitions = identities * posts
    found = []
    with (
        sandbox_host(0.5, extra_identities=identities) as host,
        tempfile.TemporaryDirectory() as tmp,
    ):
        work = Workdir(Path(tmp), host, urls, identity_ids=ids)
        for name, new in (("first", 0), ("continuing", 5)):
            grow(host, urls, new)
            host.call("requests.clear")
            outcome = work.sync(max_results=100, poll_interval_seconds=1)
            log = host.runs_log()
            found.append(
                (
                    name,
                    {
                        "partitions": partitions,
                        "records": outcome.records,
                        "wall_s": outcome.wall,
                        "peak_rss_mb": outcome.peak_rss_mb,
                        "cpu_ms_per_partition": outcome.cpu / partitions * 1000,
                        "state_bytes_per_partition": outcome.state_bytes / partitions,
                        "state_messages": outcome.states,
                        "stdout_mb": outcome.stdout_bytes / 1e6,
                        "runs_requests": len(log),
                        "output_requests": output_requests(log),
                        "sandbox_peak_rss_mb": host.peak_rss_mb(),
                    },
                )
            )
    return found


def discovery(conversations: int, active: int) -> dict[str, float]:
    """Figure 9: a continuing sync of an inbox of many conversations, few of them active.

    The tap follows the ``active`` most recent threads of an identity whose inbox holds
    ``conversations`` (the sandbox dates seeded thread i 5i days back, so a lookback of
    5 x active - 3 days follows exactly them); each gets a reply, then one sync continues them.
    The same with those threads listed by hand in ``thread_urls`` and discovery off is the
    reference: its ``/v1/runs*`` requests are the floor discovery adds its listing to.
    """
    from edges_sandbox import ENGAGEMENT_IDENTITY_IDS  # noqa: PLC0415

    identity = ENGAGEMENT_IDENTITY_IDS[0]
    lookback = 5 * active - 3
    found: dict[str, float] = {}
    for name in ("discovered", "listed"):
        with (
            sandbox_host(0.5, inbox_threads=conversations) as host,
            tempfile.TemporaryDirectory() as tmp,
        ):
            threads = [t["linkedin_thread_url"] for t in host.call("backstage.inbox", identity)]
            chosen = threads[:active]
            work = Workdir(Path(tmp), host, [], streams=("conversations", "messages"))
            work.config.update(
                discover_threads=name == "discovered",
                thread_lookback_days=lookback,
                thread_urls=[] if name == "discovered" else chosen,
            )
            work.sync(max_results=100)
            for url in chosen:
                host.call("backstage.grow", 1, action=MESSAGES, identity_id=identity, input=url)
            host.call("requests.clear")
            outcome = work.sync(max_results=100)
            found[f"{name}_runs_requests"] = len(host.runs_log())
            found[f"{name}_records"] = outcome.records
            found[f"{name}_state_bytes"] = outcome.state_bytes
    found["requests_ratio"] = found["discovered_runs_requests"] / found["listed_runs_requests"]
    found["state_ratio"] = found["discovered_state_bytes"] / found["listed_state_bytes"]
    return found


# -- the bare reference loop -------------------------------------------------------------------


def bare(base_url: str, api_key: str, stream: str, run_uids: list[str]) -> None:
    """Read every output page of the runs with requests; parse and write them with orjson."""
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
                for item in orjson.loads(response.content):
                    message = {"type": "RECORD", "stream": stream, "record": item}
                    out.write(orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE))
                url = response.headers.get("X-Pagination-Next")
    out.flush()


# -- main --------------------------------------------------------------------------------------


def figures(quick: bool) -> dict[str, Callable[[], None]]:  # noqa: C901, FBT001 (a closure a figure)
    """Each figure's benchmark, by number, ready to run and print."""
    run_seconds, interval = (6.0, 1) if quick else (20.0, 2)
    emitted = 50_000 if quick else 200_000
    large = (4, 25_000) if quick else (4, 250_000)
    layout_partitions = 4 if quick else 10
    budgeted_partitions = 15 if quick else 50
    identities, posts = (20, 50) if quick else (100, 50)

    def first() -> None:
        print(f"50 partitions, runs of D={run_seconds:g}s, poll_interval_seconds={interval:g}")
        report(
            "1+3. wall/D (goal <= 1.3), requests/bound (goal <= 1.1)",
            concurrency(run_seconds, interval),
        )

    def second() -> None:
        report(
            "2. tap/bare records per second, pre-encoded pages (goal >= 0.5)",
            throughput(emitted, repeats=3),
        )

    def fourth() -> None:
        report("4a. peak RSS, 10k records (goal: flat, < 200 MB)", memory(1, 10_000))
        report(f"4b. peak RSS, {large[0] * large[1]:,} records", memory(*large))

    def fifth() -> None:
        for layout in LAYOUTS:
            report(
                f"5. output requests per partition-sync, 2,000-item history, {layout} "
                "(goal: first/steady <= 1.1, nothing_new 0.0)",
                history(layout, layout_partitions),
            )

    def sixth() -> None:
        report(
            f"6. {budgeted_partitions} partitions under 30 requests/min: wall/budget bound "
            "(goal <= 1.15, no 429)",
            budgeted(budgeted_partitions),
        )

    def seventh() -> None:
        for name, found in scale(identities, posts):
            report(
                f"7. {identities} identities x {posts} posts, {name} sync "
                "(goal: peak RSS < 300 MB)",
                found,
            )

    def eighth() -> None:
        from orchestrated import orchestrated  # noqa: PLC0415 - needs the orchestrator's venv

        count, posts, alone = (4, 20, 1) if quick else (8, 50, 2)
        report(
            f"8. {count} workspaces x {posts} partitions through Dagster at once: "
            f"wall/slowest alone (of {alone}) (goal <= 1.5), peak RSS",
            orchestrated(count, post_urls(posts), run_seconds, alone),
        )

    def ninth() -> None:
        count, active = (200, 10) if quick else (1000, 10)
        report(
            f"9. an inbox of {count:,} conversations, {active} active: /v1/runs* requests of a "
            f"continuing sync, discovered / {active} threads listed by hand (goal <= 1.3), "
            "state size",
            discovery(count, active),
        )

    return {
        "1": first,
        "2": second,
        "4": fourth,
        "5": fifth,
        "6": sixth,
        "7": seventh,
        "8": eighth,
        "9": ninth,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the figures (or run the bare loop)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster figures")
    parser.add_argument("mode", nargs="*", help="figure numbers to run (default: all)")
    args = parser.parse_args(argv)
    if args.mode and args.mode[0] == "bare":
        base_url, api_key, stream, *uids = args.mode[1:]
        bare(base_url, api_key, stream, uids)
        return 0
    every = figures(args.quick)
    chosen = [name.removesuffix("+3") for name in args.mode] or list(every)
    unknown = sorted(set(chosen) - set(every))
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; choose among {', '.join(every)}")
    for name in chosen:
        every[name]()
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
