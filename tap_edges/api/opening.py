"""The sync's client: for the real Edges API, or for the bundled sandbox started in-process.

Everything the client is made of (the transport, its runs budget, the clock and the sleep) is
given here, once, when it is built; the sandbox, when the config asks for it, lives exactly as
long as the client.
"""

from __future__ import annotations

import contextlib
import typing as t

from tap_edges.api.client import EdgesClient
from tap_edges.api.pacing import RateBudget
from tap_edges.api.transport import Transport
from tap_edges.settings import DEFAULT_API_URL, DEFAULT_SANDBOX_PATH

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator, Mapping


@contextlib.contextmanager
def open_client(
    config: Mapping[str, t.Any],
    logger: logging.Logger,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Iterator[EdgesClient]:
    """A client for ``config``'s API (or sandbox), closed (and the sandbox stopped) at exit."""
    with contextlib.ExitStack() as stack:
        if config.get("sandbox"):
            from edges_sandbox import Sandbox  # noqa: PLC0415 - only in sandbox mode

            sandbox = stack.enter_context(
                Sandbox(
                    state_file=config.get("sandbox_path", DEFAULT_SANDBOX_PATH),
                    run_seconds=float(config.get("sandbox_run_seconds", 3)),
                    growth_per_minute=float(config.get("sandbox_growth_per_minute", 3)),
                    outputs_mode=str(config.get("sandbox_outputs_mode", "cumulative")),
                    variants=list(config.get("sandbox_variants") or ()),
                ),
            )
            base_url, api_key = sandbox.base_url, sandbox.api_key
            logger.info("Sandbox mode: serving from the Edges sandbox at %s", base_url)
        else:
            base_url = str(config.get("api_url", DEFAULT_API_URL))
            api_key = str(config["api_key"])
        budget = RateBudget(
            int(config.get("runs_requests_per_minute", 30)), clock=clock, sleep=sleep
        )
        http = Transport(base_url, api_key, budget=budget, logger=logger, clock=clock, sleep=sleep)
        stack.callback(http.close)
        yield EdgesClient(http)
