"""The checks of the config that JSON schema cannot express; each problem names its setting."""

from __future__ import annotations

import decimal
import re
import typing as t

from tap_edges.actions import (
    ACTIONS_BY_STREAM,
    COMPANY_PAGE_URLS,
    POST_AUTHORS,
    POST_URLS,
    THREAD_URLS,
)
from tap_edges.settings import DEFAULT_API_URL

if t.TYPE_CHECKING:
    from collections.abc import Iterator

POST_URL_PATTERN = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/(posts|feed)/[\w%-]+")
THREAD_ID_PATTERN = re.compile(r"(?<=thread/)\d.+?==|^\d.+?==")
# A company page URL as Edges takes it (edges-api.md section 8.6b): /company/<slug or id>.
COMPANY_URL_PATTERN = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/company/[\w%-]+")
# A profile URL as post activity takes it (edges-api.md section 12): /in/<handle>.
PROFILE_URL_PATTERN = re.compile(r"^https://(?:(www|[a-z]{2})\.)?linkedin\.com/in/[\w%-]+")
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
    POST_AUTHORS: (
        PROFILE_URL_PATTERN.match,
        "a LinkedIn profile URL (https://www.linkedin.com/in/<handle>)",
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
POSITIVE_SETTINGS = (
    "max_results",
    "max_results_ceiling",
    "runs_requests_per_minute",
    "poll_interval_seconds",
    "run_timeout_seconds",
    "thread_lookback_days",
    "post_window_days",
    "sandbox_run_seconds",
)


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
