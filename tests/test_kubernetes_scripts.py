"""The prod pods' scripts, run for real: preStop failover, readiness probes and the check Job's script, with
real redis-server / redis-sentinel processes and the pod environment simulated by tests/harness.py (per-node
FESTIVAL_* identity, config dir, secret files, data dir)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis

from components import checks, render
from tests.harness import LocalDeployment, wait_until
from tests.writer import Writer

pytestmark = pytest.mark.integration

WRITE_GAP_TARGET = 1.5  # seconds: the behaviour target for a master pod's preStop


def address(deployment: LocalDeployment, name: str) -> str:
    return str(deployment.nodes[name].node.address)


def probe(deployment: LocalDeployment, node: str, check: str) -> int:
    return deployment.run_script(f"{node}/probe.sh", check).returncode


# --- check-job.sh --------------------------------------------------------------------------------
def run_check(
    deployment: LocalDeployment, settle: float = 0, secrets: Path | None = None, node: str = "redis-master"
) -> subprocess.CompletedProcess:
    """check-job.sh as the Job runs it, here with one node's environment and its rendered node lists.

    FESTIVAL_CHECK_REDIS_NODES / FESTIVAL_CHECK_SENTINELS would override the lists (space-separated host:port).
    """
    local = deployment.nodes[node]
    script = local.root / "conf" / "check-job.sh"
    script.write_text(render.check_files(deployment.settings, deployment.topology)["check-job.sh"])
    env = {**deployment.env(local), "FESTIVAL_CHECK_SETTLE_SECONDS": str(settle)}
    if secrets:
        env["FESTIVAL_SECRETS_DIR"] = str(secrets)
    return subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=settle + 60)


def reported(result: subprocess.CompletedProcess) -> set[tuple[str, str]]:
    """(invariant, node) of every FAIL line."""
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    for words in lines:
        assert len(words) == 5 and words[3].startswith("expected=") and words[4].startswith("seen="), words
    return {(words[1], words[2]) for words in lines}


def python_verdict(deployment: LocalDeployment, **overrides) -> set[tuple[str, str]]:
    report = checks.check_deployment(deployment.target(**overrides))
    return {(failure.invariant, failure.node) for failure in report.failures}


def secrets_dir(tmp_path: Path, redis_password: str, sentinel_password: str) -> Path:
    directory = tmp_path / "other-secrets"
    directory.mkdir(exist_ok=True)
    (directory / render.REDIS_PASSWORD_KEY).write_text(redis_password)
    (directory / render.SENTINEL_PASSWORD_KEY).write_text(sentinel_password)
    return directory


def test_check_job_waits_for_a_new_deployment_to_settle_then_names_auth_failures(make_deployment, tmp_path):
    deployment = make_deployment()
    deployment.start_all(wait=False)  # as in the cluster: the Job starts while Sentinels still discover
    result = run_check(deployment, settle=60)
    master = address(deployment, "redis-master")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"healthy: master {master}, 2 replicas linked, 3 Sentinels agree, canary replicated"
    ]
    assert python_verdict(deployment) == set()  # the Python checks agree
    canaries = list(deployment.redis_client("redis-replica-2").scan_iter("festival:canary:*"))
    assert canaries and 0 < deployment.redis_client("redis-master").ttl(canaries[0]) <= 60

    wrong_redis = secrets_dir(tmp_path, "wrong-password", deployment.sentinel_password)
    result = run_check(deployment, secrets=wrong_redis)
    assert result.returncode == 1  # the Sentinels answered
    expected = {("redis-reachable", str(node.address)) for node in deployment.topology.redis_nodes}
    expected.add(("one-master", "deployment"))
    assert reported(result) == expected == python_verdict(deployment, redis_password="wrong-password")
    assert result.stdout.count("seen=auth-failed") == 3

    nothing_answers = secrets_dir(tmp_path, "wrong-password", "wrong-too")
    result = run_check(deployment, secrets=nothing_answers)
    assert result.returncode == 2
    assert result.stdout.splitlines()[-1] == "unreachable: no Redis node or Sentinel answered"
    assert result.stdout.count("seen=auth-failed") == 6


def test_check_job_reports_a_killed_replica(deployment):
    deployment.kill("redis-replica-2")
    result = run_check(deployment)
    assert result.returncode == 1
    expected = {
        ("redis-reachable", address(deployment, "redis-replica-2")),
        ("replica-count", address(deployment, "redis-master")),
    }
    assert reported(result) == expected == python_verdict(deployment)
    assert f"FAIL replica-count {address(deployment, 'redis-master')} expected=2 seen=1" in result.stdout
    assert result.stdout.splitlines()[-1] == "unhealthy: 2 failed invariants"


def test_two_lost_sentinels_make_the_survivor_unready_and_fail_the_check(deployment):
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        assert probe(deployment, name, "sentinel-ready") == 0
    deployment.kill("sentinel-1")
    deployment.kill("sentinel-2")
    # the survivor counts them out after down-after-milliseconds: no quorum, not ready, still alive
    wait_until(lambda: probe(deployment, "sentinel-3", "sentinel-ready") == 1, 10, what="sentinel-3 unready")
    assert probe(deployment, "sentinel-3", "sentinel-alive") == 0

    result = run_check(deployment)
    assert result.returncode == 1
    expected = {
        ("sentinel-reachable", address(deployment, "sentinel-1")),
        ("sentinel-reachable", address(deployment, "sentinel-2")),
        ("sentinel-quorum", address(deployment, "sentinel-3")),
    }
    assert reported(result) == expected == python_verdict(deployment)
    assert f"FAIL sentinel-quorum {address(deployment, 'sentinel-3')} expected=OK seen=NOQUORUM" in result.stdout

    deployment.start("sentinel-1")
    for name in ("sentinel-1", "sentinel-3"):
        wait_until(lambda name=name: probe(deployment, name, "sentinel-ready") == 0, 20, what=f"{name} ready")


# --- prestop.sh --------------------------------------------------------------------------------------
def test_prestop_hands_the_master_role_over_before_the_pod_stops_and_the_pod_returns_as_replica(
    deployment, record_property
):
    sentinels = [("127.0.0.1", node.address.port) for node in deployment.topology.sentinels]
    topology = deployment.topology
    writer = Writer(sentinels, topology.master_name, deployment.redis_password, deployment.sentinel_password)
    writer.start()
    try:
        writer.wait_for_writes(50)
        old = address(deployment, "redis-master")
        started = time.monotonic()
        hook = deployment.run_script("redis-master/prestop.sh", timeout=render.PRESTOP_WAIT_SECONDS + 10)
        assert hook.returncode == 0, hook.stderr
        # Before Kubernetes sends SIGTERM: this node is a replica and a Sentinel names another master.
        assert deployment.role("redis-master") == "slave"
        answers = set(deployment.sentinel_masters().values())
        assert answers - {old}, answers
        with pytest.raises(redis.ReadOnlyError):
            deployment.redis_client("redis-master").set("after-handover", "1")
        deployment.stop("redis-master")  # SIGTERM, as after the hook
        writer.wait_for_writes(50)
    finally:
        writer.stop()
    gap = writer.longest_gap(after=started - 1)
    record_property("write_gap_seconds", round(gap, 3))
    print(f"write gap across the preStop failover: {gap:.3f}s")
    assert gap <= WRITE_GAP_TARGET, f"writes failed for {gap:.3f}s; errors: {writer.errors[-5:]}"
    assert writer.lost() == []

    deployment.start("redis-master")  # the pod is recreated with its volume
    deployment.wait_healthy(30)
    info = deployment.redis_client("redis-master").info("replication")
    assert info["role"] == "slave" and f"{info['master_host']}:{info['master_port']}" != old


def test_prestop_on_a_replica_or_a_master_without_replicas_stops_without_failover(deployment):
    master = address(deployment, "redis-master")
    hook = deployment.run_script("redis-replica-1/prestop.sh")
    assert hook.returncode == 0 and hook.stderr == ""
    assert set(deployment.sentinel_masters().values()) == {master}

    deployment.kill("redis-replica-1")
    deployment.kill("redis-replica-2")
    wait_until(lambda: deployment.redis_client("redis-master").info("replication")["connected_slaves"] == 0, 10)
    hook = deployment.run_script("redis-master/prestop.sh")
    assert hook.returncode == 0
    assert "without a failover" in hook.stderr
    assert deployment.role("redis-master") == "master"
    assert set(deployment.sentinel_masters().values()) == {master}


# --- readiness -------------------------------------------------------------------------------------
def test_a_replica_is_ready_only_while_linked_to_a_master(deployment):
    assert probe(deployment, "redis-replica-1", "redis-ready") == 0
    assert probe(deployment, "redis-master", "redis-ready") == 0
    old = address(deployment, "redis-master")
    deployment.kill("redis-master")
    wait_until(lambda: probe(deployment, "redis-replica-1", "redis-ready") == 1, 5, what="replica unready")
    assert probe(deployment, "redis-replica-1", "redis-alive") == 0  # alive: not restarted for its master

    # the Sentinels promote one replica; the other links to it and is ready again
    wait_until(lambda: set(deployment.sentinel_masters().values()) - {old, None}, 20, what="a failover")
    for name in ("redis-replica-1", "redis-replica-2"):
        wait_until(lambda name=name: probe(deployment, name, "redis-ready") == 0, 20, what=f"{name} ready")
