"""Rotating passwords on the dev stack's containers as `pulumi up` does (docs/security.md, "Rotating a password"):
passwordGenerations KEY=1+2, then KEY=2; each step replaces only the secrets holder (which rewrites the files of the
secrets volume) and RedisPasswords applies them to the running containers, while a Sentinel-aware writer and a
replica reader on the host run. Then a replica and a Sentinel restart with the new passwords."""

from __future__ import annotations

import time

import pytest

from components import users
from harness.program import MOCK_PASSWORD_PREFIX, run_program
from harness.runtime import refused

pytestmark = pytest.mark.docker

# An application password (clients move between the steps), the replicas' and the Sentinels' among themselves.
ROTATED = (users.APP, users.REPLICATION, users.SENTINEL_PEER)


def test_each_password_is_replaced_by_two_updates_without_a_failed_request(deployment, record_property):
    master = deployment.master()
    admin = deployment.client(master)
    syncs = int(admin.info("stats")["sync_full"])
    name = deployment.outputs["masterName"]
    epoch = deployment.client(deployment.sentinel_names()[0]).execute_command("SENTINEL", "MASTER", name)
    writer = deployment.writer(wait_replicas=1)
    reader = writer.reader()
    writer.start()
    reader.start()
    generations: dict[str, str] = {}
    try:
        writer.wait_for_writes(20)
        for user in ROTATED:
            old = deployment.password(user.key)
            for step in ("1+2", "2"):
                generations[user.key] = step
                config = ",".join(f"{key}={value}" for key, value in generations.items())
                program = run_program("dev", {**deployment.overrides, "passwordGenerations": config})
                done = deployment.apply(program)
                assert done == {"created": [], "replaced": [f"{deployment.prefix}-redis-secrets"], "deleted": []}
                applied = deployment.check_result[f"{deployment.prefix}-redis-passwords"]["applied"]
                assert len(applied) == 2 * len(deployment.container_names()), applied
                if step == "1+2":  # applications redeploy with the new outputs between the two steps
                    writer.use_passwords(program.outputs["redisPassword"], program.outputs["sentinelPassword"])
                writer.wait_for_writes(20)
            new = deployment.password(user.key)
            assert new == f"{MOCK_PASSWORD_PREFIX}{deployment.prefix}-{user.key}-gen2" != old
            servers = deployment.sentinel_names() if user.server == "sentinel" else deployment.redis_names()
            for server in servers:
                assert refused(deployment, server, user, old) and not refused(deployment, server, user, new)
                deployment.client(server).execute_command("CLIENT", "KILL", "USER", user.name)
            deployment.wait_healthy()
        rotation_syncs = int(deployment.client(master).info("stats")["sync_full"]) - syncs
        rotated_at = time.monotonic()
        # The containers restarted after the rotation build their users and links from the rewritten volume.
        replica = next(n for n in deployment.redis_names() if n != master)
        deployment.restart(replica)
        deployment.restart(deployment.sentinel_names()[-1])
        deployment.wait_healthy()
        deployment.wait_docker_healthy()
        writer.wait_for_writes(20)
    finally:
        reader.stop()
        writer.stop()
    after = deployment.client(deployment.sentinel_names()[0]).execute_command("SENTINEL", "MASTER", name)
    errors = writer.errors + writer.waiting.errors + reader.errors
    during = [e for e in errors if float(e.split()[0]) < rotated_at]
    figures = {**writer.counts(), "reads": reader.reads, "failed_during_rotation": len(during)}
    figures["failed_after_the_restarts"] = len(errors) - len(during)
    figures["full_syncs"] = rotation_syncs  # during the rotation, before the restarts
    print(f"\nrotation of {[u.key for u in ROTATED]} on Docker: {figures}; errors: {errors}")
    record_property("rotation", figures)
    # A replica restarted under a replica reader may cost a read (redis-py's replica pool still lists it): that is
    # the restart's, not the rotation's; the writes must all succeed.
    assert during == [] and writer.errors == [] and writer.waiting.errors == [], figures
    assert figures["lost"] == 0 and figures["wait_lost"] == 0 and rotation_syncs == 0, figures
    assert deployment.master() == master and after["config-epoch"] == epoch["config-epoch"]
