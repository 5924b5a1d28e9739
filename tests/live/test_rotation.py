"""Rotating each user's password on real processes (docs/security.md, "Rotating a password") while a Sentinel-aware
writer and a replica reader run: the deployment's two steps (passwordGenerations KEY=1+2, then KEY=2: the platform
rewrites the secret files, then passwords.apply runs passwords.sh on every node), with a Redis node and a Sentinel
restarted between `accept` and `use` of the first step, and another pair after the rotation. Measured: failed
writes and reads, full resyncs on the master, failovers; the old password refused, the new one working."""

from __future__ import annotations

import time

import pytest

from components import passwords, users
from harness.local import STABLE, LocalDeployment
from harness.runtime import refused, wait_until

pytestmark = pytest.mark.integration

# Every user's password whose rotation something depends on: applications (app, client), the nodes' links to each
# other (replication, sentinel, peer), festival's own scripts (both admins); and one exporter's, whose user only logs
# in here (no exporter runs: docs/security.md says what an exporter needs).
ROTATED = (
    users.APP,
    users.SENTINEL_CLIENT,
    users.REPLICATION,
    users.SENTINEL,
    users.SENTINEL_PEER,
    users.ADMIN,
    users.SENTINEL_ADMIN,
    users.EXPORTER,
)


def servers(deployment: LocalDeployment, user: users.User) -> list[str]:
    nodes = deployment.topology.sentinels if user.server == "sentinel" else deployment.topology.redis_nodes
    return [node.name for node in nodes]


def full_syncs(deployment: LocalDeployment, master: str) -> int:
    return int(deployment.client(master).info("stats")["sync_full"])


def every_sentinel_sees_everyone(deployment: LocalDeployment) -> dict[str, list[str]]:
    """What each Sentinel reports wrong: a node or peer it marks down or disconnected (it could not log in)."""
    name, problems = deployment.topology.master_name, {}
    for node in deployment.topology.sentinels:
        sentinel = deployment.client(node.name)
        flags = [sentinel.execute_command("SENTINEL", "MASTER", name)["flags"]]
        for kind in ("REPLICAS", "SENTINELS"):
            flags += [entry["flags"] for entry in sentinel.execute_command("SENTINEL", kind, name)]
        wrong = [f for f in flags if "down" in f or "disconnected" in f]
        if wrong or len(flags) != len(deployment.topology.nodes) - 1:  # all but itself
            problems[node.name] = flags
    return problems


def restart(deployment: LocalDeployment, *names: str) -> tuple[float, float, list[str]]:
    """Restart these nodes, then wait until healthy; (start, end, the nodes' addresses)."""
    started = time.monotonic()
    for name in names:
        deployment.restart(name)
    deployment.wait_healthy(60)
    return started, time.monotonic(), [deployment.address(name) for name in names]


def not_from_a_restart(errors: list[str], restarts: list[tuple[float, float, list[str]]]) -> list[str]:
    """The reader's errors other than those of a node being restarted, while it was: a read that failed because
    the replica it was reading from was down, or still loading its data (redis-py 8.1 retries a command on a new
    connection to the same replica, not another one, so a restart longer than the retries' 0.35 s fails one read
    per connection to it). That is the restart's cost, which applications pay whenever a replica restarts; the
    rotation may cost nothing."""

    def from_restart(error: str) -> bool:
        moment = float(error.split()[0])
        return any(
            start <= moment <= end
            and ("BusyLoadingError" in error or any(f"{address}." in error for address in addresses))
            for start, end, addresses in restarts
        )

    return [error for error in errors if not from_restart(error)]


@pytest.mark.parametrize("user", ROTATED, ids=lambda user: user.key)
def test_a_password_is_replaced_without_a_failed_request_a_resync_or_a_failover(stable_deployment, user):
    rotate_under_load(stable_deployment, user)


def test_the_replication_password_is_replaced_the_same_way_over_tls(make_deployment):
    deployment = make_deployment(tls="true", **STABLE)
    deployment.start_all()
    rotate_under_load(deployment, users.REPLICATION)


