"""probe.sh, the Docker healthcheck and Kubernetes probe script, run for real on loopback deployments."""

import pytest

from harness.runtime import wait_until

pytestmark = pytest.mark.integration


def test_probes(deployment):
    for name in ("redis-master", "redis-replica-1"):
        assert deployment.probe(name, "redis-alive") == 0
        assert deployment.probe(name, "redis-ready") == 0
    assert deployment.probe("sentinel-1", "sentinel-alive") == 0
    assert deployment.probe("sentinel-1", "sentinel-ready") == 0
    assert deployment.probe("sentinel-1", "nonsense") == 2

    # a replica whose master is gone is alive but not ready (Sentinels stopped first: no failover)
    for sentinel in deployment.topology.sentinels:
        deployment.kill(sentinel.name)
    deployment.kill("redis-master")
    wait_until(
        lambda: deployment.probe("redis-replica-1", "redis-ready") == 1,
        timeout=10,
        what="redis-ready to fail on a replica without its master",
    )
    assert deployment.probe("redis-replica-1", "redis-alive") == 0
    assert deployment.probe("sentinel-1", "sentinel-alive") == 1


def test_a_replica_is_ready_only_while_linked_to_a_master(deployment):
    assert deployment.probe("redis-replica-1", "redis-ready") == 0
    assert deployment.probe("redis-master", "redis-ready") == 0
    old = "redis-master"
    deployment.kill("redis-master")
    wait_until(lambda: deployment.probe("redis-replica-1", "redis-ready") == 1, 5, what="replica unready")
    assert deployment.probe("redis-replica-1", "redis-alive") == 0  # alive: not restarted for its master

    # the Sentinels promote one replica; the other links to it and is ready again
    wait_until(lambda: set(deployment.sentinel_masters().values()) - {old, None}, 20, what="a failover")
    for name in ("redis-replica-1", "redis-replica-2"):
        wait_until(lambda name=name: deployment.probe(name, "redis-ready") == 0, 20, what=f"{name} ready")
