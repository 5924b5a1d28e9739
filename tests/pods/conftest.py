"""Fixtures of the tests that run the prod stack's pod specs on the local Docker engine (harness/pod_runner.py).

Without an engine these tests fail when CI is set and skip (saying why) otherwise. The session's pods are deployed
once (about 35 s) and shared by the modules that keep its pod set, in file order: test_deploy (read-only checks),
test_handover (deletes the master pod), test_rotation, test_rolling_update (a config change). test_scaling and
test_upgrade change the pod set or start from another version: each deploys its own cluster (running_cluster), so
they run beside the others (tests/conftest.py groups tests by the deployment they share). Everything is torn down
when its fixture ends, also after a failing test, and the teardown is checked to have left nothing.
"""

from __future__ import annotations

import pytest

from harness.engine import engine_or_skip, ensure_images
from harness.pod_session import assert_healthy, running_cluster


@pytest.fixture(scope="session")
def pod_engine():
    """The engine, with the Redis and exporter images present (built by images/build, never pulled)."""
    from harness.pod_runner import EXPORTER_IMAGE, REDIS_IMAGE

    engine = engine_or_skip("pods tests")
    ensure_images(engine, {REDIS_IMAGE: "redis", EXPORTER_IMAGE: "exporter"})
    return engine


@pytest.fixture(scope="session")
def cluster(pod_engine):
    """The session's cluster, shared by the modules that do not change its pod set."""
    with running_cluster() as made:
        yield made


@pytest.fixture
def healthy(cluster):
    """Every test starts from a healthy deployment (one master, replicas linked, Sentinels agreeing)."""
    return assert_healthy(cluster)