def rotate_under_load(deployment: LocalDeployment, user: users.User) -> None:
    """Both steps of a rotation of `user`'s password under a writer and a reader, with restarts; what is measured
    is printed and asserted (module docstring). The deployment has harness.local.STABLE timings: no failover is part of
    the claim, so no stall of a loaded machine may pass for a dead master."""
    old, new = deployment.passwords[user.key], f"rotated-{user.key}-gen2"
    master = deployment.sentinel_masters()["sentinel-1"]
    writer = deployment.writer(wait_replicas=1).start()
    reader = writer.reader().start()
    try:
        writer.wait_for_writes(50)
        epochs = deployment.config_epochs()

        # Step 1 (KEY=1+2): every node accepts both; a Redis node and a Sentinel restart between accept and use.
        deployment.change_passwords({user.key: new}, {user.key: old})
        for node in deployment.topology.nodes:
            deployment.run_passwords_script(node.name, "accept")
        restarts = [restart(deployment, "redis-replica-2", "sentinel-3")]
        syncs = full_syncs(deployment, master)
        deployment.apply_passwords()
        for name in servers(deployment, user):
            assert not refused(deployment, name, user, old) and not refused(deployment, name, user, new), name
        writer.wait_for_writes(50)
        # Applications move to the new password between the two steps (a redeploy with the new stack outputs).
        writer.use_passwords(deployment.redis_password, deployment.sentinel_password)

        # Step 2 (KEY=2): only the new one is accepted.
        deployment.change_passwords({}, {})
        deployment.apply_passwords()
        for name in servers(deployment, user):
            assert refused(deployment, name, user, old) and not refused(deployment, name, user, new), name
        # Sessions that logged in with the old password outlive it: end them, so every client, replica link and
        # Sentinel link logs in again, with the new one.
        for name in servers(deployment, user):
            deployment.client(name).execute_command("CLIENT", "KILL", "USER", user.name)
        deployment.wait_healthy(30)
        # Long enough for a Sentinel to mark down a node or peer it can no longer log in to: down-after, Sentinel's
        # PING period (1 s) and 1 s margin.
        time.sleep(deployment.settings.down_after_milliseconds / 1000 + 2)
        assert every_sentinel_sees_everyone(deployment) == {}
        writer.wait_for_writes(50)
        assert full_syncs(deployment, master) == syncs  # the killed replica links resumed (partial resync)

        # Persistence: nodes restarted after the rotation rebuild their users and links from the secret files.
        restarts.append(restart(deployment, "redis-replica-1", "sentinel-2"))
        for name in servers(deployment, user):
            assert refused(deployment, name, user, old) and not refused(deployment, name, user, new), name
        writer.wait_for_writes(50)
        wait_until(lambda: reader.reads > 100, 10, what="replica reads")
    finally:
        reader.stop()
        writer.stop()
    counts = writer.counts()
    print(
        f"{user.key}: {counts} reads={reader.reads} failed={len(writer.errors)}+{len(writer.waiting.errors)}+"
        f"{len(reader.errors)} full-syncs={syncs}->{full_syncs(deployment, master)} epochs={epochs}"
    )
    assert writer.errors == [] and writer.waiting.errors == []
    assert not_from_a_restart(reader.errors, restarts) == [], reader.errors
    assert counts["lost"] == 0 and counts["wait_lost"] == 0
    assert deployment.config_epochs() == epochs, "a failover happened"
    assert deployment.sentinel_masters()["sentinel-1"] == master
    assert "+switch-master" not in deployment.logs()
    ckquorum = deployment.client("sentinel-1").execute_command("SENTINEL", "CKQUORUM", deployment.topology.master_name)
    assert str(ckquorum).startswith("OK"), ckquorum


def test_a_node_that_does_not_answer_is_asked_again_and_one_that_answers_is_changed(make_deployment):
    """passwords.sh exits NO_ANSWER, changing nothing, when its node is down or does not answer within CLI_TIMEOUT
    (paused, as on a host too loaded to answer), and passwords.apply asks again: the step then succeeds."""
    deployment = make_deployment()
    master = deployment.topology.redis_nodes[0].name
    down = deployment.run_script(f"{master}/{passwords.SCRIPT}", "accept")
    assert down.returncode == passwords.NO_ANSWER and "unreachable; to be asked again" in down.stderr, down
    deployment.start_all()
    deployment.pause(master)
    try:
        stalled = deployment.run_script(f"{master}/{passwords.SCRIPT}", "accept")
    finally:
        deployment.resume(master)
    assert stalled.returncode == passwords.NO_ANSWER and "timeout; to be asked again" in stalled.stderr, stalled
    deployment.run_passwords_script(master, "accept")
