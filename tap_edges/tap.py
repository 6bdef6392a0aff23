"""TapEdges: one stream per Edges action, and the sync (settings live in :mod:`.settings`)."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import sys
import time
import typing as t

from singer_sdk.helpers.capabilities import (
    CapabilitiesEnum,
    PluginCapabilities,
    TapCapabilities,
)

from tap_edges import errors
from tap_edges.actions import ACTIONS
from tap_edges.api.client import EdgesClient, check_identities
from tap_edges.api.credits import Credits, credits_line, read_credits
from tap_edges.api.opening import open_client
from tap_edges.checks import config_problems
from tap_edges.conform import Drift
from tap_edges.discovery.discoverer import Discovery
from tap_edges.discovery.profiles import own_profiles
from tap_edges.discovery.vocabulary import Options
from tap_edges.runs.coordinator import RunCoordinator
from tap_edges.runs.executing import Names
from tap_edges.runs.summary import learned, learned_line
from tap_edges.sdk import TapBase
from tap_edges.settings import (
    CONFIG_SCHEMA,
    DEFAULT_CEILING,
    identity_ids,
    settings_in_effect,
    stream_settings,
)
from tap_edges.state import read_api_facts, read_state_file, write_api_facts
from tap_edges.streams import EdgesActionStream, Found, StreamsView
from tap_edges.writer import EncodedStateWriter, SingerWriter, stop

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class TapEdges(TapBase):
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
    wall_clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:  # noqa: ANN401
        """Create the tap; nothing touches the network until a sync starts.

        Args:
            args: Positional arguments of :class:`singer_sdk.Tap`.
            kwargs: Keyword arguments of :class:`singer_sdk.Tap`.
        """
        self._coordinator: RunCoordinator | None = None
        self._discovery: Discovery | None = None
        self._found = Found()
        self._credits_before: Credits | None = None  # read as the sync starts
        self._noted: set[str] = set()  # credits endpoints that did not answer
        self._profiles: dict[str, str] = {}  # the identities' own profiles (linkedin-me)
        self._resources = contextlib.ExitStack()
        super().__init__(*args, **kwargs)
        if isinstance(self.message_writer, SingerWriter):
            self.use_state_writer(EncodedStateWriter(self.message_writer).write_state)

    @override
    def extra_config_problems(self) -> list[str]:
        return config_problems(self.config)

    @override
    def discover_streams(self) -> list[EdgesActionStream]:
        return [
            EdgesActionStream(
                self,
                spec,
                stream_settings(self.config, spec),
                runs=self.discovery if spec.lists else self.start_runs,
                found=self._found,
            )
            for spec in ACTIONS
        ]

    def discovery(self) -> Discovery:
        """The sync's discovery, where the listing streams read their records (runs started)."""
        self.start_runs()
        return t.cast("Discovery", self._discovery)

    def start_runs(self) -> RunCoordinator:
        """Start the sync's runs (once) and return their coordinator.

        The first call checks the identities, then launches or continues the run of every
        partition of every selected stream, before any stream waits; later calls return the
        same coordinator. A sync calls it before the first stream (:meth:`sync_session`); a
        stream synced on its own (the SDK's dry runs, how its standard test suite syncs) calls
        it when it first needs records.

        Returns:
            The coordinator every stream reads its records from.
        """
        if self._coordinator is None:
            client = self._resources.enter_context(self.edges_client())
            names = Names(refused=read_api_facts(self.state).get("names") == "refused")
            coordinator = RunCoordinator(
                client=client,
                logger=self.logger,
                flush=functools.partial(self._flush, names),
                poll_interval=float(self.config.get("poll_interval_seconds", 15)),
                run_timeout=float(self.config.get("run_timeout_seconds", 3600)),
                callback_url=self.config.get("callback_url"),
                adaptive=bool(self.config.get("adaptive_max_results", True)),
                ceiling=int(self.config.get("max_results_ceiling", DEFAULT_CEILING)),
                clock=self.clock,
                sleep=self.sleep,
                metrics_logger=self.metrics_logger,
                names=names,
            )
            check_identities(client, identity_ids(self.config))
            self._credits_before = read_credits(client, self.logger, self._noted)
            self._discovery = self._start(coordinator)
            self._coordinator = coordinator
        return self._coordinator

    def _start(self, coordinator: RunCoordinator) -> Discovery:
        """Start every selected partition's run, listing first where a listing feeds streams."""
        streams = {n: s for n, s in self.streams.items() if isinstance(s, EdgesActionStream)}
        view = StreamsView(streams, self._found)
        children = view.children()
        self._post_authors(coordinator.client, streams, children)
        listings = view.listings(children)
        discovery = Discovery(
            coordinator=coordinator,
            streams=view,
            logger=self.logger,
            options=Options.from_config(self.config, children),
            now=self.wall_clock,
        )
        if listings:
            discovery.start(view.plain(), listings)
        else:
            coordinator.start(view.plain())
        return discovery

    def _post_authors(
        self,
        client: EdgesClient,
        streams: dict[str, EdgesActionStream],
        children: dict[str, tuple[str, ...]],
    ) -> None:
        """Without ``post_authors``, each identity's own profile is the posts' author."""
        posts = streams.get("posts")
        wanted = posts is not None and (posts.selected or children.get("posts"))
        if not wanted or self.config.get("post_authors"):
            return
        if not self.config.get("discover_posts", True):
            return
        stored = read_api_facts(self.state).get("profiles")
        known: dict[str, str] = stored if isinstance(stored, dict) else {}
        found = own_profiles(client, identity_ids(self.config), known, self.logger)
        for identity, url in found.items():
            self._found.add("posts", identity, [url])
        self._profiles = found

    def _flush(self, names: Names) -> None:
        """Write a STATE with every bookmark (and what was learned of names on launches)."""
        self._keep_api_facts(names)
        self.state_writer.write_state(self.state)

    def edges_client(self) -> t.ContextManager[EdgesClient]:
        """An API client: for the real API, or for the bundled sandbox started in-process."""
        return open_client(self.config, self.logger, clock=self.clock, sleep=self.sleep)

    @override
    @contextlib.contextmanager
    def sync_session(self) -> Iterator[None]:
        """Start every selected partition's run; the SDK syncs the streams; then report.

        Raises:
            PartitionsFailedError: One or more partitions failed (all others were emitted).
        """
        self.logger.info("Settings in effect: %s", json.dumps(settings_in_effect(self.config)))
        started = self.clock()
        with self._resources:
            if isinstance(self.message_writer, SingerWriter):  # its buffered RECORDs, at exit
                self._resources.callback(self.message_writer.flush)
            coordinator = self.start_runs()
            yield
            self._report(coordinator, self.clock() - started)
        if coordinator.possible_losses:
            self.logger.warning(
                "%d partition(s) received a full batch (max_results): Edges may have dropped "
                "items; see the warnings above.",
                coordinator.possible_losses,
            )
        if coordinator.failures:
            raise PartitionsFailedError(coordinator.failures)

    def _report(self, coordinator: RunCoordinator, seconds: float) -> None:
        """Log what the sync did and what it learned of the API; keep the latter in the state."""
        if self._discovery is not None:
            self._discovery.finish()  # the listings were read: the next sync lists anew
        facts = learned(coordinator.bookmarks(), names_refused=coordinator.refuses_names())
        self._keep_api_facts(coordinator.names, facts)
        self.state_writer.write_state(self.state)
        self.logger.info("%s", learned_line(facts))
        budget = coordinator.client.http.budget
        drift = Drift()
        for stream in self.streams.values():
            if isinstance(stream, EdgesActionStream):
                drift += stream.conformer.report(self.logger)
        after = read_credits(coordinator.client, self.logger, self._noted)
        discovered = self._discovery.counts.line() if self._discovery else "none"
        line = coordinator.summary.line(
            extra=f"Discovery: {discovered}; {credits_line(self._credits_before, after)}.",
            drift=drift,
            failed=len(coordinator.failures),
            losses=coordinator.possible_losses,
            requests=budget.used,
            budget=budget.limit,
            seconds=seconds,
        )
        self.logger.info("%s", line)

    def _keep_api_facts(self, names: Names, facts: dict[str, str] | None = None) -> None:
        kept = read_api_facts(self.state)
        kept["names"] = "refused" if names.refused else "accepted"
        if self._profiles:
            kept["profiles"] = self._profiles
        if facts is not None:
            kept["learned"] = facts
        write_api_facts(self.state.setdefault("bookmarks", {}), kept)

    @override
    def check_connection(self) -> bool:
        """Check the key and the identities with read-only calls; launch no run.

        Every Edges run costs the customer credits, so unlike the SDK's default (a sync
        stopped after one record) this only reads each configured identity.

        Returns:
            True when the key is accepted and every identity can run incremental extractions.

        Raises:
            SystemExit: With code 1 after logging the one-line reason of a failure.
        """
        identities = identity_ids(self.config)
        try:
            with self.edges_client() as client:
                check_identities(client, identities)
        except errors.EdgesError as exc:
            self.logger.error("Connection test failed: %s", exc)  # noqa: TRY400
            raise SystemExit(1) from None
        self.logger.info(
            "Connection test passed: the API key is accepted and %d engagement identit%s found.",
            len(identities),
            "y was" if len(identities) == 1 else "ies were",
        )
        return True

    @override
    def stop_on_signal(self, signum: int) -> None:
        """On SIGTERM/SIGINT: the last STATE at a line boundary, then exit non-zero (writer.py)."""
        state = self.state
        stop(self.message_writer, lambda: self.state_writer.write_state(state), self.logger, signum)

    @classmethod
    @override
    def invoke(cls, *args: t.Any, **kwargs: t.Any) -> None:
        """Run the CLI; a tap error ends it with one line on stderr and exit code 1."""
        try:
            if kwargs.get("state") is not None:  # read here: the SDK's reading has no words
                kwargs["state"] = io.StringIO(read_state_file(kwargs["state"]))
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
