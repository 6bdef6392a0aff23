"""The typed error tree of tap-edges.

Every error renders as one readable line that names what failed (a setting, an HTTP call, a
run) and never contains the API key or raw response bodies.
"""

from __future__ import annotations


class EdgesError(Exception):
    """Base class of every error raised by tap-edges."""


class ConfigError(EdgesError):
    """A setting is missing or invalid; raised before any API call."""

    def __init__(self, setting: str, problem: str) -> None:
        """Name the setting and what is wrong with it.

        Args:
            setting: The config setting at fault.
            problem: What is wrong, phrased so the user knows how to fix it.
        """
        self.setting = setting
        super().__init__(f"Setting '{setting}': {problem}")


class IdentityError(ConfigError):
    """A configured identity is unknown to Edges or is not an engagement identity."""

    def __init__(self, problem: str) -> None:
        """Name the identity setting and the problem.

        Args:
            problem: What is wrong with which identity.
        """
        super().__init__("identity_ids", problem)


class TransportError(EdgesError):
    """The API could not be reached (connection error, timeout) after every retry."""


class ResponseError(EdgesError):
    """The API answered something the tap cannot read (non-JSON, missing fields)."""


class APIError(EdgesError):
    """The API answered with an error status.

    Attributes:
        method: HTTP method of the failed call.
        path: URL path of the failed call (no query string, no host).
        status: HTTP status code.
        label: Edges `error_label` (e.g. ``BAD_PARAMETERS``), if the body carried one.
        ref: Edges `error_ref` for support, if any.
        detail: Edges `message`, if any.
    """

    def __init__(  # noqa: PLR0913
        self,
        *,
        method: str,
        path: str,
        status: int,
        label: str | None = None,
        ref: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Build the one-line description of a failed call.

        Args:
            method: HTTP method.
            path: URL path.
            status: HTTP status code.
            label: Edges error label.
            ref: Edges error reference.
            detail: Edges error message.
        """
        self.method, self.path, self.status = method, path, status
        self.label, self.ref, self.detail = label, ref, detail
        parts = [f"{method} {path} -> HTTP {status}"]
        if label:
            parts.append(label)
        if detail:
            parts.append(detail)
        if ref:
            parts.append(f"ref {ref}")
        super().__init__(": ".join(parts[:2]) + "".join(f" ({p})" for p in parts[2:]))


class AuthError(APIError):
    """The API key was rejected (401) or lacks permission (403)."""

    def __str__(self) -> str:
        """One line that says what to fix, without the key."""
        what = "rejected" if self.status == 401 else "not allowed to do this"  # noqa: PLR2004
        ref = f", ref {self.ref}" if self.ref else ""
        return (
            f"Edges {what} the API key (HTTP {self.status} {self.label or ''} on "
            f"{self.method} {self.path}{ref}): check the 'api_key' setting."
        )


class NotFoundError(APIError):
    """The resource does not exist (404)."""


class RetriesExhaustedError(APIError):
    """A retryable status (429, 5xx) persisted through every retry."""


class RunError(EdgesError):
    """A partition's run cannot deliver this sync (failed, timed out, not continuable)."""

    def __init__(self, partition: str, run_uid: str | None, reason: str) -> None:
        """Name the partition, the run and the reason.

        Args:
            partition: Human label of the partition.
            run_uid: The Edges run uid, if one exists.
            reason: What went wrong, including the Edges error label when known.
        """
        self.partition, self.run_uid, self.reason = partition, run_uid, reason
        super().__init__(f"{partition}: run {run_uid or '-'}: {reason}")


class AmbiguousError(EdgesError):
    """A call that is not safe to repeat got no clear answer: it may or may not have been applied.

    A launch or a continue whose answer was a 5xx, a timeout, a dropped connection or a
    page that is not JSON. The caller looks at the API to learn what happened before it sends
    the call again.
    """


class StateFileError(EdgesError):
    """The state file given with ``--state`` cannot be read as a Singer state."""

    def __init__(self, name: str, problem: str) -> None:
        """Say what is wrong with the file, and what to do.

        Args:
            name: The file's name.
            problem: What is wrong.
        """
        super().__init__(
            f"State file {name} {problem}. Fix it, or start without a state (every partition "
            "then launches a fresh run)."
        )
