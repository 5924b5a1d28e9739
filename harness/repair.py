"""The incident of docs/operations.md "A pod is crash-looping", staged on a PodCluster, and the one `pulumi up` that
repairs it: tests/pods/test_repair.py asserts on what it returns, `python -m bench.pods --repair` prints and records
its figures.

The incident: `maxmemory: 1mb` was deployed (memory limit 2 x 1 MiB + 64 MiB, components/settings.py
redis_memory_limit_bytes), its rollout replaced one replica, whose full sync of an 80 MB dataset is OOM-killed at
every start, and stopped. The fix raises maxmemory above the original: every Redis pod is outdated, the crash-looping
one first (it serves nothing), then the other replica, the master last, while a Sentinel-aware writer runs."""

from __future__ import annotations

import time
from dataclasses import dataclass

from components.checks import Report
from harness.pod_runner import Declared, PodCluster
from harness.program import run_program
from harness.runtime import wait_until

ORIGINAL, TOO_SMALL, FIXED = "128mb", "1mb", "192mb"  # memory limits 320 MiB, 66 MiB, 448 MiB
VALUE = b"x" * 100_000
KEYS = 800  # 80 MB: fits the original, not the too small limit
CRASHING = "redis-replica-0"


@dataclass
class Repaired:
    broken_ready: bool  # whether the broken replica was ready before the fix (it must not be)
    restarts_before: int  # its OOM kills before the fix
    master_before: str
    seconds: float  # the repairing rollout
    replaced: list[str]  # in order
    failovers: int  # Sentinel config epochs the repair took
    outages: list[float]  # write pauses over harness.writer.OUTAGE_GAP during the repair
    acknowledged: int
    lost: list[int]
    report: Report  # the check after the repair


def fill(cluster: PodCluster) -> None:
    client = cluster.client(cluster.master(), socket_timeout=30)
    for start in range(0, KEYS, 50):
        pipe = client.pipeline(transaction=False)
        for n in range(start, start + 50):
            pipe.set(f"repair:{n}", VALUE)
        pipe.execute()


def crash_loop_then_repair(cluster: PodCluster) -> Repaired:
    """On a healthy cluster deployed with maxmemory ORIGINAL: break CRASHING as a stopped rollout of TOO_SMALL
    leaves it, then roll FIXED out as `pulumi up` does."""
    fill(cluster)
    writer = cluster.writer(threads=2).start()
    try:
        writer.wait_for_writes(100)
        too_small = run_program("prod", {**cluster.overrides, "maxmemory": TOO_SMALL})
        cluster.program, cluster.declared = too_small, Declared.of(too_small)
        cluster.delete_pod(CRASHING)
        broken = cluster.recreate_pod(CRASHING)
        # Killed once is enough: the limit stays too small, so it goes on failing (a second kill can take minutes on
        # a loaded host: CrashLoopBackOff, then a full sync of 80 MB).
        wait_until(lambda: broken.restarts["redis"] >= 1, 300, interval=1, what=f"{CRASHING} to be OOM-killed")
        broken_ready, restarts_before = broken.ready, broken.restarts["redis"]
        master_before, epoch_before = cluster.master(), cluster.config_epoch()
        writer.wait_for_writes(100)  # the master and the other replica keep serving

        started = time.monotonic()
        fixed = run_program("prod", {**cluster.overrides, "maxmemory": FIXED})
        rollout = cluster.rolling_update(fixed, timeout=120)
        seconds = time.monotonic() - started
        cluster.overrides["maxmemory"] = FIXED
        failovers = cluster.config_epoch() - epoch_before
        report = cluster.check(settle_seconds=60)
        writer.wait_for_writes(100)
    finally:
        writer.stop()
    return Repaired(
        broken_ready,
        restarts_before,
        master_before,
        seconds,
        rollout.pods,
        failovers,
        writer.outages(after=started),
        len(writer.acknowledged),
        writer.lost(),
        report,
    )
