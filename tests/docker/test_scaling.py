"""Scaling the running dev stack: replicaCount 2 -> 3 -> 1 and sentinelCount 3 -> 5 -> 3, each step applied as
`pulumi up` applies it (new containers created and changed ones replaced, the replication check, then the removed
containers deleted), with a Sentinel-aware writer running through all of it. Every step's check must pass, no
acknowledged write may be lost, and in the end every Sentinel has reset itself (at least the reset spacing apart, by
Sentinel's own +reset-master events) and forgotten the removed nodes. Figures are printed (pytest -s) and recorded as
properties.
"""

from __future__ import annotations

import time

import pytest

from components import checks
from components.render import SENTINEL_RESET_SPACING_SECONDS, sentinel_reset_cycle_seconds
from harness.docker_runner import free_port_run
from harness.engine import LABEL
from harness.local import reset_events
from harness.program import run_program
from harness.runtime import MasterSampler, wait_until
from harness.writer import start_writer

pytestmark = pytest.mark.docker

# Each step changes one count; sentinelCount 5 needs quorum 3 (a majority).
STEPS = [
    {"replicaCount": 3},
    {"replicaCount": 1},
    {"sentinelCount": 5, "quorum": 3},
    {"sentinelCount": 3, "quorum": 2},
]


def running_names(deployment) -> set[str]:
    only_ours = {"label": f"{LABEL}={deployment.prefix}", "status": "running"}
    return {c.name for c in deployment.engine.containers.list(filters=only_ours)}


def test_replicas_and_sentinels_scale_up_and_down_without_losing_a_write(deployments, record_property):
    redis_port = free_port_run(4)  # host ports for up to 3 replicas and 5 Sentinels
    sentinel_port = free_port_run(5, avoid=set(range(redis_port, redis_port + 10)))
    deployment = deployments.new(devRedisPort=redis_port, devSentinelPort=sentinel_port)
    writer = start_writer(deployment)
    config, figures = {}, []
    with MasterSampler(deployment) as watch:
        for step in STEPS:
            config.update(step)
            program = run_program("dev", {**deployment.overrides, **config})
            changes_before, started = watch.changes, time.monotonic()
            done = deployment.apply(program)
            applied = time.monotonic() - started
            summary = deployment.check_summary
            assert summary.startswith("healthy:"), summary
            deployment.wait_docker_healthy()
            assert running_names(deployment) == set(deployment.container_names())
            assert len(deployment.redis_names()) == config.get("replicaCount", 2) + 1
            writer.wait_for_writes(20)
            figures.append(
                {
                    "step": ", ".join(f"{k} {v}" for k, v in step.items()),
                    "seconds": round(applied, 1),
                    "failovers": watch.changes - changes_before,
                    **{key: len(names) for key, names in done.items()},
                    "check": summary,
                }
            )
            print(f"\n{figures[-1]}")

    # sentinelCount 5 -> 3 left Sentinels 4 and 5 in the kept Sentinels' view: each resets itself in its own turn. Each
    # turn comes within a cycle of the removed Sentinels being flagged down (down-after); margin: a second cycle, for
    # a turn lost to a question that timed out on a loaded host.
    started = time.monotonic()
    name = deployment.outputs["masterName"]
    kept = deployment.sentinel_names()
    down_after = int(deployment.client(kept[0]).sentinel_master(name)["down-after-milliseconds"]) / 1000
    bound = down_after + 2 * sentinel_reset_cycle_seconds(len(kept))

    def peers_forgotten():
        return all(deployment.client(s).sentinel_master(name)["num-other-sentinels"] == 2 for s in kept)

    wait_until(peers_forgotten, bound, interval=1, what="every Sentinel to reset and forget Sentinels 4 and 5")
    forgot_in = time.monotonic() - started
    times = sorted(t for s in kept for t in reset_events(deployment.container(s).logs().decode(errors="replace")))
    gaps = [round(b - a, 1) for a, b in zip(times, times[1:])]
    assert len(times) >= len(kept) and all(gap >= SENTINEL_RESET_SPACING_SECONDS for gap in gaps), gaps
    assert deployment.wait_healthy().removed == {}

    writer.wait_for_writes(20)
    writer.stop()
    totals = {**writer.counts(), "resets_done_s": round(forgot_in, 1), "bound_s": bound, "reset_gaps_s": gaps}
    print(f"\nscaling: {figures}\nwrites and resets: {totals}")
    record_property("scaling", {"steps": figures, **totals})
    assert totals["lost"] == 0 and totals.get("wait_lost", 0) == 0, totals
    assert deployment.wait_healthy().status == checks.HEALTHY
