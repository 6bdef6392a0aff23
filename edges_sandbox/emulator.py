"""The :class:`Sandbox`: serves the Edges API on 127.0.0.1 and wires its parts together.

Its parts, each fixed at construction: :attr:`Sandbox.settings` (what may change while serving),
:attr:`Sandbox.backstage` (the world and its runs, for tests), :attr:`Sandbox.requests` (the
request log and a test's observer) and :attr:`Sandbox.engine` (the runs, opened on first use).
"""

from __future__ import annotations

import functools
import threading
import time
from typing import TYPE_CHECKING

from edges_sandbox.api import handle_api
from edges_sandbox.backstage import Backstage
from edges_sandbox.control import Controlled, handle_control
from edges_sandbox.engine import Engine
from edges_sandbox.faults import RequestGate
from edges_sandbox.identities import DEFAULT_API_KEY
from edges_sandbox.requestlog import RequestLog
from edges_sandbox.server import SandboxServer
from edges_sandbox.settings import CREDITS_MAX, INBOX_THREADS, SandboxSettings
from edges_sandbox.store import Store

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path
    from types import TracebackType

    from edges_sandbox.clock import Clock
    from edges_sandbox.wire import Request, Response


class Sandbox:
    """A faithful local emulator of the Edges API, served on 127.0.0.1.

    Use it as a context manager or call :meth:`start` and :meth:`stop`. The state file (if any)
    is loaded on first use, which is normally :meth:`start`.

    Attributes:
        settings: The settings in force (faults, variants, outputs mode, ...); changes apply to
            the next requests.
        backstage: The world and its runs, for tests (grow, ground truth, runs, purge, identities).
        requests: The API requests served so far, and the observer of each.
    """

    # A misspelt or retired attribute (``sandbox.faults = ...``, now ``sandbox.settings.faults``)
    # raises AttributeError instead of being kept and ignored.
    __slots__ = (
        "_clock", "_engine", "_gate", "_growth", "_port", "_seed", "_server", "_store", "_thread",
        "backstage", "requests", "settings",
    )  # fmt: skip

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
        inbox_threads: int = INBOX_THREADS,
        credits_max: float = CREDITS_MAX,
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
            inbox_threads: Threads seeded in an identity's inbox the first time it is needed
                (``linkedin-extract-conversations``).
            credits_max: The workspace's credits per month (``GET /v1/workspaces``).
        """
        self.settings = SandboxSettings(
            api_key,
            run_seconds,
            outputs_mode=outputs_mode,
            extra_identities=extra_identities,
            preencode_outputs=preencode_outputs,
            variants=variants,
            inbox_threads=inbox_threads,
            credits_max=credits_max,
        )
        self.requests = RequestLog()
        self.backstage = Backstage(lambda: self.engine, self.settings)
        self._clock: Clock = clock or time.time
        self._store = Store(state_file)
        self._seed, self._growth, self._port = seed, growth_per_minute, port
        self._gate = RequestGate(seed, self._clock)
        self._engine: Engine | None = None
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def engine(self) -> Engine:
        """The runs engine, loaded from the state file on first use."""
        if self._engine is None:
            self._engine = Engine.open(
                self.settings, self._clock, self._store, self._seed, self._growth
            )
        return self._engine

    def start(self) -> str:
        """Start serving in a background thread.

        Returns:
            The base URL, ``http://127.0.0.1:<port>/v1``.
        """
        if self._server is None:
            _ = self.engine
            control = Controlled(self.backstage, self.settings, self.requests)
            answer_control = functools.partial(handle_control, control)
            self._server = SandboxServer(self._port, self._answer_api, answer_control)
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
        return self.settings.api_key

    def _answer_api(self, request: Request) -> Response:
        response = handle_api(self.engine, self.settings, self._gate, request)
        if self.settings.faults.latency_seconds > 0:
            time.sleep(self.settings.faults.latency_seconds)
        self.requests.record(request, response, self._clock())
        return response
