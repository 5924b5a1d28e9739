"""prestop.sh, a Redis pod's preStop hook, run for real: the master hands its role over before it stops."""

import threading
import time

import pytest
import redis

from components import render
from harness.runtime import wait_until

pytestmark = pytest.mark.integration


def test_prestop_hands_the_master_role_over_before_the_pod_stops_and_the_pod_returns_as_replica(
    deployment, record_property
):
    writer = deployment.writer().start()
    try:
        writer.wait_for_writes(50)
        old = deployment.address("redis-master")
        started = time.monotonic()
        hook = deployment.run_script("redis-master/prestop.sh", timeout=render.PRESTOP_WAIT_SECONDS + 10)
        assert hook.returncode == 0, hook.stderr
        # Before Kubernetes sends SIGTERM: this node is a replica and a Sentinel names another master.
        assert deployment.role("redis-master") == "slave"
        answers = set(deployment.sentinel_masters().values())
        assert answers - {"redis-master"}, answers
        with pytest.raises(redis.ReadOnlyError):
            deployment.client("redis-master").set("after-handover", "1")
        deployment.stop("redis-master")  # SIGTERM, as after the hook
        writer.wait_for_writes(50)
    finally:
        writer.stop()
    gap = writer.longest_gap(after=started - 1)
    record_property("write_gap_seconds", round(gap, 3))
    print(f"write gap across the preStop failover: {gap:.3f}s")
    assert writer.lost() == []

    deployment.start("redis-master")  # the pod is recreated with its volume
    deployment.wait_healthy(30)
    info = deployment.client("redis-master").info("replication")
    assert info["role"] == "slave" and f"{info['master_host']}:{info['master_port']}" != old


def test_prestop_on_a_replica_stops_without_failover(deployment):
    hook = deployment.run_script("redis-replica-1/prestop.sh")
    assert hook.returncode == 0 and hook.stderr == ""
    assert set(deployment.sentinel_masters().values()) == {"redis-master"}


def test_a_master_whose_replicas_are_down_waits_for_one_to_link_then_hands_over(deployment):
    """On Docker a change replaces the replicas just before the master: the master's stop waits for a replica that is
    linked again, within PRESTOP_WAIT_SECONDS, instead of stopping without a hand-over."""
    old = "redis-master"
    deployment.kill("redis-replica-1")
    deployment.kill("redis-replica-2")
    wait_until(lambda: deployment.client("redis-master").info("replication")["connected_slaves"] == 0, 10)
    threading.Timer(1, deployment.start, args=("redis-replica-1",)).start()
    hook = deployment.run_script("redis-master/prestop.sh", timeout=render.PRESTOP_WAIT_SECONDS + 10)
    assert hook.returncode == 0, hook.stderr
    assert "handed the master role over to" in hook.stderr, hook.stderr
    # The Sentinel prestop.sh asked names the new master at once, the others from its hello messages (every 2 s):
    # polled, not asserted at once (CI once saw one Sentinel still naming the old master).
    assert deployment.wait_for_new_master(old) == "redis-replica-1"
    assert deployment.role("redis-master") == "slave"
    deployment.start("redis-replica-2")
    deployment.wait_healthy(30)


def test_a_master_hands_over_only_once_every_replica_is_linked(deployment):
    """On Docker a change replaces the replicas just before the master, so one may still be in its first sync when the
    master stops; Sentinel picks the replica it promotes from what it learnt up to 10 s earlier and could promote that
    one without the last writes. The master's stop waits for it (PRESTOP_SYNC_SECONDS at most)."""
    master = deployment.client("redis-master")
    deployment.kill("redis-replica-2")
    deployment.wipe("redis-replica-2")  # so that it comes back with a full sync
    wait_until(lambda: master.info("replication")["connected_slaves"] == 1, 10)
    master.config_set("repl-diskless-sync-delay", 5)  # the full sync starts 5 s after it is asked for
    replica = deployment.address("redis-replica-2")

    def syncing_and_up() -> bool:
        """redis-replica-2 waits for its sync, and the Sentinels, which marked it down while it was gone, see it up."""
        replicas = [v for k, v in master.info("replication").items() if k.startswith("slave")]
        if not any(replica["state"] != "online" for replica in replicas):
            return False
        for name in deployment.topology.sentinels:
            known = deployment.client(name.name).sentinel_slaves(deployment.settings.master_name)
            if any(f"{r['ip']}:{r['port']}" == replica and r["is_sdown"] for r in known):
                return False
        return True

    deployment.start("redis-replica-2")
    wait_until(syncing_and_up, 30, interval=0.05, what="redis-replica-2 to ask for its sync, seen up")
    hook = deployment.run_script("redis-master/prestop.sh", timeout=render.PRESTOP_WAIT_SECONDS + 10)
    assert hook.returncode == 0, hook.stderr
    assert "master: 2 of 2 replicas linked" in hook.stderr, hook.stderr
    assert "handed the master role over to" in hook.stderr, hook.stderr


def test_a_stopped_master_hands_its_role_over_before_its_server_stops(deployment):
    """SIGTERM to the entrypoint (docker stop, or pulumi-docker replacing the container) runs prestop.sh first."""
    writer = deployment.writer().start()
    try:
        writer.wait_for_writes(50)
        old = "redis-master"
        started = time.monotonic()
        assert deployment.terminate("redis-master") == 0  # redis-server saved and exited cleanly
        # prestop.sh waited for the Sentinel it asked to name the new master; the others learn it from that one's
        # hello messages (every 2 s), so they are polled, not asserted at once.
        deployment.wait_for_new_master(old)
        writer.wait_for_writes(50)
    finally:
        writer.stop()
    gap = writer.longest_gap(after=started - 1)
    print(f"write gap across a stop of the master: {gap:.3f}s; {writer.counts()}")  # its target: bench/docker.py
    log = deployment.nodes["redis-master"].log_path.read_text()
    assert "festival prestop.sh: handed the master role over to" in log, log[-2000:]
    assert writer.lost() == []
    deployment.start("redis-master")
    deployment.wait_healthy(30)
    assert deployment.role("redis-master") == "slave"


def test_a_handed_over_master_boots_as_replica_when_no_sentinel_answers(make_deployment):
    """prestop.sh demotes the node itself (REPLICAOF) and persists it (CONFIG REWRITE into the runtime config in the
    data directory): Sentinel sees a replica of the right master and rewrites nothing. Restarted while no Sentinel
    answers, it keeps its last role, a replica of the new master, instead of booting as a second master."""
    deployment = make_deployment(role_wait_seconds=2)
    deployment.start_all()
    hook = deployment.run_script("redis-master/prestop.sh", timeout=render.PRESTOP_WAIT_SECONDS + 10)
    assert hook.returncode == 0, hook.stderr
    # The Sentinel prestop.sh asked names the new master at once, the others from its hello messages (every 2 s).
    new = deployment.address(deployment.wait_for_new_master("redis-master"))
    deployment.stop("redis-master")
    for sentinel in deployment.topology.sentinels:
        deployment.stop(sentinel.name)
    deployment.start("redis-master")
    log = deployment.nodes["redis-master"].log_path
    wait_until(lambda: "keeping this node's last role" in log.read_text(), 30, what="redis-master to boot alone")
    info = wait_until(lambda: deployment.client("redis-master").info("replication"), 10, what="redis-master to serve")
    assert info["role"] == "slave" and f"{info['master_host']}:{info['master_port']}" == new, info
