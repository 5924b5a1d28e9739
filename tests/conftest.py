"""Markers by what a test starts: any test that runs real Redis, as processes or in containers, is an
`integration` test, so `-m "not integration"` stays the fast selection (no processes, no engine)."""

import pytest

REAL_REDIS_FIXTURES = {"deployment", "make_deployment", "loopback", "docker_engine", "pod_engine"}


def pytest_collection_modifyitems(items):
    for item in items:
        uses_real_redis = REAL_REDIS_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses_real_redis or item.get_closest_marker("docker") or item.get_closest_marker("pods"):
            item.add_marker(pytest.mark.integration)
