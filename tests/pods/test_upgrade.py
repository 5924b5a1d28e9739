"""The upgrade a user will do: a prod stack running the old default Redis (7.0.15) moved to the new line (8.0 in
the test images) by changing `redisImage` and running `pulumi up`. The Sentinels roll first, then RedisRollout
replaces the replicas and, last, the master: one failover, every node on the new version, healthy, the check Job
green, and a Sentinel-aware writer loses nothing. Replicas first matters: a 7.0 replica cannot load the RDB of an
8.0 master (version 12), so a master upgraded before its replicas would leave them unable to resync."""

from __future__ import annotations

import time

import pytest

from components.checks import HEALTHY
from harness.engine import OLD_REDIS_IMAGE, REDIS_IMAGE
from harness.pod_session import FIGURES, running_cluster
from harness.program import run_program

pytestmark = pytest.mark.pods


@pytest.fixture(scope="module")
def old_cluster(pod_engine):
    from harness.engine import ensure_images

    ensure_images(pod_engine, {OLD_REDIS_IMAGE: "redis-7.0"})
    with running_cluster(redisImage=OLD_REDIS_IMAGE) as made:
        yield made


def versions(cluster) -> dict[str, str]:
    pods = [*cluster.redis_names(), *cluster.sentinel_names()]
    return {pod: cluster.client(pod).info("server")["redis_version"] for pod in pods}


def test_upgrading_from_the_old_default_costs_one_failover_and_loses_no_write(old_cluster):
    cluster = old_cluster
    report = cluster.check(settle_seconds=60)
    assert report.status == HEALTHY, report.summary()
    before = versions(cluster)
    assert set(before.values()) == {"7.0.15"}, before
    upgraded = run_program("prod", {**cluster.overrides, "redisImage": REDIS_IMAGE})
    master_before, epoch_before = cluster.master(), cluster.config_epoch()
    writer = cluster.writer(threads=2).start()
    try:
        writer.wait_for_writes(100)
        started = time.monotonic()
        rollout = cluster.rolling_update(upgraded, timeout=120)
        seconds = time.monotonic() - started
        writer.wait_for_writes(100)
    finally:
        writer.stop()
    outages = writer.outages(after=started)
    after = versions(cluster)
    lost = writer.lost()
    FIGURES["upgrade 7.0.15 -> 8.0"] = {
        "seconds": round(seconds, 1),
        "order": rollout.pods,
        "failovers": cluster.config_epoch() - epoch_before,
        "write outages > 0.3 s": outages,
        "acknowledged": len(writer.acknowledged),
        "lost": len(lost),
    }
    print("\nfigures:", FIGURES["upgrade 7.0.15 -> 8.0"])

    assert len(set(after.values())) == 1 and next(iter(after.values())).startswith("8."), after
    assert rollout.pods[-1] == master_before, rollout.pods
    assert cluster.config_epoch() - epoch_before == 1
    assert lost == []
    assert cluster.check(settle_seconds=60).status == HEALTHY
    job = cluster.run_job()
    assert job.exit_code == 0, job.output
