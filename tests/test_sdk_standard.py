"""The singer-sdk standard tap test suite, for every stream, against the bundled sandbox."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tapkit import COMPANY_PAGE_URLS, POST_URLS, THREAD_URLS

from tap_edges.tap import TapEdges

# The class is built at collection time, so its sandbox world lives in a temporary folder.
WORLD = Path(tempfile.mkdtemp(prefix="tap-edges-sdk-suite-")) / "world.json"

SANDBOX_CONFIG = {
    "sandbox": True,
    "sandbox_path": str(WORLD),
    "sandbox_run_seconds": 1,
    "post_urls": POST_URLS,
    "thread_urls": THREAD_URLS,
    "company_page_urls": COMPANY_PAGE_URLS,
    # The listings feed messages and the post streams besides the URLs above (discovery).
    "post_authors": ["https://www.linkedin.com/in/ada-lovelace"],
    "poll_interval_seconds": 1,
    "runs_requests_per_minute": 6000,
    # Edges' value types drift in this world, so the suite's checks of every schema attribute
    # (each holds values of its type) also cover what the tap keeps aside: edges_extra and
    # edges_unreconciled.
    "sandbox_variants": ["type_drift"],
}

# The suite's tests read one sync, made once per class: they stay on one xdist worker.
TestTapEdges = pytest.mark.xdist_group("sdk-standard")(
    get_tap_test_class(
        TapEdges,
        config=SANDBOX_CONFIG,
        suite_config=SuiteConfig(max_records_limit=None),
    )
)
