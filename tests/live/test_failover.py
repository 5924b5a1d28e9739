"""The fault matrix on real processes running the project's rendered configs and entrypoints.

Every scenario runs harness.writer.Writer: redis-py's Sentinel client configured as docs/clients.md recommends,
several writes in flight, a write acknowledged when the server answered OK (no WAIT), and beside it a stream of
writes confirmed by `WAIT 1`. Each scenario reports both counts (printed and recorded as properties), asserts that
neither lost an acknowledged write, and asserts the replication checks' verdict. Sentinel timings are shortened
(harness.local.FAST) to keep the suite fast; a scenario whose claim includes that no (further) failover happens, or that
a node is back before down-after, uses harness.local.STABLE, whose down-after a stall of a loaded machine cannot reach.
"""

import time

import pytest

from components import checks, render
from components.checks.observe import check_deployment
from harness.runtime import wait_until
from harness.writer import Writer, start_writer

pytestmark = pytest.mark.integration

# Sentinel makes a former master that reappears as a master a replica only 4 of its 2 s hello periods after it sees
# it (sentinel.c: SENTINEL_PUBLISH_PERIOD * 4); the master's watcher does it within one check.
SENTINEL_DEMOTION_SECONDS = 8
# The watcher's check of a master: every 0.5 s, ROLE and one question to each Sentinel, each a redis-cli process.
WATCHER_MASTER_PERIOD = 0.5


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
        writer.assert_nothing_lost(counts, crashed_at)
        return counts

    return finish


def test_healthy_topology_passes_the_checks(deployment):
    report = check_deployment(deployment.target())
    assert report.status == checks.HEALTHY, report.summary()
    assert report.exit_code == 0
    assert set(report.observation.canary.values()) == {"ok"}


def test_master_sigkill_fails_over_and_the_old_master_rejoins_as_replica(stable_deployment, finish):
    """The promoted replica must still be master after the old one rejoined: STABLE, so no stall of the new master
    during the rejoin (a full resync to the old master) passes for a crash."""
    deployment = stable_deployment
    writer = start_writer(deployment)
    old = "redis-master"
    killed = time.monotonic()
    deployment.kill("redis-master")
    new_master = deployment.wait_for_new_master(old)
    writer.wait_for_writes(20)  # a Sentinel-aware client writes again
    outage = writer.longest_gap(after=killed)

    deployment.start("redis-master")  # through its entrypoint, as a container restart would
    report = deployment.wait_healthy()
    assert deployment.role("redis-master") == "slave"
    assert deployment.role(new_master) == "master"
    assert report.status == checks.HEALTHY
    finish(writer, crashed_at=killed, outage_s=round(outage, 2))


def test_master_paused_past_down_after_loses_nothing_and_costs_no_more_than_the_pause(stable_deployment, finish):
    """SIGSTOP of the master's process group (the node and its watcher, as `docker pause` freezes a container)
    until the Sentinels have promoted a replica and writes flow to it, then SIGCONT. The writes that were in
    flight to the paused master timed out at the client (socket_timeout), so none is acknowledged by the old
    master when it resumes; its watcher sees the Sentinels name another master and makes it a replica at once,
    instead of Sentinel doing so a fixed 8 s later. STABLE: the promoted replica must stay master."""
    deployment = stable_deployment
    writer = start_writer(deployment)
    old = "redis-master"
    paused = time.monotonic()
    deployment.pause("redis-master")
    new_master = deployment.wait_for_new_master(old)
    writer.wait_for_writes(20)
    resumed = time.monotonic()
    deployment.resume("redis-master")

    # Waits past Sentinel's own demotion, so a watcher that did nothing shows as a figure, not a timeout.
    wait_until(
        lambda: deployment.role("redis-master") == "slave",
        SENTINEL_DEMOTION_SECONDS + 2,
        0.02,
        what="the old master to be demoted",
    )
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
    # The watcher demoted it, not Sentinel: its log says so, and it did so well before Sentinel would. The watcher
    # needs its 0.5 s period, plus 1 s when the pause caught it in a ROLE check (that check times out meanwhile, and
    # a failed check waits 1 s), plus one check: a few redis-cli processes, each up to a few 100 ms on a loaded
    # machine. About 2.5 s; the bound, half of Sentinel's 8 s, leaves 1.5 s of margin and still tells them apart.
    log = deployment.nodes["redis-master"].log_path.read_text()
    assert "this node replicates from it" in log, log[-2000:]
    assert demoted < SENTINEL_DEMOTION_SECONDS / 2, counts


