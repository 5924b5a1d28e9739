"""The fault matrix on real processes running the project's rendered configs and entrypoints.

Every scenario runs harness.writer.Writer: redis-py's Sentinel client configured as docs/clients.md recommends,
several writes in flight, a write acknowledged when the server answered OK (no WAIT), and beside it a stream of
writes confirmed by `WAIT 1`. Each scenario reports both counts (printed and recorded as properties), asserts that
neither lost an acknowledged write, and asserts the replication checks' verdict. Sentinel timings are shortened
(conftest.FAST) to keep the suite fast.
"""

import time

import pytest

from components import checks, render
from harness.local import LocalDeployment, wait_until
from harness.writer import CRASH_WINDOW, Writer

pytestmark = pytest.mark.integration


def start_writer(deployment: LocalDeployment, wait_replicas: int = 1) -> Writer:
    writer = deployment.writer(wait_replicas=wait_replicas).start()
    writer.wait_for_writes(20)
    return writer


@pytest.fixture
def finish(request, record_property):
    """finish(writer, crashed_at=None, **figures): stop the writer, print and record both counts (and any
    figures), and assert that no acknowledged write was lost, with or without WAIT; after a crash, none but those
    of its last instant (harness.writer.CRASH_WINDOW)."""

    def finish(writer: Writer, crashed_at: float | None = None, **figures) -> dict:
        writer.stop()
        counts = writer.counts() | figures
        for key, value in counts.items():
            record_property(key, value)
        print(f"\n{request.node.name}: {counts}")
        if crashed_at is None:
            assert counts["lost"] == 0, f"acknowledged writes lost without WAIT: {counts}"
            assert counts.get("wait_lost", 0) == 0, f"WAIT-confirmed writes lost: {counts}"
        else:
            older = writer.lost_before(crashed_at - CRASH_WINDOW)
            assert not any(older.values()), f"writes acknowledged before the crash's last instant lost: {older}"
        return counts

    return finish


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


def test_master_sigkill_fails_over_and_the_old_master_rejoins_as_replica(deployment, finish):
    writer = start_writer(deployment)
    old = deployment.address("redis-master")
    killed = time.monotonic()
    deployment.kill("redis-master")
    new_master = wait_for_new_master(deployment, old)
    writer.wait_for_writes(20)  # a Sentinel-aware client writes again
    outage = writer.longest_gap(after=killed)

    deployment.start("redis-master")  # through its entrypoint, as a container restart would
    report = deployment.wait_healthy()
    assert deployment.role("redis-master") == "slave"
    assert deployment.role(new_master) == "master"
    assert report.status == checks.HEALTHY
    finish(writer, crashed_at=killed, outage_s=round(outage, 2))


def test_master_paused_past_down_after_loses_nothing_and_costs_no_more_than_the_pause(deployment, finish):
    """SIGSTOP of the master's process group (the node and its watcher, as `docker pause` freezes a container)
    until the Sentinels have promoted a replica and writes flow to it, then SIGCONT. The writes that were in
    flight to the paused master timed out at the client (socket_timeout), so none is acknowledged by the old
    master when it resumes; its watcher sees the Sentinels name another master and makes it a replica at once,
    instead of Sentinel doing so a fixed 8 s later."""
    writer = start_writer(deployment)
    old = deployment.address("redis-master")
    paused = time.monotonic()
    deployment.pause("redis-master")
    new_master = wait_for_new_master(deployment, old)
    writer.wait_for_writes(20)
    resumed = time.monotonic()
    deployment.resume("redis-master")

    wait_until(lambda: deployment.role("redis-master") == "slave", 5, 0.02, what="the old master to be demoted")
    demoted = time.monotonic() - resumed
    writer.wait_for_writes(50)
    assert deployment.wait_healthy().status == checks.HEALTHY
    assert deployment.role(new_master) == "master"
    pause = resumed - paused
    outage = writer.longest_gap(after=paused - 1)
    counts = finish(
        writer,
        pause_s=round(pause, 2),
        outage_s=round(outage, 2),
        wait_outage_s=round(writer.longest_replicated_gap(after=paused - 1), 2),
        demoted_after_resume_s=round(demoted, 2),
    )
    assert outage <= pause + 1, counts
    assert demoted <= 1.5, counts  # the watcher (0.5 s period), not Sentinel's 8 s


