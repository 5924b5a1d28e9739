"""The move from the hand-written Compose setup to the dev stack, with its data, as docs/migration.md tells it: the old
setup (harness/seed_setup.py) holds login sessions and cache and takes an application's writes (harness/writer.py,
configured as the old setup's applications were: one password, no user names); the dev stack is deployed beside it
with its own names and ports; the operator's command, `python -m tools.move --stack dev ...` (the stack read through
the stand-in `pulumi`, tests/docs/pulumi_cli.py), checks, copies the data by replication and switches, and its
--on-switch command tells the writer to move to the new stack, as a redeployed application does. No write the old
or the new master acknowledged may be missing afterwards, the old data must be there with its expiries, the old
master must refuse writes, and the new Sentinels must be back to their settings.

How long writes stop is a figure of bench/move.py, not asserted here.
"""

from __future__ import annotations

import threading

import pytest
import redis

from components.settings import Settings
from harness.runtime import wait_until
from harness.seed_setup import MASTER, MASTER_NAME, SeedSetup, dataset, write_dataset
from harness.writer import Writer
from tests.docs import pulumi_cli
from tests.docs.pulumi_state import stack_record
from tools import move

pytestmark = pytest.mark.docker

# Waits, each far above what it takes, none a performance bound: a full sync of a few MB within Redis' own
# repl-timeout (60 s) twice over; each step of the switch within min-replicas-max-lag (a replica slower than that
# does not count for min-replicas-to-write) three times over.
SYNC_TIMEOUT = 2 * 60
SWITCH_TIMEOUT = 3 * Settings().min_replicas_max_lag
NO_PATH_TIMEOUT = 5  # a copy that cannot start: any wait shows the undo


@pytest.fixture
def old_setup(docker_engine):
    setup = SeedSetup()
    try:
        setup.start()
        yield setup
    finally:
        setup.teardown()
        assert setup.leftovers() == []


def test_the_old_setup_moves_to_the_dev_stack_with_its_data_and_no_acknowledged_write_lost(
    old_setup, deployments, monkeypatch, tmp_path, capsys
):
    old_master = old_setup.client(MASTER)
    write_dataset(old_master, sessions=2000, cache=1000)
    before = dataset(old_master)
    new = deployments.new()  # beside the old setup: its own namePrefix, network, volumes and ports
    sentinels = new.sentinel_names()
    for variable, value in pulumi_cli.install(tmp_path / "bin", {"dev": stack_record(new.program)}).items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("OLD_REDIS_PASSWORD", old_setup.password)
    switched_flag = tmp_path / "switched"
    command = [
        "--stack", "dev",
        "--from", f"127.0.0.1:{old_setup.host_ports[MASTER]}",
        "--replicate-from", "redis-master:6379",
        "--sync-timeout", str(SYNC_TIMEOUT),
        "--switch-timeout", str(SWITCH_TIMEOUT),
        "--on-switch", f"touch {switched_flag}",
    ]  # fmt: skip
    new_master = new.master()
    down_after = new.overrides["downAfterMilliseconds"]
    masterauth = new.client(new_master).config_get("masterauth")

    # Without a path from the new master to the old one the copy never starts: the move gives up and undoes itself.
    assert move.main([*command, "--sync-timeout", str(NO_PATH_TIMEOUT)]) == move.EXIT_REFUSED
    error = capsys.readouterr().err
    assert "can it resolve and reach redis-master:6379?" in error, error
    assert new.client(new_master).info("replication")["role"] == "master"
    assert new.client(new_master).config_get("masterauth") == masterauth
    assert {new.client(s).sentinel_master(MASTER_NAME)["down-after-milliseconds"] for s in sentinels} == {down_after}
    old_master.set("before-the-move", 1)  # the old master takes writes

    old_setup.connect(new_master)  # the path from the new master to redis-master:6379
    assert move.main([*command, "--dry-run"]) == move.EXIT_MOVED
    dry_run = capsys.readouterr()
    assert "refused" not in dry_run.err and "plan: switch" in dry_run.out
    assert old_master.info("replication")["connected_slaves"] == 2  # the dry run changed nothing

    writer = Writer(**old_setup.client_settings()).start()
    exits = []
    try:
        writer.wait_for_writes(50)
        moving = threading.Thread(target=lambda: exits.append(move.main(command)), daemon=True)
        moving.start()
        wait_until(
            lambda: switched_flag.exists() or not moving.is_alive(),
            SYNC_TIMEOUT + 2 * SWITCH_TIMEOUT,
            what="the switch",
        )
        if not switched_flag.exists():
            moving.join()
            pytest.fail(f"the move stopped before the switch (exit {exits}): {capsys.readouterr().err}")
        on_old = len(writer.acknowledged)
        writer.switch_to(**new.client_settings())  # the applications move when --on-switch runs
        writer.wait_for_writes(50)
        moving.join(timeout=3 * SWITCH_TIMEOUT)
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            old_master.set("after-the-switch", 1)
        old_setup.disconnect(new_master)
    finally:
        writer.stop()
    output = capsys.readouterr()
    assert exits == [move.EXIT_MOVED], output.err
    old_setup.down()  # removed: nothing is read from it any more

    assert writer.lost() == [], f"acknowledged writes missing on the new master: {writer.counts()}"
    assert 0 < on_old < len(writer.acknowledged)
    moved = dataset(new.client(new.master()), before)
    assert moved == before, f"keys missing or different: {sorted(set(before) ^ set(moved))[:10]}"
    assert new.master() == new_master
    assert new.client(new_master).config_get("masterauth") == masterauth
    states = [new.client(s).sentinel_master(MASTER_NAME) for s in sentinels]
    assert {state["down-after-milliseconds"] for state in states} == {down_after}
    # the old Sentinels' hellos, replicated with the old master's stream, never reached the new Sentinels
    assert {state["num-other-sentinels"] for state in states} == {len(sentinels) - 1}
