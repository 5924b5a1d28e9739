"""Rotating passwords on the prod stack's pods as `pulumi up` and the kubelet do it (docs/security.md, "Rotating a
password"): passwordGenerations KEY=1+2, then KEY=2; the Secrets change but no pod is replaced, every pod's Secret
volume is rewritten (a replica's and a Sentinel's seconds later, as the kubelet's sync lags), and RedisPasswords
runs passwords.sh in every pod through exec, waiting for the late pods' files. A Sentinel-aware writer and a replica
reader run throughout; then a replica pod is deleted and recreated with the new passwords (its failed reads, if any,
are counted apart)."""

from __future__ import annotations

import time

import pytest

from components import users
from harness.pod_session import FIGURES
from harness.program import run_program
from harness.runtime import refused

pytestmark = pytest.mark.pods

ROTATED = (users.REPLICATION, users.APP)
LATE_SECONDS = 5


def test_passwords_are_replaced_on_running_pods_without_a_failed_request(healthy):
    cluster = healthy
    master, epoch = cluster.master(), cluster.config_epoch()
    syncs = int(cluster.client(master).info("stats")["sync_full"])
    replica = next(p for p in cluster.redis_names() if p != master)
    late = [replica, cluster.sentinel_names()[-1]]
    generations = dict(pair.split("=") for pair in cluster.overrides.get("passwordGenerations", "").split(",") if pair)
    writer = cluster.writer(wait_replicas=1)
    reader = writer.reader()
    writer.start()
    reader.start()
    try:
        writer.wait_for_writes(50)
        for user in ROTATED:
            old = cluster.declared.secrets["redis-users"][user.key]
            for step in ("1+2", "2"):
                generations[user.key] = step
                cluster.overrides["passwordGenerations"] = ",".join(f"{k}={v}" for k, v in generations.items())
                program = run_program("prod", cluster.overrides)
                applied = cluster.update_passwords(program, late=late, delay=LATE_SECONDS)
                assert len(applied) == 2 * len(cluster.redis_names() + cluster.sentinel_names()), applied
                if step == "1+2":  # applications restart with the new redis-secret between the two steps
                    writer.use_passwords(cluster.redis_password, cluster.sentinel_password)
                writer.wait_for_writes(50)
            new = cluster.declared.secrets["redis-users"][user.key]
            assert new != old
            for pod in cluster.redis_names():
                assert refused(cluster, pod, user, old) and not refused(cluster, pod, user, new), pod
                cluster.client(pod).execute_command("CLIENT", "KILL", "USER", user.name)
            assert cluster.check(settle_seconds=30).status == "healthy"
        rotation_syncs = int(cluster.client(master).info("stats")["sync_full"]) - syncs
        rotated_at = time.monotonic()
        cluster.delete_pod(replica)
        cluster.recreate_pod(replica).wait_ready(120)
        assert cluster.check(settle_seconds=60).status == "healthy"
        writer.wait_for_writes(50)
    finally:
        reader.stop()
        writer.stop()
    errors = writer.errors + writer.waiting.errors + reader.errors
    during = [e for e in errors if float(e.split()[0]) < rotated_at]
    figures = {**writer.counts(), "reads": reader.reads, "failed_during_rotation": len(during)}
    figures |= {"failed_after_a_replica_pod_was_replaced": len(errors) - len(during), "full_syncs": rotation_syncs}
    FIGURES["password rotation"] = figures
    print(f"\nrotation of {[u.key for u in ROTATED]} on pods: {figures}; errors: {errors}")
    # A replica pod deleted under a replica reader may cost a read (redis-py's replica pool still lists it): that is
    # the pod replacement's, not the rotation's; the writes must all succeed.
    assert during == [] and writer.errors == [] and writer.waiting.errors == [], figures
    assert figures["lost"] == 0 and figures["wait_lost"] == 0 and rotation_syncs == 0, figures
    assert cluster.master() == master and cluster.config_epoch() == epoch