def test_master_restarted_empty_before_down_after_loses_nothing(stable_deployment, finish):
    """STABLE: the restart (a shell and a few redis-cli processes) must ask the Sentinels before down-after, or the
    failover is over and the node never sees itself named master with an empty data directory."""
    deployment = stable_deployment
    writer = start_writer(deployment)
    writer.wait_for_writes(200)
    acknowledged_before = len(writer.acknowledged)
    old = "redis-master"

    killed = time.monotonic()
    deployment.kill("redis-master")
    deployment.wipe("redis-master")  # its volume is gone
    deployment.start("redis-master")  # back well before down-after-milliseconds

    new_master = deployment.wait_for_new_master(old)
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
    report = check_deployment(deployment.target())
    assert report.failed() == {("sentinel-reachable", deployment.address("sentinel-1"))}

    writer = start_writer(deployment)
    old = "redis-master"
    killed = time.monotonic()
    deployment.kill("redis-master")
    deployment.wait_for_new_master(old)
    writer.wait_for_writes(20)
    finish(writer, crashed_at=killed, outage_s=round(writer.longest_gap(after=killed), 2))


def test_master_killed_and_restarted_at_once_with_its_data_loses_nothing(stable_deployment, finish):
    """A crash and an immediate restart (a container restart policy): the node comes back as master with every
    write (the kernel kept its AOF writes) and its replicas resynchronise from it. Sentinel notices the new run
    id (+reboot) and would fail the serving node over if no PONG cleared that within
    master-reboot-down-after-period; rendered at 3 s or more, it never does (at 1 s it did: 425 of 1710 lost).
    STABLE: the node must answer again before down-after, which a loaded machine's restart could overrun at 1 s."""
    deployment = stable_deployment
    reboot_period = max(deployment.settings.down_after_milliseconds, render.REBOOT_FLOOR_MS) / 1000
    writer = start_writer(deployment)
    writer.wait_for_writes(200)
    old = "redis-master"
    killed = time.monotonic()
    deployment.kill("redis-master")
    deployment.start("redis-master")
    wait_until(lambda: deployment.role("redis-master") in ("master", "slave"), 10, what="the node to be back")
    writer.wait_for_writes(50)
    # A reboot-triggered failover, if any, starts when the rendered reboot period has passed: 1 s margin (a PING).
    time.sleep(reboot_period + 1)
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
    old = "redis-master"
    killed = time.monotonic()
    deployment.kill("redis-master")
    time.sleep(deployment.settings.down_after_milliseconds / 1000 * 4)
    assert deployment.sentinel_masters()["sentinel-3"] == old  # no failover without a majority

    report = check_deployment(deployment.target())
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
    master = deployment.client("redis-master")
    # The master drops the link when it reads the closed connection: at once, or a moment later on a loaded host.
    wait_until(lambda: master.info("replication")["connected_slaves"] == 1, 10, what="the master to drop the link")
    started = time.monotonic()
    report = check_deployment(deployment.target())
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
    report = check_deployment(deployment.target(redis_password="not-the-password"))
    assert report.status == checks.UNHEALTHY
    assert {f.invariant for f in report.failures} >= {"redis-reachable"}
    assert all(v.error.startswith("auth-failed") for v in report.observation.redis)
    finish(writer)  # the right password still writes


def test_full_restart_keeps_data_and_one_master(stable_deployment, finish):
    """STABLE: the promoted node must still be the master after every node restarted at once."""
    deployment = stable_deployment
    old = "redis-master"
    deployment.kill("redis-master")
    new_master = deployment.wait_for_new_master(old)  # the master is no longer the bootstrap one
    deployment.start("redis-master")
    deployment.wait_healthy()

    writer = start_writer(deployment)  # AOF everysec alone must keep them
    writer.wait_for_writes(300)
    writer.stop()

    # Every acknowledged write is in each node's AOF file before the kill (a killed process keeps what it wrote, and
    # everysec fsyncs it within a second). Not a fixed second: while an fsync is slow (a busy disk) Redis holds new
    # writes in its AOF buffer, up to 2 s (aof.c), so poll for an empty buffer and no fsync pending; 2 s + 5 s margin.
    def aof_flushed():
        for node in deployment.topology.redis_nodes:
            info = deployment.client(node.name).info("persistence")
            if info["aof_buffer_length"] or info["aof_pending_bio_fsync"]:
                return False
        return True

    wait_until(aof_flushed, 7, what="every node's AOF to have every acknowledged write")
    for name in deployment.nodes:
        deployment.kill(name)
    deployment.start_all(wait=False)

    report = deployment.wait_healthy(timeout=60)
    masters = [n.name for n in deployment.topology.redis_nodes if deployment.role(n.name) == "master"]
    assert masters == [new_master]
    assert report.status == checks.HEALTHY
    finish(writer)


def test_sentinel_config_is_rewritten_and_the_new_master_survives_a_sentinel_restart(stable_deployment, finish):
    """STABLE: the promoted node must still be the master after the Sentinels and the old master restarted."""
    deployment = stable_deployment
    writer = start_writer(deployment)
    old = "redis-master"
    deployment.kill("redis-master")
    new_master = deployment.wait_for_new_master(old)
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
    wait_until(lambda: set(deployment.sentinel_masters().values()) == {new_master}, 20, what="Sentinels to agree again")
    deployment.start("redis-master")
    assert deployment.wait_healthy().status == checks.HEALTHY
    assert deployment.role(new_master) == "master"
    writer.wait_for_writes(20)
    finish(writer)
