"""The tap's client against the sandbox over real HTTP: gateway answers and identities.

Time is injected (the waits are recorded, not slept); the sandbox answers on a real socket.
"""

from __future__ import annotations

import logging
import typing as t

import pytest
from runskit import FakeTime

from edges_sandbox import ENGAGEMENT_IDENTITY_IDS, STANDARD_IDENTITY_ID, Sandbox
from edges_sandbox.clock import ManualClock
from tap_edges import errors
from tap_edges.api.client import EdgesClient, _json_object, check_identities
from tap_edges.api.pacing import RateBudget
from tap_edges.api.transport import Transport

if t.TYPE_CHECKING:
    from collections.abc import Iterator

LOGGER = logging.getLogger("test-client-sandbox")
GATEWAY_PAGE = "sandbox gateway"  # in every page the sandbox's gateway faults answer


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_seconds=1.0, clock=ManualClock()) as sb:
        yield sb


def client_for(sandbox: Sandbox, fake: FakeTime, max_tries: int = 8) -> EdgesClient:
    budget = RateBudget(6000, clock=fake.clock, sleep=fake.sleep)
    http = Transport(
        sandbox.base_url,
        sandbox.api_key,
        budget=budget,
        logger=LOGGER,
        max_tries=max_tries,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    return EdgesClient(http)


def assert_body_never_logged_above_debug(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        if record.levelno > logging.DEBUG:
            assert GATEWAY_PAGE not in record.getMessage()
            assert "<html" not in record.getMessage()


def test_gateway_429_without_json_is_retried_after_its_retry_after(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.settings.set_faults(gateway_429_every=2, gateway_retry_after=7)
    fake = FakeTime()
    client = client_for(sandbox, fake)
    assert client.list_runs(["a"]) == []
    assert client.list_runs(["b"]) == []  # the 2nd request gets the 429, the retry passes
    assert [entry["status"] for entry in sandbox.requests.entries()] == [200, 429, 200]
    assert len(fake.slept) == 1
    assert 7 <= fake.slept[0] < 8
    assert any("HTTP 429; retry" in record.getMessage() for record in caplog.records)
    assert_body_never_logged_above_debug(caplog)


def test_gateway_5xx_with_html_are_retried_like_any_other(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.settings.set_faults(gateway_5xx_every=2)
    fake = FakeTime()
    client = client_for(sandbox, fake)
    for _ in range(4):
        assert client.list_runs(["a"]) == []
    statuses = [entry["status"] for entry in sandbox.requests.entries()]
    assert statuses == [200, 502, 200, 503, 200, 504, 200]
    retried = [record.getMessage() for record in caplog.records if "; retry" in record.getMessage()]
    assert [message.split(" -> ")[1].split(";")[0] for message in retried] == [
        "HTTP 502",
        "HTTP 503",
        "HTTP 504",
    ]
    assert_body_never_logged_above_debug(caplog)


def test_gateway_5xx_to_the_last_try_is_an_error_without_the_page(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.settings.set_faults(gateway_5xx_every=1)
    client = client_for(sandbox, FakeTime(), max_tries=3)
    with pytest.raises(errors.RetriesExhaustedError) as raised:
        client.list_runs(["a"])
    assert "HTTP 504" in str(raised.value)
    assert "after 3 attempts" in str(raised.value)
    assert GATEWAY_PAGE not in str(raised.value)
    assert "<html" not in str(raised.value)
    assert_body_never_logged_above_debug(caplog)


# --- the identity check reads the listing as Edges shows it ---------------------------------


def identity_requests(sandbox: Sandbox) -> list[tuple[str, dict[str, list[str]]]]:
    return [
        (entry["path"], entry["query"])
        for entry in sandbox.requests.entries()
        if entry["path"].startswith("/v1/identities")
    ]


@pytest.mark.parametrize("variants", [[], ["identity_accounts"]], ids=["integrations", "accounts"])
def test_identity_check_reads_one_listing_with_the_accounts(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, variants: list[str]
) -> None:
    sandbox.settings.variants = variants
    client = client_for(sandbox, FakeTime())
    check_identities(client, ENGAGEMENT_IDENTITY_IDS)
    assert identity_requests(sandbox) == [("/v1/identities", {"retrieve_accounts": ["true"]})]
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_identity_check_refuses_a_standard_identity(sandbox: Sandbox) -> None:
    client = client_for(sandbox, FakeTime())
    with pytest.raises(errors.IdentityError, match="standard identity"):
        check_identities(client, [ENGAGEMENT_IDENTITY_IDS[0], STANDARD_IDENTITY_ID])


def test_identity_check_asks_for_an_identity_the_listing_lacks(sandbox: Sandbox) -> None:
    # The listing may be paged or filtered: an identity it lacks is read on its own.
    client = client_for(sandbox, FakeTime())
    with pytest.raises(errors.IdentityError, match="identity nope is not known to Edges"):
        check_identities(client, ["nope"])
    assert identity_requests(sandbox) == [
        ("/v1/identities", {"retrieve_accounts": ["true"]}),
        ("/v1/identities/nope", {"retrieve_accounts": ["true"]}),
    ]


@pytest.mark.parametrize("key", ["integrations", "accounts"])
def test_identity_check_warns_when_no_account_is_connected(
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
) -> None:
    client = client_for(sandbox, FakeTime())
    listed = [
        {"uid": uid, "type": "engagement", "integrations": [], key: []}
        for uid in ENGAGEMENT_IDENTITY_IDS
    ]
    monkeypatch.setattr(client, "list_identities", lambda **_: listed)
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        check_identities(client, ENGAGEMENT_IDENTITY_IDS)
    warned = [record.getMessage() for record in caplog.records]
    assert len(warned) == 2
    assert all("no connected LinkedIn account" in message for message in warned)
    assert ENGAGEMENT_IDENTITY_IDS[1] in warned[1]


def test_identity_check_is_quiet_when_the_listing_says_nothing_of_accounts(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(sandbox, FakeTime())
    listed = [{"uid": uid, "type": "engagement"} for uid in ENGAGEMENT_IDENTITY_IDS]
    monkeypatch.setattr(client, "list_identities", lambda **_: listed)
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        check_identities(client, ENGAGEMENT_IDENTITY_IDS)
    assert caplog.records == []


def test_an_answer_of_the_wrong_shape_is_an_error_naming_its_path(sandbox: Sandbox) -> None:
    """The path a shape error names is the one the answer came from (the transport's)."""
    answer = client_for(sandbox, FakeTime()).http.request("GET", "/identities")
    assert answer.path == "/v1/identities"
    assert isinstance(answer.data, list)
    with pytest.raises(errors.ResponseError) as raised:
        _json_object(answer)
    assert str(raised.value) == "/v1/identities: expected a JSON object, got list"
