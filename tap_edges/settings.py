"""The tap's settings: the config schema, the checks JSON schema cannot do, what streams need.

The schema is declared once: ``meltano.yml``, the Hub definition and the README's settings table
are kept in step with :data:`CONFIG_SCHEMA` by tests. :func:`stream_settings` computes, from the
config alone, what a stream needs (identities, inputs, cap).
"""

from __future__ import annotations

import dataclasses
import decimal
import re
import typing as t

from singer_sdk import typing as th

from tap_edges.actions import ACTIONS_BY_STREAM, COMPANY_PAGE_URLS, POST_URLS, THREAD_URLS

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_edges.actions import ActionSpec

DEFAULT_API_URL = "https://api.edges.run/v1"
DEFAULT_SANDBOX_PATH = ".sandbox/edges-sandbox.json"
DEFAULT_CEILING = 5000
REDACTED = "<redacted>"
# The documented LinkedIn post URL pattern (edges-api.md section 8.4) and thread id pattern.
POST_URL_PATTERN = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/(posts|feed)/[\w%-]+")
THREAD_ID_PATTERN = re.compile(r"(?<=thread/)\d.+?==|^\d.+?==")
# A company page URL as Edges takes it (edges-api.md section 8.6b): /company/<slug or id>.
COMPANY_URL_PATTERN = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/company/[\w%-]+")
# What each input setting's values must look like: a test, and how to say what was expected.
INPUT_FORMATS: dict[str, tuple[t.Callable[[str], object], str]] = {
    POST_URLS: (
        POST_URL_PATTERN.match,
        (
            "a LinkedIn post URL "
            "(https://www.linkedin.com/posts/... or https://www.linkedin.com/feed/...)"
        ),
    ),
    THREAD_URLS: (
        THREAD_ID_PATTERN.search,
        "a LinkedIn thread URL (https://www.linkedin.com/messaging/thread/2-...==/)",
    ),
    COMPANY_PAGE_URLS: (
        COMPANY_URL_PATTERN.match,
        "a LinkedIn company page URL (https://www.linkedin.com/company/<slug>/)",
    ),
}
# Meltano setting kind of each JSON schema type (meltano.yml and the Hub definition use them).
# No setting is a JSON schema "number": Meltano 4.4 reads a `decimal` setting from an
# environment variable as a Decimal, then fails to write the tap's config file ("Object of type
# Decimal is not JSON serializable"), and the SDK's `--config ENV` passes a number as a string.
# Durations are whole seconds and rates whole counts: `integer` passes from the environment.
MELTANO_KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}
POSITIVE_SETTINGS = (
    "max_results",
    "max_results_ceiling",
    "runs_requests_per_minute",
    "poll_interval_seconds",
    "run_timeout_seconds",
    "sandbox_run_seconds",
)

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType,
        secret=True,
        title="API key",
        description="Edges API key (Developer Settings in the Edges app), sent as X-API-Key. "
        "Required unless `sandbox` is true.",
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API URL",
        description="Root of the Edges API.",
    ),
    th.Property(
        "identity_ids",
        th.ArrayType(th.StringType),
        title="Identity IDs",
        description="Uids of the Edges engagement identities whose LinkedIn data is extracted "
        "(at least one). In sandbox mode, defaults to the sandbox's engagement identities.",
    ),
    th.Property(
        POST_URLS,
        th.ArrayType(th.StringType),
        default=[],
        title="Post URLs",
        description="LinkedIn post URLs (https://www.linkedin.com/posts/... or /feed/...): the "
        "inputs of post_commenters, post_likers and post_reposters.",
    ),
    th.Property(
        THREAD_URLS,
        th.ArrayType(th.StringType),
        default=[],
        title="Thread URLs",
        description="LinkedIn conversation thread URLs "
        "(https://www.linkedin.com/messaging/thread/2-...==/): the inputs of messages.",
    ),
    th.Property(
        COMPANY_PAGE_URLS,
        th.ArrayType(th.StringType),
        default=[],
        title="Company page URLs",
        description="LinkedIn company page URLs (https://www.linkedin.com/company/<slug>/): the "
        "inputs of page_followers. Each identity must be an admin of each page.",
    ),
    th.Property(
        "max_results",
        th.IntegerType,
        default=100,
        title="Max results per run",
        description="Most items Edges fetches per run iteration. New items beyond it between "
        "two syncs are dropped by Edges: raise it, or sync more often, when the tap warns.",
    ),
    th.Property(
        "max_results_per_stream",
        th.ObjectType(additional_properties=th.IntegerType),
        title="Max results per stream",
        description='Overrides of max_results by stream name, e.g. {"connections": 500}.',
    ),
    th.Property(
        "adaptive_max_results",
        th.BooleanType,
        default=True,
        title="Adaptive max results",
        description="When a continued batch is full (Edges may have dropped items), relaunch "
        "the partition next sync with twice its max_results, up to max_results_ceiling: the "
        "fresh run's first extraction brings back the newest dropped items and later batches "
        "stop overflowing. When false, the tap only warns.",
    ),
    th.Property(
        "max_results_ceiling",
        th.IntegerType,
        default=DEFAULT_CEILING,
        title="Max results ceiling",
        description="The largest max_results adaptive_max_results grows a partition to. "
        "Edges' own maximum per action applies too: a cap it refuses is not tried again.",
    ),
    th.Property(
        "poll_interval_seconds",
        th.IntegerType,
        default=15,
        title="Poll interval (seconds)",
        description="Longest wait between two status polls of the runs in flight (polling "
        "starts quicker and backs off to this).",
    ),
    th.Property(
        "run_timeout_seconds",
        th.IntegerType,
        default=3600,
        title="Run timeout (seconds)",
        description="How long a sync waits for a run. A run still going then stays in the "
        "state and the next sync waits for it; this sync reports it as failed.",
    ),
    th.Property(
        "runs_requests_per_minute",
        th.IntegerType,
        default=30,
        title="Runs requests per minute",
        description="The plan's budget for /v1/runs/* requests (Trial 30, Bronze 60, Silver "
        "and Gold 150, Platinum and Diamond 300, Titanium 600). The tap stays under it.",
    ),
    th.Property(
        "callback_url",
        th.StringType,
        title="Callback URL",
        description="Optional HTTPS URL passed to Edges as each run's callback.",
    ),
    th.Property(
        "sandbox",
        th.BooleanType,
        default=False,
        title="Sandbox",
        description="Serve the tap from the bundled Edges sandbox (a local emulator with a "
        "simulated LinkedIn world) instead of the real API. api_key and api_url are ignored.",
    ),
    th.Property(
        "sandbox_path",
        th.StringType,
        default=DEFAULT_SANDBOX_PATH,
        title="Sandbox world file",
        description="File where the sandbox keeps its world and runs between syncs.",
    ),
    th.Property(
        "sandbox_run_seconds",
        th.IntegerType,
        default=3,
        title="Sandbox run duration (seconds)",
        description="How long each sandbox run takes.",
    ),
    th.Property(
        "sandbox_outputs_mode",
        th.StringType,
        default="cumulative",
        allowed_values=["cumulative", "cumulative-newest", "latest"],
        title="Sandbox outputs layout",
        description="How the sandbox serves a continued run's outputs (Edges does not say): "
        "every iteration oldest first (cumulative), newest first (cumulative-newest), or only "
        "the newest iteration (latest).",
    ),
    th.Property(
        "sandbox_variants",
        th.ArrayType(th.StringType),
        title="Sandbox API variants",
        description="Other ways the sandbox answers what Edges' docs leave open, e.g. no_name, "
        "clamp_max_results, no_max_results_echo, no_extracted_at, epoch_ms_extracted_at, "
        "epoch_s_extracted_at, naive_extracted_at, refuse_offset, queue, no_data_failed, "
        "posts_not_incremental (see the README).",
    ),
    th.Property(
        "sandbox_growth_per_minute",
        th.IntegerType,
        default=3,
        title="Sandbox growth per minute",
        description="New items the sandbox world gains per feed and minute, so successive "
        "syncs have something new to load.",
    ),
).to_dict()


