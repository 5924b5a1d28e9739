"""A rollout that repairs: a replica crash-loops on too little memory, and one `pulumi up` with more memory fixes
it (the incident: harness/repair.py): the crash-looping pod is replaced first, the master last, so one failover at
most, and a Sentinel-aware writer running throughout loses nothing. On a cluster of its own (it breaks a pod)."""

from __future__ import annotations

import pytest

from components.checks import HEALTHY
from harness.pod_session import FIGURES, running_cluster
from harness.repair import CRASHING, KEYS, ORIGINAL, crash_loop_then_repair
from harness.runtime import wait_until

pytestmark = pytest.mark.pods


@pytest.fixture(scope="module")
def own_cluster(pod_engine):
    with running_cluster(maxmemory=ORIGINAL) as made:
        yield made


def test_a_replica_crash_looping_on_too_little_memory_is_repaired_by_one_up_with_one_failover_at_most(own_cluster):
    cluster = own_cluster
    assert cluster.check(settle_seconds=30).status == HEALTHY
    repaired = crash_loop_then_repair(cluster)
    FIGURES["repair"] = {
        "seconds": round(repaired.seconds, 1),
        "replaced": repaired.replaced,
        "restarts before the fix": repaired.restarts_before,
        "failovers": repaired.failovers,
        "outages": repaired.outages,
        "acknowledged": repaired.acknowledged,
        "lost": len(repaired.lost),
    }
    assert not repaired.broken_ready and repaired.master_before != CRASHING
    redis_order = [pod for pod in repaired.replaced if pod in cluster.redis_names()]
    assert redis_order[0] == CRASHING, redis_order
    assert sorted(redis_order) == sorted(cluster.redis_names()), redis_order
    assert redis_order[-1] == repaired.master_before, redis_order
    assert repaired.failovers <= 1
    assert repaired.report.status == HEALTHY, repaired.report.summary()
    assert repaired.lost == []
    for pod in cluster.redis_names():
        assert cluster.pods[pod].template == cluster.declared.statefulset(cluster.pods[pod].workload.name).template, pod
        assert cluster.client(pod).config_get("maxmemory") == {"maxmemory": str(192 * 1024**2)}, pod
    # The rollout saw each pod ready; on a loaded host a readiness probe can time out since (failureThreshold of them
    # in a row unready it), and the pod is ready again at its next passing probe. Bound: three probe periods, each
    # with its timeout, doubled.
    container = cluster.declared.statefulset(cluster.pods[CRASHING].workload.name).template["spec"]["containers"][0]
    probe = container["readinessProbe"]
    bound = 2 * 3 * (probe["periodSeconds"] + probe["timeoutSeconds"])
    wait_until(lambda: all(cluster.pods[p].ready for p in cluster.redis_names()), bound, what="every Redis pod ready")
    assert cluster.client(cluster.master()).dbsize() >= KEYS
    job = cluster.run_job()
    assert job.exit_code == 0, job.output
