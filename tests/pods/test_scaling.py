"""Scaling a running prod stack as `pulumi up` does it: replicaCount 2 -> 3 -> 1 and sentinelCount 3 -> 5 -> 3 with
quorum 2 -> 3 -> 2 (changed together: a scale-up step, then a scale-down step). After each step the deployment
checks healthy, the check Job passes, every Sentinel knows exactly the declared replicas and peers, and a
Sentinel-aware writer running through both steps loses nothing. On a cluster of its own (it changes the pod
set)."""

from __future__ import annotations

import time

import pytest

from components.checks import HEALTHY
from harness.pod_session import FIGURES, assert_healthy, running_cluster
from harness.program import run_program

pytestmark = pytest.mark.pods

STEPS = [{"replicaCount": 3, "sentinelCount": 5, "quorum": 3}, {"replicaCount": 1, "sentinelCount": 3, "quorum": 2}]


def sentinel_view(cluster, pod) -> tuple[int, int]:
    """(replicas, other Sentinels) that the Sentinel in `pod` knows."""
    client, name = cluster.client(pod), cluster.outputs["masterName"]
    return len(client.execute_command("SENTINEL", "REPLICAS", name)), len(
        client.execute_command("SENTINEL", "SENTINELS", name)
    )


@pytest.fixture(scope="module")
def own_cluster(pod_engine):
    with running_cluster() as made:
        yield made


def test_replicas_and_sentinels_scale_up_and_down_with_the_checks_green_and_no_write_lost(own_cluster):
    cluster = assert_healthy(own_cluster)
    figures = {}
    writer = cluster.writer(threads=2).start()
    try:
        writer.wait_for_writes(100)
        for step in STEPS:
            started = time.monotonic()
            program = run_program("prod", {**cluster.overrides, **step})
            rollout = cluster.rolling_update(program, timeout=120)
            cluster.overrides.update(step)
            report = cluster.check(settle_seconds=90)
            job = cluster.run_job()
            views = {pod: sentinel_view(cluster, pod) for pod in cluster.sentinel_names()}
            figures[f"replicas {step['replicaCount']}, sentinels {step['sentinelCount']}"] = {
                "seconds": round(time.monotonic() - started, 1),
                "added": rollout.added,
                "removed": rollout.removed,
                "replaced": rollout.pods,
            }
            assert report.status == HEALTHY, report.summary()
            assert job.exit_code == 0, job.output
            expected = (step["replicaCount"], step["sentinelCount"] - 1)
            assert views == {pod: expected for pod in cluster.sentinel_names()}, views
            assert len(cluster.redis_names()) == step["replicaCount"] + 1
            writer.wait_for_writes(100)
    finally:
        writer.stop()
    lost = writer.lost()
    figures.update(acknowledged=len(writer.acknowledged), lost=len(lost))
    FIGURES["scaling"] = figures
    assert lost == []
