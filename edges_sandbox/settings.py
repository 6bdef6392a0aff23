"""The settings tests and operators may change while the sandbox is serving (``sandbox.settings``).

None of them is persisted; every change applies to the next requests (a running iteration keeps
what was decided when it started).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edges_sandbox.faults import Faults
from edges_sandbox.validation import MAX_RESULTS_LIMIT
from edges_sandbox.variants import parse_variants

if TYPE_CHECKING:
    from collections.abc import Iterable

OUTPUTS_MODES = ("cumulative", "cumulative-newest", "latest")
INBOX_THREADS = 8  # threads seeded in an identity's inbox
CREDITS_MAX = 10_000  # the workspace's monthly credits (a Bronze plan)


class SandboxSettings:
    """Mutable settings shared by the engine and the HTTP layer, checked when assigned.

    Attributes:
        api_key: The key every ``/v1`` request must send in ``X-API-Key`` (fixed).
        run_seconds: Duration of new iterations (running ones keep theirs).
        faults: The faults in force (see :class:`edges_sandbox.faults.Faults`).
        max_results_limit: Largest ``parameters.max_results`` a launch may ask for (1000 like
            Edges; benchmarks raise it to get huge batches).
    """

    # A misspelt setting raises AttributeError instead of being kept and ignored.
    __slots__ = (
        "_credits_max", "_extra_identities", "_inbox_threads", "_outputs_mode",
        "_preencode_outputs", "_variants", "api_key", "faults", "max_results_limit",
        "run_seconds",
    )  # fmt: skip

    def __init__(  # noqa: PLR0913 - one argument per setting
        self,
        api_key: str,
        run_seconds: float,
        *,
        outputs_mode: str = "cumulative",
        extra_identities: int = 0,
        preencode_outputs: bool = False,
        variants: Iterable[str] = (),
        inbox_threads: int = INBOX_THREADS,
        credits_max: float = CREDITS_MAX,
    ) -> None:
        """Check and keep the settings.

        Args:
            api_key: Key every ``/v1`` request must send in ``X-API-Key``.
            run_seconds: How long an iteration takes from launch/continue to its end.
            outputs_mode: See :attr:`outputs_mode`.
            extra_identities: See :attr:`extra_identities`.
            preencode_outputs: See :attr:`preencode_outputs`.
            variants: See :attr:`variants`.
            inbox_threads: See :attr:`inbox_threads`.
            credits_max: See :attr:`credits_max`.
        """
        self.api_key = api_key
        self.run_seconds = run_seconds
        self.faults = Faults()
        self.max_results_limit = MAX_RESULTS_LIMIT
        self.outputs_mode = outputs_mode
        self.extra_identities = extra_identities
        self.preencode_outputs = preencode_outputs
        self.variants = variants
        self.inbox_threads = inbox_threads
        self.credits_max = credits_max

    def set_faults(self, **fields: object) -> None:
        """Replace some fault fields, keeping the others.

        Args:
            **fields: Fault fields and their new values.
        """
        self.faults = self.faults.replaced(fields)

    @property
    def outputs_mode(self) -> str:
        """``cumulative`` (outputs of every finished iteration, oldest iteration first),
        ``cumulative-newest`` (the same, newest iteration first) or ``latest``.

        Raises:
            ValueError: When assigned any other value.
        """  # noqa: D205 - the three modes
        return self._outputs_mode

    @outputs_mode.setter
    def outputs_mode(self, mode: str) -> None:
        if mode not in OUTPUTS_MODES:
            msg = f"outputs_mode must be one of {', '.join(OUTPUTS_MODES)}"
            raise ValueError(msg)
        self._outputs_mode = mode

    @property
    def extra_identities(self) -> int:
        """Number of extra engagement identities (uids: ``extra_identity_ids``).

        Raises:
            ValueError: When assigned anything but an integer >= 0.
        """
        return self._extra_identities

    @extra_identities.setter
    def extra_identities(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            msg = "extra_identities must be an integer >= 0"
            raise ValueError(msg)
        self._extra_identities = value

    @property
    def preencode_outputs(self) -> bool:
        """Whether output pages are joined from items encoded once each (benchmarks)."""
        return self._preencode_outputs

    @preencode_outputs.setter
    def preencode_outputs(self, value: bool) -> None:
        self._preencode_outputs = bool(value)

    @property
    def variants(self) -> frozenset[str]:
        """The API variants in force (see :mod:`edges_sandbox.variants`); none by default.

        Assigning a collection of names replaces them all.
        """
        return self._variants

    @variants.setter
    def variants(self, names: Iterable[str]) -> None:
        self._variants = parse_variants(names)

    @property
    def inbox_threads(self) -> int:
        """Threads seeded in an identity's inbox the first time it is needed (default 8).

        Raises:
            ValueError: When assigned anything but an integer >= 0.
        """
        return self._inbox_threads

    @inbox_threads.setter
    def inbox_threads(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            msg = "inbox_threads must be an integer >= 0"
            raise ValueError(msg)
        self._inbox_threads = value

    @property
    def credits_max(self) -> float:
        """The workspace's credits per month (``credits_max``; default 10000).

        Raises:
            ValueError: When assigned anything but a number >= 0.
        """
        return self._credits_max

    @credits_max.setter
    def credits_max(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            msg = "credits_max must be a number >= 0"
            raise ValueError(msg)
        self._credits_max = value
