"""A configuration change rolled out as `pulumi up` does it: RedisRollout replaces the Sentinels one at a time,
each only when every Sentinel is ready, then the Redis pods, replicas first and whichever pod is the master last,
each only when every Redis pod is ready. The change costs exactly one failover (the master's hand-over, wherever
earlier tests left the master), never more than one pod is being replaced at a time, a Sentinel-aware writer
loses nothing, and the outage is measured."""

from __future__ import annotations

import threading
import time

import pytest

from harness.pod_session import FIGURES, HANDED_OVER, HANDOVER_BOUND
from harness.program import run_program
from harness.writer import TARGET_PLANNED_GAP

pytestmark = pytest.mark.pods


def being_replaced(cluster, seen_ready: set[str]) -> tuple[int, int]:
    """How many Redis pods and Sentinels are being replaced: deleted, or recreated and not yet seen ready. (A running
    pod whose readiness probe fails for a while, as a replica's does while it re-links to a new master on a loaded
    host, is not one: the rollout did not take it down.)"""
    pods = dict(cluster.pods)

    def count(names: list[str]) -> int:
        replacing = 0
        for name in names:
            pod = pods.get(name)
            if pod is not None and pod.ready:
                seen_ready.add(pod.holder_id)
            replacing += pod is None or pod.holder_id not in seen_ready
        return replacing

    return count(cluster.redis_names()), count(cluster.sentinel_names())


def test_a_config_change_rolls_every_pod_one_at_a_time_with_one_failover_and_loses_no_write(healthy):
    cluster = healthy
    changed = run_program("prod", {**cluster.overrides, "maxclients": 9000, "parallelSyncs": 2})
    master_before, epoch_before = cluster.master(), cluster.config_epoch()
    samples: list[tuple[int, int]] = []
    seen_ready: set[str] = set()
    assert being_replaced(cluster, seen_ready) == (0, 0)
    done = threading.Event()

    def sample():
        while not done.wait(0.2):
            samples.append(being_replaced(cluster, seen_ready))

    sampler = threading.Thread(target=sample, daemon=True)
    writer = cluster.writer(threads=2).start()
    try:
        writer.wait_for_writes(100)
        started = time.monotonic()
        sampler.start()
        rollout = cluster.rolling_update(changed, timeout=90)
        done.set()
        master_after, epoch_after = cluster.master(), cluster.config_epoch()
        seconds = time.monotonic() - started
        writer.wait_for_writes(100)
    finally:
        done.set()
        writer.stop()
    outages = writer.outages(after=started)
    lost = writer.lost()
    FIGURES["rolling update"] = {
        "seconds": round(seconds, 1),
        "per pod (s)": {pod: round(s, 1) for pod, s in rollout.seconds.items()},
        "write outages > 0.3 s": outages,
        "total outage (s)": round(sum(outages), 2),
        "failovers": epoch_after - epoch_before,
        "bench target per hand-over (s)": TARGET_PLANNED_GAP,
        "acknowledged": len(writer.acknowledged),
        "lost": len(lost),
    }

    assert sorted(rollout.pods[:3]) == sorted(cluster.sentinel_names())
    redis_order = rollout.pods[3:]
    assert sorted(redis_order) == sorted(cluster.redis_names()) and redis_order[-1] == master_before, redis_order
    assert epoch_after - epoch_before == 1 and master_after != master_before
    code, output, _ = [pod for pod in cluster.deleted if pod.name == master_before][-1].prestop["redis"]
    assert code == 0 and HANDED_OVER in output, output  # the failover was the hand-over
    assert samples and max(r + s for r, s in samples) == 1, samples  # one pod at a time, and one was replaced
    assert lost == []
    assert max(outages, default=0) <= HANDOVER_BOUND, f"outages {outages}; errors: {writer.errors[-5:]}"
    for pod in cluster.redis_names():
        assert cluster.client(pod).config_get("maxclients") == {"maxclients": "9000"}, pod
    for pod in cluster.sentinel_names():
        state = cluster.client(pod).execute_command("SENTINEL", "MASTER", cluster.outputs["masterName"])
        state = dict(zip(state[::2], state[1::2])) if isinstance(state, list) else state
        assert state["parallel-syncs"] == "2", pod
    job = cluster.run_job()  # the Job `pulumi up` runs after the rollout
    assert job.exit_code == 0, job.output
