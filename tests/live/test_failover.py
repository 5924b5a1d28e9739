"""The fault matrix on real processes running the project's rendered configs and entrypoints.

Every scenario runs a Sentinel-aware writer and asserts that no acknowledged write is lost, and asserts
the replication checks' verdict. Sentinel timings are shortened (conftest.FAST) to keep the suite fast.
"""

import time

import pytest

from components import checks
from harness.local import LocalDeployment, wait_until
from harness.writer import Writer

pytestmark = pytest.mark.integration


def start_writer(deployment: LocalDeployment, wait_replicas: int = 1) -> Writer:
    writer = deployment.writer(wait_replicas=wait_replicas).start()
    writer.wait_for_writes(20)
    return writer


def wait_for_new_master(deployment: LocalDeployment, old: str, timeout: float = 20) -> str:
    """The node every answering Sentinel names master, once it is no longer `old`."""

    def agreed_new_master():
        answers = {a for a in deployment.sentinel_masters().values() if a is not None}
        return answers.pop() if len(answers) == 1 and old not in answers else None

    return deployment.node_at(wait_until(agreed_new_master, timeout, what=f"a failover away from {old}"))


def test_healthy_topology_passes_the_checks(deployment):
    report = checks.check_deployment(deployment.target())
    assert report.status == checks.HEALTHY, report.summary()
    assert report.exit_code == 0
    assert set(report.observation.canary.values()) == {"ok"}


def test_master_sigkill_fails_over_and_the_old_master_rejoins_as_replica(deployment):
    writer = start_writer(deployment)
    old = deployment.address("redis-master")
    deployment.kill("redis-master")
    new_master = wait_for_new_master(deployment, old)
    writer.wait_for_writes(20)  # a Sentinel-aware client writes again

    deployment.start("redis-master")  # through its entrypoint, as a container restart would
    report = deployment.wait_healthy()
    assert deployment.role("redis-master") == "slave"
    assert deployment.role(new_master) == "master"
    assert report.status == checks.HEALTHY
    writer.stop()
    assert writer.lost() == []


def test_master_paused_past_down_after_is_demoted_when_it_resumes(deployment):
    writer = start_writer(deployment)
    old = deployment.address("redis-master")
    deployment.pause("redis-master")
    new_master = wait_for_new_master(deployment, old)
    writer.wait_for_writes(20)
    deployment.resume("redis-master")

    wait_until(lambda: deployment.role("redis-master") == "slave", 20, what="the old master to be demoted")
    assert deployment.wait_healthy().status == checks.HEALTHY
    assert deployment.role(new_master) == "master"
    writer.stop()
    assert writer.lost() == []


def test_master_restarted_empty_before_down_after_loses_nothing(deployment):
    writer = start_writer(deployment)
    writer.wait_for_writes(200)
    acknowledged_before = len(writer.acknowledged)
    old = deployment.address("redis-master")

    deployment.kill("redis-master")
    deployment.wipe("redis-master")  # its volume is gone
    deployment.start("redis-master")  # back well before down-after-milliseconds

    new_master = wait_for_new_master(deployment, old)
    assert new_master != "redis-master"
    report = deployment.wait_healthy()
    assert report.status == checks.HEALTHY
    assert deployment.role("redis-master") == "slave"
    writer.stop()
    assert writer.lost() == []
    for name in ("redis-master", "redis-replica-1", "redis-replica-2"):
        assert deployment.client(name).dbsize() >= acknowledged_before
    assert (
        "data directory is empty: waiting for a replica to be promoted"
        in deployment.nodes["redis-master"].log_path.read_text()
    )


def test_one_sentinel_down_still_fails_over(deployment):
    deployment.kill("sentinel-1")
    report = checks.check_deployment(deployment.target())
    assert report.failed() == {("sentinel-reachable", deployment.address("sentinel-1"))}

    writer = start_writer(deployment)
    old = deployment.address("redis-master")
    deployment.kill("redis-master")
    wait_for_new_master(deployment, old)
    writer.wait_for_writes(20)
    writer.stop()
    assert writer.lost() == []


