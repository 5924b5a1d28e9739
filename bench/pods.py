"""bench/pods: the prod pods on the local Docker engine (harness/pod_runner.py): pod start to ready, the write
gap when the master pod is deleted as the kubelet deletes it (preStop hand-over), over several runs, and
configuration rollouts as `pulumi up` runs them (Sentinels, then RedisRollout): failovers, outage, lost writes.

    venv/bin/python -m bench.pods            # 5 deletions and 2 rollouts, about 6 minutes on 2 cores
    venv/bin/python -m bench.pods --runs 3 --rollouts 1
    venv/bin/python -m bench.pods --upgrade  # first from the old default Redis (7.0.15) to the new line
    venv/bin/python -m bench.pods --repair   # only a crash-looping replica repaired by a rollout (harness/repair.py)

The hand-over gap, the rollouts' outages and the repair's go into bench/results.json (bench/results.py), which
the docs quote.

The writer is harness/writer.py (Sentinel-aware redis-py, 2 threads, no WAIT) on the host, through the ports the
pods publish on 127.0.0.1. Everything is removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench import results
from components.checks import HEALTHY
from harness.engine import OLD_REDIS_IMAGE, REDIS_IMAGE
from harness.pod_runner import PodCluster
from harness.program import run_program
from harness.repair import ORIGINAL, crash_loop_then_repair
from harness.writer import OUTAGE_GAP, TARGET_PLANNED_GAP


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rollouts", type=int, default=2, help="configuration changes rolled out (maxclients)")
    parser.add_argument("--upgrade", action="store_true", help="deploy the old default image, then roll out the new")
    parser.add_argument("--repair", action="store_true", help="only: a crash-looping replica repaired by a rollout")
    parser.add_argument("--no-record", action="store_true", help="do not update bench/results.json")
    args = parser.parse_args()
    if args.repair:
        repair(record=not args.no_record)
        return
    span = results.LoadSpan()
    cluster = PodCluster(**({"redisImage": OLD_REDIS_IMAGE} if args.upgrade else {}))
    try:
        started = time.monotonic()
        ready = cluster.deploy(timeout=120)
        print(f"deployed in {time.monotonic() - started:.1f} s; pod start to ready (s):")
        for pod, seconds in ready.items():
            print(f"  {pod:18} {seconds:5.1f}")
        if args.upgrade:
            rollout(cluster, f"upgrade {OLD_REDIS_IMAGE} -> {REDIS_IMAGE}", {"redisImage": REDIS_IMAGE})
        gaps, lost, acknowledged = [], 0, 0
        for run in range(1, args.runs + 1):
            report = cluster.check(settle_seconds=60)
            if report.status != HEALTHY:
                raise RuntimeError(f"not healthy before run {run}: {report.summary()}")
            master = cluster.master()
            writer = cluster.writer(threads=2).start()
            try:
                writer.wait_for_writes(100)
                deleted_at = time.monotonic()
                deletion = cluster.delete_pod(master)
                recreated = cluster.recreate_pod(master)
                writer.wait_for_writes(100)
            finally:
                writer.stop()
            gap = writer.longest_gap(after=deleted_at)
            run_lost = len(writer.lost())
            gaps.append(gap)
            lost += run_lost
            acknowledged += len(writer.acknowledged)
            writer.delete_keys()
            print(
                f"run {run}: deleted {master}: write gap {gap:.2f} s, deletion {deletion:.2f} s, lost {run_lost}, "
                f"recreated pod ready {recreated.wait_ready(120):.1f} s"
            )
        median = statistics.median(gaps)
        verdict = "yes" if median <= TARGET_PLANNED_GAP else "NO"
        print(
            f"write gap on master pod deletion: median {median:.2f} s (min {min(gaps):.2f}, max {max(gaps):.2f}, "
            f"n={len(gaps)}), target <= {TARGET_PLANNED_GAP} s: {verdict}; lost {lost} of {acknowledged}"
        )
        outages = [
            rollout(cluster, f"rollout {run} (maxclients {9000 + run})", {"maxclients": 9000 + run})
            for run in range(1, args.rollouts + 1)
        ]
        if not args.no_record:
            source = "python -m bench.pods"
            what = "pods: write gap when the master pod is deleted (preStop hand-over), down-after 5000 ms"
            results.record("pods.handover-gap", what, gaps, span, source, note=f"{lost} of {acknowledged} lost")
            what = "pods: write outage of a configuration rollout (maxclients), the master's pod last"
            if outages and all(outages):
                results.record("pods.rollout-outage", what, [max(each) for each in outages], span, source)
    finally:
        cluster.teardown()
        left = cluster.leftovers()
        if left:
            print(f"teardown left {left}")


def repair(record: bool) -> None:
    span = results.LoadSpan()
    cluster = PodCluster(maxmemory=ORIGINAL)
    try:
        cluster.deploy(timeout=120)
        report = cluster.check(settle_seconds=60)
        if report.status != HEALTHY:
            raise RuntimeError(f"not healthy before the incident: {report.summary()}")
        repaired = crash_loop_then_repair(cluster)
        print(
            f"repair: {repaired.seconds:.0f} s, pods {' '.join(repaired.replaced)} (the broken one was restarted "
            f"{repaired.restarts_before} times); failovers {repaired.failovers}; write outages > {OUTAGE_GAP} s: "
            f"{repaired.outages}; lost {len(repaired.lost)} of {repaired.acknowledged}; after: {repaired.report.status}"
        )
        if record:
            what = "pods: the repairing rollout of a crash-looping replica (harness/repair.py), the master's pod last"
            lost = f"{len(repaired.lost)} of {repaired.acknowledged} lost"
            results.record("pods.repair-seconds", what, [repaired.seconds], span, "python -m bench.pods --repair")
            what = "pods: longest write outage during that repair"
            outage = [max(repaired.outages, default=0.0)]
            results.record("pods.repair-outage", what, outage, span, "python -m bench.pods --repair", note=lost)
    finally:
        cluster.teardown()
        left = cluster.leftovers()
        if left:
            print(f"teardown left {left}")


def rollout(cluster: PodCluster, what: str, changes: dict) -> list[float]:
    """Roll `changes` out under a writer; print the failovers (Sentinel config epochs), outages and lost writes;
    return the outages (seconds)."""
    report = cluster.check(settle_seconds=60)
    if report.status != HEALTHY:
        raise RuntimeError(f"not healthy before {what}: {report.summary()}")
    program = run_program("prod", {**cluster.overrides, **changes})
    master, epoch = cluster.master(), cluster.config_epoch()
    writer = cluster.writer(threads=2).start()
    try:
        writer.wait_for_writes(100)
        started = time.monotonic()
        done = cluster.rolling_update(program, timeout=120)
        seconds = time.monotonic() - started
        writer.wait_for_writes(100)
    finally:
        writer.stop()
    outages = writer.outages(after=started)
    cluster.overrides.update(changes)
    lost = len(writer.lost())
    writer.delete_keys()
    print(
        f"{what}: {seconds:.0f} s, pods {' '.join(done.pods)}; master {master} -> {cluster.master()}; "
        f"failovers {cluster.config_epoch() - epoch}; write outages > {OUTAGE_GAP} s: {outages}; "
        f"lost {lost} of {len(writer.acknowledged)}"
    )
    return outages


if __name__ == "__main__":
    main()
