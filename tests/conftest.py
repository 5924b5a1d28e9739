"""Markers by what a test starts: any test that runs real Redis, as processes or in containers, is an
`integration` test, so `-m "not integration"` stays the fast selection (no processes, no engine)."""

import sys

import pytest

REAL_REDIS_FIXTURES = {"deployment", "stable_deployment", "make_deployment", "loopback", "docker_engine", "pod_engine"}


def pytest_collection_modifyitems(items):
    for item in items:
        uses_real_redis = REAL_REDIS_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses_real_redis or item.get_closest_marker("docker") or item.get_closest_marker("pods"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def nothing_the_suite_started_outlives_it():
    """Every process the loopback harness started (tagged with its run id, harness/local.py) has ended by the end of
    the session; anything left is killed and reported as an error."""
    yield
    local = sys.modules.get("harness.local")
    if local is not None:
        left = local.end_leftovers()
        assert not left, f"processes started by the suite outlived it (now killed): {left}"