def test_master_restarted_empty_before_down_after_loses_nothing(deployment, finish):
    writer = start_writer(deployment)
    writer.wait_for_writes(200)
    acknowledged_before = len(writer.acknowledged)
    old = deployment.address("redis-master")

    killed = time.monotonic()
    deployment.kill("redis-master")
    deployment.wipe("redis-master")  # its volume is gone
    deployment.start("redis-master")  # back well before down-after-milliseconds

    new_master = wait_for_new_master(deployment, old)
    assert new_master != "redis-master"
    writer.wait_for_writes(20)
    outage = writer.longest_gap(after=killed)
    report = deployment.wait_healthy()
    assert report.status == checks.HEALTHY
    assert deployment.role("redis-master") == "slave"
    finish(writer, crashed_at=killed, outage_s=round(outage, 2))
    for name in ("redis-master", "redis-replica-1", "redis-replica-2"):
        assert deployment.client(name).dbsize() >= acknowledged_before
    assert (
        "data directory is empty: waiting for a replica to be promoted"
        in deployment.nodes["redis-master"].log_path.read_text()
    )


def test_one_sentinel_down_still_fails_over(deployment, finish):
    deployment.kill("sentinel-1")
    report = checks.check_deployment(deployment.target())
    assert report.failed() == {("sentinel-reachable", deployment.address("sentinel-1"))}

    writer = start_writer(deployment)
    old = deployment.address("redis-master")
    killed = time.monotonic()
    deployment.kill("redis-master")
    wait_for_new_master(deployment, old)
    writer.wait_for_writes(20)
    finish(writer, crashed_at=killed, outage_s=round(writer.longest_gap(after=killed), 2))


def test_master_killed_and_restarted_at_once_with_its_data_loses_nothing(deployment, finish):
    """A crash and an immediate restart (a container restart policy): the node comes back as master with every
    write (the kernel kept its AOF writes) and its replicas resynchronise from it. Sentinel notices the new run
    id (+reboot) and would fail the serving node over if no PONG cleared that within
    master-reboot-down-after-period; rendered at 3 s or more, it never does (at 1 s it did: 425 of 1710 lost)."""
    writer = start_writer(deployment)
    writer.wait_for_writes(200)
    old = deployment.address("redis-master")
    killed = time.monotonic()
    deployment.kill("redis-master")
    deployment.start("redis-master")
    wait_until(lambda: deployment.role("redis-master") in ("master", "slave"), 10, what="the node to be back")
    writer.wait_for_writes(50)
    time.sleep(render.REBOOT_FLOOR_MS / 1000 + 1)  # a reboot-triggered failover, if any, has started
    writer.wait_for_writes(20)
    outage = writer.longest_gap(after=killed)
    report = deployment.wait_healthy()
    assert report.status == checks.HEALTHY
    masters = {a for a in deployment.sentinel_masters().values() if a}
    counts = finish(writer, crashed_at=killed, outage_s=round(outage, 2), failed_over=masters != {old})
    assert masters == {old}, counts


def test_two_sentinels_down_no_failover_and_the_checks_report_lost_quorum(deployment, finish):
    writer = start_writer(deployment)
    deployment.kill("sentinel-1")
    deployment.kill("sentinel-2")
    old = deployment.address("redis-master")
    killed = time.monotonic()
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

    restarted = time.monotonic()
    deployment.start("redis-master")  # back with its data, still the master the Sentinels know
    writer.wait_for_writes(20)
    outage = writer.longest_gap(after=killed)
    finish(writer, outage_s=round(outage, 2), after_restart_s=round(outage - (restarted - killed), 2))


def test_a_replica_down_is_reported_by_name(deployment, finish):
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
    finish(writer)


def test_wrong_password_is_a_clear_authentication_error(deployment, finish):
    writer = start_writer(deployment)
    report = checks.check_deployment(deployment.target(redis_password="not-the-password"))
    assert report.status == checks.UNHEALTHY
    assert {f.invariant for f in report.failures} >= {"redis-reachable"}
    assert all(v.error.startswith("auth-failed") for v in report.observation.redis)
    finish(writer)  # the right password still writes


def test_full_restart_keeps_data_and_one_master(deployment, finish):
    old = deployment.address("redis-master")
    deployment.kill("redis-master")
    new_master = wait_for_new_master(deployment, old)  # the master is no longer the bootstrap one
    deployment.start("redis-master")
    deployment.wait_healthy()

    writer = start_writer(deployment)  # AOF everysec alone must keep them
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
    finish(writer)


def test_sentinel_config_is_rewritten_and_the_new_master_survives_a_sentinel_restart(deployment, finish):
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
    finish(writer)
