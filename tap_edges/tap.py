"""TapEdges: one stream per Edges action, and the sync (settings live in :mod:`.settings`)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import time
import typing as t

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import (
    CapabilitiesEnum,
    PluginCapabilities,
    TapCapabilities,
)

from tap_edges import errors
from tap_edges.actions import ACTIONS
from tap_edges.client import EdgesClient, RateBudget
from tap_edges.runs import RunCoordinator, check_identities
from tap_edges.settings import (
    CONFIG_SCHEMA,
    DEFAULT_API_URL,
    DEFAULT_CEILING,
    DEFAULT_SANDBOX_PATH,
    config_problems,
    settings_in_effect,
)
from tap_edges.streams import EdgesActionStream
from tap_edges.writer import EncodedStateWriter, SingerWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType


class TapEdges(Tap):
    """Singer tap for the Edges API: LinkedIn data, incremental by run continuation."""

    name = "tap-edges"
    config_jsonschema = CONFIG_SCHEMA
    # No BATCH (a batch file would be written after the bookmark moved on) and no
    # ACTIVATE_VERSION (the streams are incremental: targets must never replace a table).
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]
    message_writer_class = SingerWriter  # flushes after STATE, not after every RECORD

    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Create the tap; nothing touches the network until a sync starts.

        Args:
            args: Positional arguments of :class:`singer_sdk.Tap`.
            kwargs: Keyword arguments of :class:`singer_sdk.Tap`.
        """
        self._coordinator: RunCoordinator | None = None
        self._resources = contextlib.ExitStack()
        super().__init__(*args, **kwargs)
        if isinstance(self.message_writer, SingerWriter):
            self._state_writer = EncodedStateWriter(self.message_writer)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        found = super()._validate_config(raise_errors=raise_errors)
        problems = config_problems(self.config)
        if problems and raise_errors:
            msg = "Config validation failed"
            raise ConfigValidationError(msg, errors=problems)
        return found + problems

    @override
    def discover_streams(self) -> list[EdgesActionStream]:
        return [EdgesActionStream(self, spec) for spec in ACTIONS]

    @property
    def identity_ids(self) -> list[str]:
        """The identities to extract with (the sandbox's own in sandbox mode by default)."""
        configured = list(self.config.get("identity_ids") or [])
        if configured or not self.config.get("sandbox"):
            return configured
        from edges_sandbox import ENGAGEMENT_IDENTITY_IDS  # noqa: PLC0415

        return list(ENGAGEMENT_IDENTITY_IDS)

    def max_results_for(self, stream: str) -> int:
        """The per-iteration cap for one stream."""
        overrides = self.config.get("max_results_per_stream") or {}
        return int(overrides.get(stream, self.config.get("max_results", 100)))

    @property
    def coordinator(self) -> RunCoordinator:
        """The sync's run coordinator, started on first use.

        Starting it launches or continues the run of every partition of every selected
        stream, before any stream waits. The SDK's dry runs (how its standard test suite syncs)
        reach it through the first stream; a normal sync through :meth:`sync_all`.
        """
        if self._coordinator is None:
            client = self._resources.enter_context(self.edges_client())
            coordinator = RunCoordinator(
                client=client,
                logger=self.logger,
                poll_interval=float(self.config.get("poll_interval_seconds", 15)),
                run_timeout=float(self.config.get("run_timeout_seconds", 3600)),
                callback_url=self.config.get("callback_url"),
                adaptive=bool(self.config.get("adaptive_max_results", True)),
                ceiling=int(self.config.get("max_results_ceiling", DEFAULT_CEILING)),
                clock=self.clock,
                sleep=self.sleep,
                metrics_logger=self.metrics_logger,
                flush=lambda: self.state_writer.write_state(self.state),
            )
            check_identities(client, self.identity_ids)
            streams = [s for s in self.streams.values() if s.selected]
            coordinator.start(
                e for s in streams if isinstance(s, EdgesActionStream) for e in s.run_entries()
            )
            self._coordinator = coordinator
        return self._coordinator

    @contextlib.contextmanager
    def edges_client(self) -> Iterator[EdgesClient]:
        """An API client: for the real API, or for the bundled sandbox started in-process."""
        with contextlib.ExitStack() as stack:
            if self.config.get("sandbox"):
                from edges_sandbox import Sandbox  # noqa: PLC0415

                sandbox = stack.enter_context(
                    Sandbox(
                        state_file=self.config.get("sandbox_path", DEFAULT_SANDBOX_PATH),
                        run_seconds=float(self.config.get("sandbox_run_seconds", 3)),
                        growth_per_minute=float(self.config.get("sandbox_growth_per_minute", 3)),
                    ),
                )
                base_url, api_key = sandbox.base_url, sandbox.api_key
                self.logger.info("Sandbox mode: serving from the Edges sandbox at %s", base_url)
            else:
                base_url = str(self.config.get("api_url", DEFAULT_API_URL))
                api_key = str(self.config["api_key"])
            budget = RateBudget(
                int(self.config.get("runs_requests_per_minute", 30)),
                clock=self.clock,
                sleep=self.sleep,
            )
            client = EdgesClient(
                base_url,
                api_key,
                budget=budget,
                logger=self.logger,
                clock=self.clock,
                sleep=self.sleep,
            )
            stack.callback(client.close)
            yield client

    @override  # type: ignore[misc]  # final in the SDK; see the docstring
    def sync_all(self) -> None:
        """Start every selected partition's run, then sync the streams in order.

        The SDK marks this method final; the tap extends it (and still calls it) because
        every run must be launched or continued before the first stream waits, and because
        the sync must exit non-zero after the last stream when a partition failed.

        Raises:
            PartitionsFailedError: One or more partitions failed (all others were emitted).
        """
        self.logger.info("Settings in effect: %s", json.dumps(settings_in_effect(self.config)))
        with self._resources:
            if isinstance(self.message_writer, SingerWriter):  # its buffered RECORDs, at exit
                self._resources.callback(self.message_writer.flush)
            coordinator = self.coordinator
            super().sync_all()
        if coordinator.possible_losses:
            self.logger.warning(
                "%d partition(s) received a full batch (max_results): Edges may have dropped "
                "items; see the warnings above.",
                coordinator.possible_losses,
            )
        if coordinator.failures:
            raise PartitionsFailedError(coordinator.failures)

    @override  # type: ignore[misc]  # final in the SDK: its test would launch paid runs
    def run_connection_test(self) -> bool:
        """Check the key and the identities with read-only calls; launch no run.

        Every Edges run costs the customer credits, so unlike the SDK's default (a sync
        stopped after one record) this only reads each configured identity.

        Returns:
            True when the key is accepted and every identity can run incremental extractions.

        Raises:
            SystemExit: With code 1 after logging the one-line reason of a failure.
        """
        try:
            with self.edges_client() as client:
                check_identities(client, self.identity_ids)
        except errors.EdgesError as exc:
            self.logger.error("Connection test failed: %s", exc)  # noqa: TRY400
            raise SystemExit(1) from None
        self.logger.info(
            "Connection test passed: the API key is accepted and %d engagement identit%s found.",
            len(self.identity_ids),
            "y was" if len(self.identity_ids) == 1 else "ies were",
        )
        return True

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """On SIGTERM/SIGINT: write the last STATE at a line boundary, then exit non-zero.

        A batch being emitted stays pending in the state, so a rerun reads it again: items may
        be emitted twice (targets dedupe them), never skipped. When the signal interrupts a
        write to a blocked stdout, the STATE follows once that write is complete; a second
        signal meanwhile exits at once, saying the STATE could not be written.
        """
        name = signal.Signals(signum).name
        writer = self.message_writer
        if not isinstance(writer, SingerWriter):
            self._stop(name, signum)
        elif not writer.at_line_boundary(functools.partial(self._stop, name, signum)):
            self.logger.error(
                "Stopped by %s while stdout is blocked in the middle of a line: the last STATE "
                "could not be written. The target keeps the last whole STATE it received; "
                "rerun the sync to resume from it without loss.",
                name,
            )
            os._exit(128 + signum)

    def _stop(self, name: str, signum: int) -> None:
        """Write the last STATE and the buffered records, then exit with 128 + signal."""
        try:
            self.state_writer.write_state(self.state)
            if isinstance(self.message_writer, SingerWriter):
                self.message_writer.flush()
        except OSError as exc:
            self.logger.error(  # noqa: TRY400 (one line, no traceback)
                "Stopped by %s: the last STATE could not be written (%s); rerun the sync to "
                "resume from the last STATE the target received.",
                name,
                exc,
            )
        else:
            self.logger.error(
                "Stopped by %s: the state was flushed; rerun the sync to resume without loss.",
                name,
            )
        sys.exit(128 + signum)

    @classmethod
    @override
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """Run the CLI; a tap error ends it with one line on stderr and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except errors.EdgesError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400 (one line, no traceback)
            sys.exit(1)


class PartitionsFailedError(errors.EdgesError):
    """Some partitions failed; every other partition was emitted and its state saved."""

    def __init__(self, failures: list[errors.EdgesError]) -> None:
        """Summarise the failures in one line.

        Args:
            failures: The errors of the failed partitions.
        """
        self.failures = failures
        summary = "; ".join(str(f) for f in failures)
        super().__init__(f"{len(failures)} partition(s) failed: {summary}")
