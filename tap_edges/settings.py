"""The tap's settings: the config schema, the checks JSON schema cannot do, what streams need.

The schema is declared once: ``meltano.yml``, the Hub definition and the README's settings table
are kept in step with :data:`CONFIG_SCHEMA` by tests. :func:`stream_settings` computes, from the
config alone, what a stream needs (identities, inputs, cap).
"""

from __future__ import annotations

import dataclasses
import typing as t

from singer_sdk import typing as th

from tap_edges.actions import (
    ACTIONS_BY_STREAM,
    COMPANY_PAGE_URLS,
    POST_AUTHORS,
    POST_URLS,
    THREAD_URLS,
)

if t.TYPE_CHECKING:
    from tap_edges.actions import ActionSpec

DEFAULT_API_URL = "https://api.edges.run/v1"
DEFAULT_SANDBOX_PATH = ".sandbox/edges-sandbox.json"
DEFAULT_CEILING = 5000
REDACTED = "<redacted>"
# The documented LinkedIn post URL pattern (edges-api.md section 8.4) and thread id pattern.
MELTANO_KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}
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
        description="LinkedIn post URLs (https://www.linkedin.com/posts/... or /feed/...) "
        "followed by post_commenters, post_likers and post_reposters for good, besides the "
        "posts found from post_authors.",
    ),
    th.Property(
        POST_AUTHORS,
        th.ArrayType(th.StringType),
        default=[],
        title="Post authors",
        description="LinkedIn profile URLs (https://www.linkedin.com/in/<handle>) whose posts "
        "the posts stream lists every sync (paid per post listed: see "
        "max_results_per_stream.posts, 20 by default); post_commenters, post_likers and "
        "post_reposters follow the posts published within post_window_days.",
    ),
    th.Property(
        "discover_posts",
        th.BooleanType,
        default=True,
        title="Discover posts",
        description="List the posts of post_authors every sync (the posts stream) and follow "
        "those within post_window_days; when post_authors is empty, each identity's own "
        "profile (found once with Edges' linkedin-me). Listing is paid per post listed.",
    ),
    th.Property(
        "post_window_days",
        th.IntegerType,
        default=30,
        title="Post window (days)",
        description="Posts found from post_authors are followed while they are younger than "
        "this; an older post is no longer continued (its bookmark is kept).",
    ),
    th.Property(
        "follow_reshares",
        th.BooleanType,
        default=False,
        title="Follow reshares",
        description="Follow the engagement of the post_authors' reshares too, not only of "
        "their original posts.",
    ),
    th.Property(
        THREAD_URLS,
        th.ArrayType(th.StringType),
        default=[],
        title="Thread URLs",
        description="LinkedIn conversation thread URLs "
        "(https://www.linkedin.com/messaging/thread/2-...==/) read by messages every sync, "
        "besides the threads discover_threads finds.",
    ),
    th.Property(
        "discover_threads",
        th.BooleanType,
        default=True,
        title="Discover threads",
        description="List each identity's conversations every sync (the conversations stream, "
        "free with an engagement identity) and read the messages of every thread with new "
        "activity; an idle thread costs nothing.",
    ),
    th.Property(
        "thread_lookback_days",
        th.IntegerType,
        default=30,
        title="Thread lookback (days)",
        description="A thread the tap does not follow yet is read when it was active within "
        "this many days (on the first sync: how far back messages go).",
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
        "posts_not_incremental, type_drift, identity_accounts (see the README).",
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


@dataclasses.dataclass(frozen=True)
class StreamSettings:
    """What one stream needs from the config, read once when the tap builds its streams."""

    identity_ids: tuple[str, ...]
    inputs: tuple[str, ...]  # the values of the action's input setting; empty if it takes none
    max_results: int
    discover: bool = True  # False: a listing switched off (discover_threads false)


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
        discover=_discovers(config, spec),
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
    spec = ACTIONS_BY_STREAM.get(stream)
    default = spec.default_max_results if spec else None
    return int(overrides.get(stream, default or config.get("max_results", 100)))


def _discovers(config: t.Mapping[str, t.Any], spec: ActionSpec) -> bool:
    """Whether the stream's partitions may exist: a listing switched off has none."""
    if spec.lists == THREAD_URLS:
        return bool(config.get("discover_threads", True))
    if spec.lists == POST_URLS:
        return bool(config.get("discover_posts", True))
    return True
