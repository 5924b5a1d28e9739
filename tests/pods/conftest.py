"""Fixtures of the tests that run the prod stack's pod specs on the local Docker engine (harness/pod_runner.py).

Without an engine these tests fail when CI is set and skip (saying why) otherwise. The pods are deployed once
per session (about 35 s) and shared by the modules, in file order: test_deploy (read-only checks),
test_handover (deletes the master pod), test_rolling_update (a config change, last). Everything is torn down
when the session ends, also after a failing test, and the teardown is checked to have left nothing.
"""

from __future__ import annotations

import pytest

from harness.engine import engine_or_skip, ensure_images

FIGURES: dict[str, object] = {}  # measured figures, printed at the end of the session


@pytest.fixture(scope="session")
def pod_engine():
    """The engine, with the Redis and exporter images present (built by images/build, never pulled)."""
    from harness.pod_runner import EXPORTER_IMAGE, REDIS_IMAGE

    engine = engine_or_skip("pods tests")
    ensure_images(engine, {REDIS_IMAGE: "redis", EXPORTER_IMAGE: "exporter"})
    return engine


@pytest.fixture(scope="session")
def cluster(pod_engine):
    """The prod stack's pods, deployed and ready; torn down at the end of the session."""
    from harness.pod_runner import PodCluster

    made = PodCluster()
    try:
        FIGURES["pod start to ready (s)"] = {pod: round(s, 1) for pod, s in made.deploy(timeout=120).items()}
        yield made
    finally:
        try:
            made.teardown()
        finally:
            left = made.leftovers()
            print("\nfigures:", FIGURES)
            assert left == [], f"teardown left {left}"


@pytest.fixture
def healthy(cluster):
    """Every test starts from a healthy deployment (one master, replicas linked, Sentinels agreeing)."""
    from components.checks import HEALTHY

    report = cluster.check(settle_seconds=30)
    assert report.status == HEALTHY, f"{report.summary()}\n{cluster.logs()}"
    return cluster