# The tap's own settings (the SDK later appends its built-ins to the class's schema in place).
SETTING_NAMES = tuple(CONFIG_SCHEMA["properties"])
SECRET_SETTINGS = frozenset(
    name for name in SETTING_NAMES if CONFIG_SCHEMA["properties"][name].get("secret")
)


def settings_in_effect(config: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The tap's own settings as it sees them, for the log: secrets only say they are set.

    Args:
        config: The tap config (defaults applied).

    Returns:
        Each of the tap's own settings present in the config, in schema order.
    """
    return {
        name: REDACTED if name in SECRET_SETTINGS else config[name]
        for name in SETTING_NAMES
        if name in config
    }


def config_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    """Check what JSON schema cannot: each problem names its setting.

    Args:
        config: The tap config.

    Returns:
        One message per problem; empty when the config is usable.
    """
    checks = (_credentials, _callback, _inputs, _numbers, _overrides)
    return [problem for check in checks for problem in check(config)]


def _credentials(config: t.Mapping[str, t.Any]) -> Iterator[str]:
    if config.get("sandbox"):
        return
    if not config.get("api_key"):
        yield "Setting 'api_key': required (or set 'sandbox' to true)."
    if not config.get("identity_ids"):
        yield "Setting 'identity_ids': give at least one engagement identity uid."
    if not str(config.get("api_url", DEFAULT_API_URL)).startswith(("http://", "https://")):
        yield "Setting 'api_url': must be an http(s) URL."


def _callback(config: t.Mapping[str, t.Any]) -> Iterator[str]:
    url = config.get("callback_url")
    scheme = "https://"
    if url and not (isinstance(url, str) and url.lower().startswith(scheme) and url != scheme):
        yield f"Setting 'callback_url': {url!r} is not an HTTPS URL (Edges calls it back)."


def _inputs(config: t.Mapping[str, t.Any]) -> Iterator[str]:
    for setting, (fits, expected) in INPUT_FORMATS.items():
        for value in config.get(setting) or []:
            if not fits(str(value)):
                yield f"Setting '{setting}': {value!r} is not {expected}."


def _numbers(config: t.Mapping[str, t.Any]) -> Iterator[str]:
    for name in POSITIVE_SETTINGS:
        if name in config and not _positive(config[name]):
            yield f"Setting '{name}': must be a positive number, got {config[name]!r}."


def _overrides(config: t.Mapping[str, t.Any]) -> Iterator[str]:
    for stream, value in (config.get("max_results_per_stream") or {}).items():
        if stream not in ACTIONS_BY_STREAM:
            known = ", ".join(ACTIONS_BY_STREAM)
            yield f"Setting 'max_results_per_stream': unknown stream {stream!r} (one of {known})."
        elif not _positive(value) or not isinstance(value, int):
            yield (
                f"Setting 'max_results_per_stream': {stream} must be a positive integer, "
                f"got {value!r}."
            )


def _positive(value: object) -> bool:
    numeric = isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)
    return numeric and t.cast("float", value) > 0


@dataclasses.dataclass(frozen=True)
class StreamSettings:
    """What one stream needs from the config, read once when the tap builds its streams."""

    identity_ids: tuple[str, ...]
    inputs: tuple[str, ...]  # the values of the action's input setting; empty if it takes none
    max_results: int


def stream_settings(config: t.Mapping[str, t.Any], spec: ActionSpec) -> StreamSettings:
    """What the stream of one action needs from the config.

    Args:
        config: The tap config (defaults applied).
        spec: The stream's action.

    Returns:
        The stream's identities, inputs and per-iteration cap.
    """
    inputs = tuple(config.get(spec.input_setting) or ()) if spec.input_setting else ()
    return StreamSettings(
        identity_ids=identity_ids(config),
        inputs=inputs,
        max_results=max_results_for(config, spec.stream),
    )


def identity_ids(config: t.Mapping[str, t.Any]) -> tuple[str, ...]:
    """The identities to extract with: the configured ones, else the sandbox's in sandbox mode.

    Args:
        config: The tap config.

    Returns:
        The engagement identity uids.
    """
    configured = tuple(config.get("identity_ids") or ())
    if configured or not config.get("sandbox"):
        return configured
    from edges_sandbox import ENGAGEMENT_IDENTITY_IDS  # noqa: PLC0415 (only in sandbox mode)

    return tuple(ENGAGEMENT_IDENTITY_IDS)


def max_results_for(config: t.Mapping[str, t.Any], stream: str) -> int:
    """The per-iteration cap of one stream: its override, else ``max_results``.

    Args:
        config: The tap config.
        stream: The stream name.

    Returns:
        The cap.
    """
    overrides = config.get("max_results_per_stream") or {}
    return int(overrides.get(stream, config.get("max_results", 100)))
