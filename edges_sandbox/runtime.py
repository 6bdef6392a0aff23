"""Settings that tests and operators may change while the sandbox is serving."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from edges_sandbox.faults import Faults
from edges_sandbox.validation import MAX_RESULTS_LIMIT
from edges_sandbox.variants import parse_variants

if TYPE_CHECKING:
    from collections.abc import Iterable

OUTPUTS_MODES = ("cumulative", "cumulative-newest", "latest")


@dataclass
class Runtime:
    """Mutable settings shared by the engine and the HTTP layer.

    Attributes:
        api_key: The key every ``/v1`` request must send in ``X-API-Key``.
        run_seconds: Duration of new iterations.
        outputs_mode: ``cumulative`` (outputs of every finished iteration, oldest iteration
            first), ``cumulative-newest`` (the same, newest iteration first) or ``latest``.
        faults: The faults in force.
        max_results_limit: Largest ``parameters.max_results`` a launch may ask for (1000 like
            Edges; benchmarks raise it to get huge batches).
        extra_identities: Number of extra engagement identities (see
            :func:`edges_sandbox.identities.extra_identity_ids`).
        preencode_outputs: Serve output pages joined from items encoded once each (for
            benchmarks; the bytes served are the same).
        variants: The API variants in force (see :mod:`edges_sandbox.variants`); none by
            default.
    """

    api_key: str
    run_seconds: float
    outputs_mode: str = "cumulative"
    faults: Faults = field(default_factory=Faults)
    max_results_limit: int = MAX_RESULTS_LIMIT
    extra_identities: int = 0
    preencode_outputs: bool = False
    variants: frozenset[str] = frozenset()

    def set_outputs_mode(self, mode: str) -> None:
        """Switch the outputs mode.

        Args:
            mode: One of :data:`OUTPUTS_MODES`.

        Raises:
            ValueError: For any other value.
        """
        if mode not in OUTPUTS_MODES:
            msg = f"outputs_mode must be one of {', '.join(OUTPUTS_MODES)}"
            raise ValueError(msg)
        self.outputs_mode = mode

    def set_variants(self, names: Iterable[str]) -> None:
        """Replace the API variants in force.

        Args:
            names: Variant names (see :data:`edges_sandbox.variants.VARIANTS`).
        """
        self.variants = parse_variants(names)
