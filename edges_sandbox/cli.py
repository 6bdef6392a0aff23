"""``tap-edges-sandbox serve``: run the Edges sandbox until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from edges_sandbox.emulator import Sandbox
from edges_sandbox.identities import DEFAULT_API_KEY
from edges_sandbox.settings import CREDITS_MAX, INBOX_THREADS, OUTPUTS_MODES
from edges_sandbox.variants import VARIANTS

if TYPE_CHECKING:
    from types import FrameType

DEFAULT_PORT = 8765


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(prog="tap-edges-sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Edges API sandbox on 127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    serve.add_argument("--api-key", default=DEFAULT_API_KEY)
    serve.add_argument("--run-seconds", type=float, default=3.0)
    serve.add_argument("--state-file", default=None, help="JSON file kept across restarts")
    serve.add_argument("--outputs-mode", choices=OUTPUTS_MODES, default="cumulative")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--growth-per-minute", type=float, default=0.0)
    serve.add_argument(
        "--extra-identities", type=int, default=0, help="extra engagement identities (benchmarks)"
    )
    serve.add_argument(
        "--inbox-threads", type=int, default=INBOX_THREADS, help="threads seeded per inbox"
    )
    serve.add_argument(
        "--credits-max", type=float, default=CREDITS_MAX, help="the workspace's monthly credits"
    )
    serve.add_argument(
        "--variant",
        dest="variants",
        action="append",
        choices=sorted(VARIANTS),
        default=[],
        metavar="NAME",
        help=f"an API variant (repeatable): {', '.join(VARIANTS)}",
    )
    return parser


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM.

    Args:
        args: Parsed ``serve`` arguments.

    Returns:
        The exit code (0).
    """
    sandbox = Sandbox(
        api_key=args.api_key,
        run_seconds=args.run_seconds,
        state_file=args.state_file,
        seed=args.seed,
        outputs_mode=args.outputs_mode,
        port=args.port,
        growth_per_minute=args.growth_per_minute,
        extra_identities=args.extra_identities,
        variants=args.variants,
        inbox_threads=args.inbox_threads,
        credits_max=args.credits_max,
    )
    done = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    base_url = sandbox.start()
    sys.stdout.write(f"Edges sandbox listening on {base_url}\n")
    sys.stdout.flush()
    try:
        while not done.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``tap-edges-sandbox``.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    args = build_parser().parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