def test_two_sentinels_down_no_failover_and_the_checks_report_lost_quorum(deployment):
    writer = start_writer(deployment)
    deployment.kill("sentinel-1")
    deployment.kill("sentinel-2")
    old = deployment.address("redis-master")
    deployment.kill("redis-master")
    time.sleep(deployment.settings.down_after_milliseconds / 1000 * 4)
    assert deployment.sentinel_masters()["sentinel-3"] == old  # no failover without a majority

    report = checks.check_deployment(deployment.target())
    assert report.status == checks.UNHEALTHY
    found = report.failed()
    assert ("sentinel-quorum", deployment.address("sentinel-3")) in found
    assert ("sentinel-reachable", deployment.address("sentinel-1")) in found
    assert ("one-master", "deployment") in found
    assert "NOQUORUM" in report.summary()

    deployment.start("redis-master")  # back with its data, still the master the Sentinels know
    writer.wait_for_writes(20)
    writer.stop()
    assert writer.lost() == []


def test_a_replica_down_is_reported_by_name(deployment):
    writer = start_writer(deployment)
    deployment.kill("redis-replica-2")
    replica = deployment.address("redis-replica-2")
    started = time.monotonic()
    report = checks.check_deployment(deployment.target())
    assert time.monotonic() - started < 10  # a dead node costs a bounded timeout, never a hang
    assert report.status == checks.UNHEALTHY
    found = report.failed()
    assert ("redis-reachable", replica) in found
    assert ("replica-count", deployment.address("redis-master")) in found
    assert replica in report.summary()
    writer.wait_for_writes(20)  # one replica is enough for min-replicas-to-write
    writer.stop()
    assert writer.lost() == []


def test_wrong_password_is_a_clear_authentication_error(deployment):
    writer = start_writer(deployment)
    report = checks.check_deployment(deployment.target(redis_password="not-the-password"))
    assert report.status == checks.UNHEALTHY
    assert {f.invariant for f in report.failures} >= {"redis-reachable"}
    assert all(v.error.startswith("auth-failed") for v in report.observation.redis)
    writer.stop()  # the right password still writes
    assert writer.lost() == []


def test_full_restart_keeps_data_and_one_master(deployment):
    old = deployment.address("redis-master")
    deployment.kill("redis-master")
    new_master = wait_for_new_master(deployment, old)  # the master is no longer the bootstrap one
    deployment.start("redis-master")
    deployment.wait_healthy()

    writer = start_writer(deployment, wait_replicas=0)  # AOF everysec alone must keep them
    writer.wait_for_writes(300)
    writer.stop()
    time.sleep(1.5)  # appendfsync everysec: acknowledged more than a second ago is on disk
    for name in deployment.nodes:
        deployment.kill(name)
    deployment.start_all(wait=False)

    report = deployment.wait_healthy(timeout=60)
    masters = [n.name for n in deployment.topology.redis_nodes if deployment.role(n.name) == "master"]
    assert masters == [new_master]
    assert report.status == checks.HEALTHY
    assert writer.lost() == []


def test_sentinel_config_is_rewritten_and_the_new_master_survives_a_sentinel_restart(deployment):
    writer = start_writer(deployment)
    old = deployment.address("redis-master")
    deployment.kill("redis-master")
    new_master = wait_for_new_master(deployment, old)
    new_address = deployment.address(new_master)

    def rewritten():
        return all(
            f"sentinel monitor festival-master {new_address.replace(':', ' ')} 2"
            in (deployment.nodes[s.name].data_dir / "sentinel.conf").read_text()
            for s in deployment.topology.sentinels
        )

    wait_until(rewritten, 10, what="every Sentinel to rewrite its config")
    for sentinel in deployment.topology.sentinels:  # all at once: none can ask a peer
        deployment.stop(sentinel.name)
    for sentinel in deployment.topology.sentinels:
        deployment.start(sentinel.name)
    wait_until(
        lambda: set(deployment.sentinel_masters().values()) == {new_address}, 20, what="Sentinels to agree again"
    )
    deployment.start("redis-master")
    assert deployment.wait_healthy().status == checks.HEALTHY
    assert deployment.role(new_master) == "master"
    writer.wait_for_writes(20)
    writer.stop()
    assert writer.lost() == []
