"""Upgrading Redis in a running dev stack (issue #13, item 8): from the previous default, Redis 7.0.15 (Debian
bookworm), to Redis 8.0 (Debian trixie, with Debian's security fixes), applied as the Docker runner applies a
changed redisImage: every Redis node and Sentinel container is replaced (delete, then create), one after the other
in the order of their depends_on (the replicas, the master, the Sentinels), none waiting for the previous one to be
healthy (the engine waits for a create, not for health), while a Sentinel-aware writer runs.

A 7.0 replica cannot full-sync from an 8.0 master ("Can't handle RDB format version 12", retried forever); it can
continue by partial resync (PSYNC), which is what the demoted and remaining 7.0 nodes did in every run seen. What
the replicas logged about their syncs is printed; on a failure, every new container's role and failover log."""

from __future__ import annotations

import re
import time

import pytest

from components import checks
from harness.engine import OLD_REDIS_IMAGE, REDIS_IMAGE
from harness.program import run_program
from harness.runtime import MasterSampler
from harness.writer import start_writer

pytestmark = pytest.mark.docker

SYNC_LOG = re.compile(
    r"RDB format|Can't handle|Full resync|Partial resynchronization|MASTER <-> REPLICA sync: (Finished|Master accepted)"
)


def versions(deployment) -> dict[str, str]:
    """INFO server redis_version of every Redis node and Sentinel, by container name."""
    names = deployment.redis_names() + deployment.sentinel_names()
    return {name: deployment.client(name).info("server")["redis_version"] for name in names}


EVENTS = re.compile(
    rf"{SYNC_LOG.pattern}|switch-master|[+-]sdown|[+-]odown|failover|promoted|REPLICAOF|MASTER MODE"
    r"|Connecting to MASTER|[Ee]rror|refused|festival|entrypoint|prestop|role"
)


def timeline(deployment) -> str:
    """What each Redis node and Sentinel logged about roles, syncs and failovers (the current containers)."""
    parts = []
    for name in deployment.redis_names() + deployment.sentinel_names():
        try:
            text = deployment.container(name).logs().decode(errors="replace")
        except Exception as error:  # a container the apply left missing
            text = f"(no logs: {error})"
        lines = [line for line in text.splitlines() if EVENTS.search(line)]
        parts.append(f"--- {name} ---\n" + "\n".join(lines[-40:]))
    return "\n".join(parts)


def test_upgrading_from_redis_7_0_to_8_0_replaces_every_node_and_keeps_every_write(deployments, record_property):
    deployment = deployments.new(redisImage=OLD_REDIS_IMAGE)
    before = versions(deployment)
    assert set(before.values()) == {"7.0.15"}, before
    writer = start_writer(deployment)
    master_before, epoch_before = deployment.master(), deployment.config_epoch()
    changed = run_program("dev", {**deployment.overrides, "redisImage": REDIS_IMAGE})
    fault_at = time.monotonic()
    try:
        with MasterSampler(deployment) as masters:
            done = deployment.apply(changed)
            applied_s = time.monotonic() - fault_at
        assert deployment.wait_healthy().status == checks.HEALTHY
        deployment.wait_docker_healthy()
        writer.wait_for_writes(20)
    except Exception:
        print(f"\nupgrade failed {time.monotonic() - fault_at:.1f} s after the apply began; the new containers' logs:")
        if "masters" in locals():
            print(f"masters named by the Sentinels during the apply: {masters.seen}")
        print(timeline(deployment))
        raise
    finally:
        writer.stop()

    after = versions(deployment)
    roles = {name: deployment.client(name).info("replication") for name in deployment.redis_names()}
    master_after, epoch_after = deployment.master(), deployment.config_epoch()
    sync_log = {
        name: [
            line
            for line in deployment.container(name).logs().decode(errors="replace").splitlines()
            if SYNC_LOG.search(line)
        ]
        for name in deployment.redis_names()
    }
    figures = {
        **writer.counts(),
        "outage_s": round(writer.longest_gap(fault_at), 2),
        "wait_outage_s": round(writer.longest_replicated_gap(fault_at), 2),
        "apply_s": round(applied_s, 1),
        "failovers": masters.changes,
        "masters": masters.seen,
        "config_epoch_delta": epoch_after - epoch_before,  # not failovers: replaced Sentinels restart at epoch 0
        "master": f"{master_before} -> {master_after}",
    }
    print(f"\nupgrade 7.0.15 -> 8.0: {done}; {figures}")
    for name, lines in sync_log.items():
        print(f"  {name} ({roles[name]['role']}):", *(f"\n    {line}" for line in lines[-6:]))
    record_property("upgrade", figures)

    # every node and Sentinel (and the never-started secrets holder, which runs the same image) is replaced
    assert set(deployment.redis_names() + deployment.sentinel_names()) <= set(done["replaced"]), done
    assert all(version.startswith("8.0.") for version in after.values()), after
    assert [name for name, info in roles.items() if info["role"] == "master"] == [master_after]
    assert roles[master_after]["connected_slaves"] == len(deployment.redis_names()) - 1, roles[master_after]
    for name, info in roles.items():
        if name != master_after:
            assert info["master_link_status"] == "up", (name, info)
    assert figures["lost"] == 0 and figures["wait_lost"] == 0, figures
