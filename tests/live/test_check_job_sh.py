"""check-job.sh, the Kubernetes check Job's script, run for real against loopback deployments, and its verdicts
compared with the Python checks' (same invariants, nodes and parameters)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from components import users
from components.checks.observe import check_deployment
from harness.check_runs import reported, run_check
from harness.local import LocalDeployment
from harness.runtime import wait_until

pytestmark = pytest.mark.integration


def python_verdict(deployment: LocalDeployment, **overrides) -> set[tuple[str, str]]:
    return check_deployment(deployment.target(**overrides)).failed()


def secrets_dir(tmp_path: Path, redis_password: str, sentinel_password: str) -> Path:
    """Secrets as the check Job mounts them, with these admin passwords."""
    directory = tmp_path / "other-secrets"
    directory.mkdir(exist_ok=True)
    (directory / users.ADMIN.key).write_text(redis_password)
    (directory / users.SENTINEL_ADMIN.key).write_text(sentinel_password)
    return directory


def test_check_job_waits_for_a_new_deployment_to_settle_then_names_auth_failures(make_deployment, tmp_path):
    deployment = make_deployment()
    deployment.start_all(wait=False)  # as in the cluster: the Job starts while Sentinels still discover
    result = run_check(deployment, settle=60)
    master = deployment.address("redis-master")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"healthy: master {master}, 2 replicas linked, 3 Sentinels agree, canary replicated"
    ]
    assert python_verdict(deployment) == set()  # the Python checks agree
    canaries = list(deployment.client("redis-replica-2").scan_iter("festival:canary:*"))
    assert canaries and 0 < deployment.client("redis-master").ttl(canaries[0]) <= 60

    wrong_redis = secrets_dir(tmp_path, "wrong-password", deployment.sentinel_admin_password)
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
        ("redis-reachable", deployment.address("redis-replica-2")),
        ("replica-count", deployment.address("redis-master")),
    }
    assert reported(result) == expected == python_verdict(deployment)
    assert f"FAIL replica-count {deployment.address('redis-master')} expected=2 seen=1" in result.stdout
    assert result.stdout.splitlines()[-1] == "unhealthy: 2 failed invariants"


def test_two_lost_sentinels_fail_the_check_but_the_survivor_stays_ready_for_clients(deployment):
    for name in ("sentinel-1", "sentinel-2", "sentinel-3"):
        assert deployment.probe(name, "sentinel-ready") == 0
    deployment.kill("sentinel-1")
    deployment.kill("sentinel-2")
    # the survivor counts them out after down-after-milliseconds: no quorum, yet it still names the live master
    survivor = deployment.client("sentinel-3")

    def lost_quorum() -> bool:
        try:
            survivor.execute_command("SENTINEL", "CKQUORUM", deployment.topology.master_name)
        except redis.ResponseError as error:
            return str(error).startswith("NOQUORUM")
        return False

    wait_until(lost_quorum, 10, what="sentinel-3 to lose quorum")
    assert deployment.probe("sentinel-3", "sentinel-ready") == 0

    result = run_check(deployment)
    assert result.returncode == 1
    expected = {
        ("sentinel-reachable", deployment.address("sentinel-1")),
        ("sentinel-reachable", deployment.address("sentinel-2")),
        ("sentinel-quorum", deployment.address("sentinel-3")),
    }
    assert reported(result) == expected == python_verdict(deployment)
    assert f"FAIL sentinel-quorum {deployment.address('sentinel-3')} expected=OK seen=NOQUORUM" in result.stdout

    deployment.start("sentinel-1")
    for name in ("sentinel-1", "sentinel-3"):
        wait_until(lambda name=name: deployment.probe(name, "sentinel-ready") == 0, 20, what=f"{name} ready")
