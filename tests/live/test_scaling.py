"""Scaling down on real processes: the Sentinels restarted with the smaller topology (as a scale change replaces or
rolls them) still know the removed replica and Sentinels while those run; the checks tolerate and report them; once
they are gone, every Sentinel resets itself, in its own turn, the resets spaced at least the reset spacing apart, and
forgets them. A declared node that is merely down is never reset away.

The spacing is 30 s in a deployment; FESTIVAL_RESET_SPACING_SECONDS shortens it here to keep the test short. The
resets' times are Sentinel's own (its +reset-master events, to the millisecond).
"""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from components import checks
from components.render import deployment_files, sentinel_reset_cycle_seconds
from harness.check_runs import reported, run_check
from harness.local import loopback_topology, reset_events
from harness.runtime import wait_until

pytestmark = pytest.mark.integration

SPACING = 4
RESET_LOG = re.compile(r"^(\d\d):(\d\d):(\d\d) festival sentinel-entrypoint\.sh: SENTINEL RESET .*removed (.*)$", re.M)


def known(deployment, sentinel: str) -> tuple[dict[str, str], set[str]]:
    """What one Sentinel knows: replicas (address -> flags) and peer Sentinels' addresses."""
    client = deployment.client(sentinel)
    name = deployment.topology.master_name
    replicas = {f"{r['ip']}:{r['port']}": r["flags"] for r in client.sentinel_slaves(name)}
    peers = {f"{s['ip']}:{s['port']}" for s in client.sentinel_sentinels(name)}
    return replicas, peers


def resets(deployment, sentinel: str) -> list[tuple[int, str]]:
    """(second of the day, what it forgot) of every reset this Sentinel logged."""
    text = deployment.nodes[sentinel].log_path.read_text(errors="replace")
    return [(int(h) * 3600 + int(m) * 60 + int(s), what) for h, m, s, what in RESET_LOG.findall(text)]


def test_scaling_down_the_sentinels_forget_the_removed_nodes_by_resets_spaced_apart(make_deployment, monkeypatch):
    monkeypatch.setenv("FESTIVAL_RESET_SPACING_SECONDS", str(SPACING))
    deployment = make_deployment(replica_count=2, sentinel_count=5, quorum=3)
    deployment.start_all()
    removed_replica = deployment.address("redis-replica-2")
    removed_sentinels = [deployment.address("sentinel-4"), deployment.address("sentinel-5")]

    # replicaCount 2 -> 1 and sentinelCount 5 -> 3: the kept Sentinels restart with the new files first ...
    smaller = dataclasses.replace(deployment.settings, replica_count=1, sentinel_count=3, quorum=2)
    ports = [deployment.nodes[name].port for name in ("redis-master", "redis-replica-1")]
    sentinel_ports = [deployment.nodes[f"sentinel-{i}"].port for i in (1, 2, 3)]
    topology = loopback_topology(smaller, ports, sentinel_ports)
    files = deployment_files(smaller, topology)
    kept = [node.name for node in topology.sentinels]
    for name in kept:
        deployment._install(deployment.nodes[name], files.sentinel)
        deployment.restart(name)
    deployment.settings, deployment.topology = smaller, topology

    # ... and relearn the removed nodes, which still run (Docker deletes them at the end of the update): tolerated.
    report = deployment.wait_healthy()
    seen_by_all = sorted(str(node.address) for node in topology.sentinels)
    assert report.removed[("replica", removed_replica)] == sorted([deployment.address("redis-master"), *seen_by_all])
    assert {key: report.removed[key] for key in report.removed if key[0] == "sentinel"} == {
        ("sentinel", address): seen_by_all for address in removed_sentinels
    }
    assert "removed, awaiting reset/deletion: replica" in report.summary()
    result = run_check(deployment)
    assert result.returncode == 0, result.stdout + result.stderr
    removed_lines = sorted(line for line in result.stdout.splitlines() if line.startswith("REMOVED "))
    assert removed_lines == sorted(
        f"REMOVED {kind} {address} seen-by={','.join(seen)}" for (kind, address), seen in report.removed.items()
    )
    assert all(not resets(deployment, name) for name in kept)  # nothing removed is down yet

    # The removed nodes stop; each kept Sentinel resets itself in its own turn and forgets them.
    stopped_at = time.monotonic()
    for name in ("redis-replica-2", "sentinel-4", "sentinel-5"):
        deployment.stop(name)
    declared_peers = {name: set(seen_by_all) - {deployment.address(name)} for name in kept}

    def forgotten():
        return all(
            known(deployment, name) == ({deployment.address("redis-replica-1"): "slave"}, declared_peers[name])
            for name in kept
        )

    # Each Sentinel's turn comes within a cycle of the removed nodes being flagged down (down-after). Margin: a
    # second cycle, for a turn lost to a question that timed out on a loaded host.
    cycle = sentinel_reset_cycle_seconds(len(kept), SPACING)
    bound = deployment.settings.down_after_milliseconds / 1000 + 2 * cycle
    wait_until(forgotten, bound, interval=0.5, what="every Sentinel to reset and forget the removed nodes")
    forgot_in = time.monotonic() - stopped_at
    assert all(len(resets(deployment, name)) >= 1 for name in kept), deployment.logs()
    events = {name: reset_events(deployment.nodes[name].log_path.read_text(errors="replace")) for name in kept}
    assert all(len(events[name]) == len(resets(deployment, name)) for name in kept), events
    times = sorted(t for name in kept for t in events[name])
    assert all(b - a >= SPACING for a, b in zip(times, times[1:])), times
    for name in kept:
        assert removed_replica in resets(deployment, name)[0][1]
    report = deployment.wait_healthy()
    assert report.status == checks.HEALTHY and report.removed == {}
    gaps = [round(b - a, 1) for a, b in zip(times, times[1:])]
    print(f"\nscale down: every Sentinel reset and forgot the removed nodes in {forgot_in:.1f}s (bound {bound:.0f}s)")
    print(f"gaps between resets {gaps}s (at least {SPACING}s)")

    # A declared replica that is merely down is never reset away: it is a fault the checks report.
    before = {name: len(resets(deployment, name)) for name in kept}
    deployment.kill("redis-replica-1")
    time.sleep(cycle + 2)
    assert {name: len(resets(deployment, name)) for name in kept} == before
    for name in kept:
        replicas, _ = known(deployment, name)
        assert "s_down" in replicas[deployment.address("redis-replica-1")]
    assert ("redis-reachable", deployment.address("redis-replica-1")) in reported(run_check(deployment))
