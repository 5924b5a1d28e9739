"""Deleting the master pod as the kubelet does (preStop, SIGTERM, SIGKILL after the grace period): the master
hands its role over within the handover bench's target, a Sentinel-aware writer loses nothing, and the recreated
pod (same name, same volume) rejoins as a replica; its name resolves in every pod before it is ready."""

from __future__ import annotations

import time

import pytest

from components.checks import HEALTHY
from harness.pod_session import FIGURES, HANDED_OVER, HANDOVER_BOUND
from harness.writer import TARGET_PLANNED_GAP

pytestmark = pytest.mark.pods


def run(cluster, pod, container, command):
    code, output = cluster.exec(pod, container, command)
    assert code == 0, f"{pod}/{container}: {command!r} exited {code}: {output}"
    return output


def test_deleting_the_master_pod_hands_over_and_it_rejoins_as_a_replica(healthy):
    cluster = healthy
    old = cluster.master()
    pod = cluster.pods[old]
    name = f"{old}.{pod.workload.spec['serviceName']}.{cluster.declared.namespace}.svc.cluster.local"
    others = [p for p in cluster.pods if p != old]
    run(cluster, old, "redis", "touch /data/festival-volume-marker")
    grace = pod.spec["terminationGracePeriodSeconds"]

    writer = cluster.writer(threads=2).start()
    try:
        writer.wait_for_writes(100)
        deleted_at = time.monotonic()
        deletion_seconds = cluster.delete_pod(old)
        recreated = cluster.recreate_pod(old)
        recreated.holder.reload()
        ip = recreated.holder.attrs["NetworkSettings"]["Networks"][cluster.network_name]["IPAddress"]
        resolved = {}
        for other in others:  # publishNotReadyAddresses: the name resolves while the pod is not ready
            container = cluster.pods[other].spec["containers"][0]["name"]
            answer = run(cluster, other, container, f"getent hosts {name}").split()
            resolved[other] = (answer[0], recreated.ready)
        ready_seconds = recreated.wait_ready(90)
        writer.wait_for_writes(100)
    finally:
        writer.stop()
    gap = writer.longest_gap(after=deleted_at)
    lost = writer.lost()
    code, output, prestop_seconds = pod.prestop["redis"]
    FIGURES["master pod deletion"] = {
        "write gap (s)": round(gap, 2),
        "bench target (s)": TARGET_PLANNED_GAP,
        "preStop (s)": round(prestop_seconds, 2),
        "deletion (s)": round(deletion_seconds, 2),
        "recreated pod ready (s)": round(ready_seconds, 1),
        "acknowledged": len(writer.acknowledged),
        "lost": len(lost),
    }

    assert resolved == {other: (ip, False) for other in others}
    assert code == 0 and HANDED_OVER in output, output
    assert deletion_seconds < grace
    assert lost == []
    assert gap <= HANDOVER_BOUND, f"write gap {gap:.2f}s; errors: {writer.errors[-5:]}"
    new = cluster.master()
    assert new != old
    info = cluster.client(old).info("replication")
    assert info["role"] == "slave"
    assert info["master_host"].split(".")[0] == new and info["master_link_status"] == "up"
    run(cluster, old, "redis", "test -f /data/festival-volume-marker")  # the same claim, not a fresh volume
    report = cluster.check(settle_seconds=30)
    assert report.status == HEALTHY, report.summary()
