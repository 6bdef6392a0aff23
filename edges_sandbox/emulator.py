"""The :class:`Sandbox`: a local Edges API server with a simulated LinkedIn world."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from edges_sandbox.api import handle_api
from edges_sandbox.control import handle_control
from edges_sandbox.engine import Engine
from edges_sandbox.faults import Faults, RequestGate
from edges_sandbox.identities import DEFAULT_API_KEY, identity_objects, shown
from edges_sandbox.runtime import Runtime
from edges_sandbox.server import SandboxServer
from edges_sandbox.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path
    from types import TracebackType

    from edges_sandbox.clock import Clock
    from edges_sandbox.wire import Request, Response

    # Called with every API request once it is applied, before its answer is sent (tests: to
    # look at what the client had written before it sent the request, or to kill the client).
    Observer = Callable[[Request, Response], None]


class Sandbox:
    """A faithful local emulator of the Edges API, served on 127.0.0.1.

    Use it as a context manager or call :meth:`start` and :meth:`stop`. The state file (if any)
    is loaded on first use, which is normally :meth:`start`.
    """

    def __init__(  # noqa: PLR0913, PLR0917 - the documented constructor
        self,
        api_key: str = DEFAULT_API_KEY,
        run_seconds: float = 3.0,
        state_file: str | Path | None = None,
        seed: int = 0,
        outputs_mode: str = "cumulative",
        port: int = 0,
        clock: Clock | None = None,
        growth_per_minute: float = 0.0,
        *,
        extra_identities: int = 0,
        preencode_outputs: bool = False,
        variants: Iterable[str] = (),
    ) -> None:
        """Configure the sandbox (nothing is started or read yet).

        Args:
            api_key: Key every ``/v1`` request must send in ``X-API-Key``.
            run_seconds: How long an iteration takes from launch/continue to its end.
            state_file: JSON file persisting world and runs across restarts.
            seed: Seed of the simulated world.
            outputs_mode: ``cumulative``, ``cumulative-newest`` or ``latest`` (see the package
                docs).
            port: TCP port; 0 picks a free one.
            clock: Time source in epoch seconds (default :func:`time.time`).
            growth_per_minute: Items each feed gains per minute of clock time.
            extra_identities: Extra engagement identities besides the three named ones, for
                benchmarks with many partitions (uids: :func:`extra_identity_ids`).
            preencode_outputs: Serve output pages joined from items encoded once each (for
                benchmarks: the same bytes, without the cost of encoding every page).
            variants: API variants, the other readings of what the Edges docs leave open
                (names in :data:`edges_sandbox.variants.VARIANTS`); none by default.
        """
        self._runtime = Runtime(api_key=api_key, run_seconds=run_seconds)
        self._runtime.set_outputs_mode(outputs_mode)
        self.extra_identities = extra_identities
        self._runtime.preencode_outputs = preencode_outputs
        self._runtime.set_variants(variants)
        self._clock: Clock = clock or time.time
        self._store = Store(state_file)
        self._seed, self._growth, self._port = seed, growth_per_minute, port
        self._gate = RequestGate(seed, self._clock)
        self._engine: Engine | None = None
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self.observer: Observer | None = None

    @property
    def engine(self) -> Engine:
        """The runs engine, loaded from the state file on first use."""
        if self._engine is None:
            self._engine = Engine.open(
                self._runtime, self._clock, self._store, self._seed, self._growth
            )
        return self._engine

    def start(self) -> str:
        """Start serving in a background thread.

        Returns:
            The base URL, ``http://127.0.0.1:<port>/v1``.
        """
        if self._server is None:
            _ = self.engine
            self._server = SandboxServer(self._port, self._answer_api, self._answer_control)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="edges-sandbox",
                daemon=True,
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and release the port (the state file is already up to date)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server, self._thread = None, None

    def __enter__(self) -> Sandbox:  # noqa: PYI034 - no typing.Self on Python 3.10
        """Start and return the sandbox."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the sandbox."""
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1`` (raises ``RuntimeError`` before :meth:`start`)."""
        if self._server is None:
            msg = "the sandbox is not started"
            raise RuntimeError(msg)
        return f"{self._server.origin}/v1"

    @property
    def api_key(self) -> str:
        """The key ``/v1`` requests must send in ``X-API-Key``."""
        return self._runtime.api_key

    @property
    def run_seconds(self) -> float:
        """Duration of new iterations; may be changed at runtime (running ones keep theirs)."""
        return self._runtime.run_seconds

    @run_seconds.setter
    def run_seconds(self, value: float) -> None:
        self._runtime.run_seconds = value

    @property
    def max_results_limit(self) -> int:
        """Largest ``parameters.max_results`` a launch may ask for (1000, as Edges documents).

        Benchmarks raise it to read huge batches; it is not persisted.
        """
        return self._runtime.max_results_limit

    @max_results_limit.setter
    def max_results_limit(self, value: int) -> None:
        self._runtime.max_results_limit = value

    @property
    def extra_identities(self) -> int:
        """Number of extra engagement identities (not persisted; may change at runtime)."""
        return self._runtime.extra_identities

    @extra_identities.setter
    def extra_identities(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            msg = "extra_identities must be an integer >= 0"
            raise ValueError(msg)
        self._runtime.extra_identities = value

    @property
    def preencode_outputs(self) -> bool:
        """Whether output pages are joined from items encoded once each (not persisted)."""
        return self._runtime.preencode_outputs

    @preencode_outputs.setter
    def preencode_outputs(self, value: bool) -> None:
        self._runtime.preencode_outputs = bool(value)

    @property
    def faults(self) -> Faults:
        """The faults in force (mutable; changes apply to the next requests)."""
        return self._runtime.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._runtime.faults = value

    def set_faults(self, **fields: object) -> None:
        """Replace some fault fields, keeping the others.

        Args:
            **fields: Fault fields and their new values.
        """
        self._runtime.faults = self._runtime.faults.replaced(fields)

    @property
    def outputs_mode(self) -> str:
        """``cumulative``, ``cumulative-newest`` or ``latest``; may be switched at runtime."""
        return self._runtime.outputs_mode

    @outputs_mode.setter
    def outputs_mode(self, value: str) -> None:
        self._runtime.set_outputs_mode(value)

    @property
    def variants(self) -> frozenset[str]:
        """The API variants in force (not persisted; may be changed at runtime).

        Assigning a collection of names replaces them all; changes apply to the next
        requests, and each run keeps what was decided when its iteration started.
        """
        return self._runtime.variants

    @variants.setter
    def variants(self, value: Iterable[str]) -> None:
        self._runtime.set_variants(value)

    def grow(
        self,
        n: int = 5,
        action: str | None = None,
        identity_id: str | None = None,
        input: str | dict[str, Any] | None = None,  # noqa: A002 - the documented name
        *,
        distinct: int | None = None,
    ) -> int:
        """Add ``n`` new items (newer than all existing ones) to every matching feed.

        Args:
            n: Items per feed.
            action: Only feeds of this action slug.
            identity_id: Only feeds of this identity (post feeds are shared by identities).
            input: Only feeds of this input: the post/thread URL, or an input object holding it.
                With an action and every argument its feed needs, the feed is created if new.
            distinct: For benchmarks: generate only this many new items per feed and repeat
                them (ids included) for the rest, so millions of items take seconds.

        Returns:
            Total number of items added.

        Raises:
            ValueError: If ``n`` is negative.
        """
        if n < 0:
            msg = "n must not be negative"
            raise ValueError(msg)
        value = input
        if isinstance(value, dict):
            value = next((v for k, v in value.items() if k != "custom_data"), None)
        selector = {"action": action, "identity_id": identity_id, "input": value}
        return self.engine.grow(n, selector, distinct)

    def ground_truth(self, run_uid: str) -> list[dict[str, Any]]:
        """Return what each iteration of a run delivers and drops (see the package docs).

        Args:
            run_uid: The run uid.
        """
        return self.engine.ground_truth(run_uid)

    def runs(self) -> list[dict[str, Any]]:
        """Return every run object, oldest first, as the API would."""
        return self.engine.list_runs({}, ["created_at"])

    def identities(self, *, retrieve_accounts: bool = False) -> list[dict[str, Any]]:
        """Return the identities as ``GET /v1/identities`` does.

        Args:
            retrieve_accounts: List their connected accounts, as the query parameter does.
        """
        how = shown(self._runtime.variants, accounts=retrieve_accounts)
        return identity_objects(self._runtime.extra_identities, how)

    def purge_run(self, run_uid: str) -> None:
        """Forget a run, as Edges does when it purges one: later requests for it answer 404.

        Args:
            run_uid: The run uid (unknown uids are ignored).
        """
        self.engine.purge(run_uid)

    def request_log(self) -> list[dict[str, Any]]:
        """Return the API requests served so far (method, path, query, status, time; no headers)."""
        with self._log_lock:
            return [dict(entry) for entry in self._log]

    def clear_request_log(self) -> None:
        """Forget the API requests logged so far."""
        with self._log_lock:
            self._log.clear()

    def _answer_api(self, request: Request) -> Response:
        response = handle_api(self.engine, self._runtime, self._gate, request)
        if self._runtime.faults.latency_seconds > 0:
            time.sleep(self._runtime.faults.latency_seconds)
        entry = {
            "time": self._clock(),
            "method": request.method,
            "path": request.path,
            "query": {name: list(values) for name, values in request.query.items()},
            "status": response.status,
        }
        with self._log_lock:
            self._log.append(entry)
        if self.observer is not None:  # a test's look at each request, once it is applied
            self.observer(request, response)
        return response

    def _answer_control(self, request: Request) -> Response:
        return handle_control(self, request)
