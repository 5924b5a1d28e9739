"""A rollout that repairs: a replica crash-loops on too little memory, and one `pulumi up` with more memory fixes
it. The incident: `maxmemory: 1mb` was deployed (memory limit 2 x 1 MiB + 64 MiB, components/settings.py
redis_memory_limit_bytes), its rollout replaced one replica, whose full sync of an 80 MB dataset is OOM-killed at
every start, and stopped. The fix raises maxmemory above the original: every Redis pod is outdated, the crash-looping
one first (it serves nothing), then the other replica, the master last, so one failover at most, and a
Sentinel-aware writer running throughout loses nothing. On a cluster of its own (it breaks a pod)."""

from __future__ import annotations

import time

import pytest

from components.checks import HEALTHY
from harness.local import wait_until
from harness.pod_runner import Declared
from tests.pods.conftest import FIGURES, running_cluster
from tests.program.pulumi_program import run_program

pytestmark = pytest.mark.pods

ORIGINAL, TOO_SMALL, FIXED = "128mb", "1mb", "192mb"  # memory limits 320 MiB, 66 MiB, 448 MiB
VALUE = b"x" * 100_000
KEYS = 800  # 80 MB: fits the original, not the too small limit
CRASHING = "redis-replica-0"


@pytest.fixture(scope="module")
def own_cluster(pod_engine):
    with running_cluster(maxmemory=ORIGINAL) as made:
        yield made


def fill(cluster) -> None:
    client = cluster.client(cluster.master(), socket_timeout=30)
    for start in range(0, KEYS, 50):
        pipe = client.pipeline(transaction=False)
        for n in range(start, start + 50):
            pipe.set(f"repair:{n}", VALUE)
        pipe.execute()


def test_a_replica_crash_looping_on_too_little_memory_is_repaired_by_one_up_with_one_failover_at_most(own_cluster):
    cluster = own_cluster
    assert cluster.check(settle_seconds=30).status == HEALTHY
    fill(cluster)
    writer = cluster.writer(threads=2).start()
    try:
        writer.wait_for_writes(100)
        # The state a stopped rollout of the too small limit leaves: one replica on the new template.
        too_small = run_program("prod", {**cluster.overrides, "maxmemory": TOO_SMALL})
        cluster.program, cluster.declared = too_small, Declared.of(too_small)
        cluster.delete_pod(CRASHING)
        broken = cluster.recreate_pod(CRASHING)
        # Killed once is enough: the limit stays too small, so it goes on failing (a second kill can take minutes on
        # a loaded host: CrashLoopBackOff, then a full sync of 80 MB).
        wait_until(lambda: broken.restarts["redis"] >= 1, 300, interval=1, what=f"{CRASHING} to be OOM-killed")
        assert not broken.ready, broken.probe_log[-6:]
        master_before, epoch_before = cluster.master(), cluster.config_epoch()
        assert master_before != CRASHING
        writer.wait_for_writes(100)  # the master and the other replica keep serving

        started = time.monotonic()
        fixed = run_program("prod", {**cluster.overrides, "maxmemory": FIXED})
        rollout = cluster.rolling_update(fixed, timeout=120)
        seconds = time.monotonic() - started
        cluster.overrides["maxmemory"] = FIXED
        epoch_after = cluster.config_epoch()
        report = cluster.check(settle_seconds=60)
        writer.wait_for_writes(100)
    finally:
        writer.stop()
    lost = writer.lost()
    redis_order = [pod for pod in rollout.pods if pod in cluster.redis_pods()]
    FIGURES["repair"] = {
        "seconds": round(seconds, 1),
        "replaced": rollout.pods,
        "restarts before the fix": broken.restarts["redis"],
        "failovers": epoch_after - epoch_before,
        "acknowledged": len(writer.acknowledged),
        "lost": len(lost),
    }
    assert redis_order[0] == CRASHING, redis_order
    assert sorted(redis_order) == sorted(cluster.redis_pods()) and redis_order[-1] == master_before, redis_order
    assert epoch_after - epoch_before <= 1
    assert report.status == HEALTHY, report.summary()
    assert lost == []
    for pod in cluster.redis_pods():
        assert (
            cluster.pods[pod].ready
            and cluster.pods[pod].template == cluster.declared.statefulset(cluster.pods[pod].workload.name).template
        ), pod
        assert cluster.client(pod).config_get("maxmemory") == {"maxmemory": str(192 * 1024**2)}, pod
    assert cluster.client(cluster.master()).dbsize() >= KEYS
    job = cluster.run_job()
    assert job.exit_code == 0, job.output
