"""Fixtures shared by the test files."""

from __future__ import annotations

import typing as t

import pytest
import requests

from edges_sandbox import DEFAULT_API_KEY

if t.TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """An HTTP session that sends the sandbox's default API key."""
    with requests.Session() as session:
        session.headers["X-API-Key"] = DEFAULT_API_KEY
        yield session
