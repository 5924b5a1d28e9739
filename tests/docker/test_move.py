"""The move from the hand-written Compose setup to the dev stack, with its data, as docs/migration.md tells it: the old
setup (harness/seed_setup.py) holds login sessions and cache and takes an application's writes (harness/writer.py,
configured as the old setup's applications were: one password, no user names); the dev stack is deployed beside it
with its own names and ports; tools/move.py copies the data by replication and switches; the writer then moves to
the new stack, as a redeployed application does. No write the old or the new master acknowledged may be missing
afterwards, the old data must be there with its expiries, and the old master must refuse writes.

How long writes stop is a figure of bench/move.py, not asserted here.
"""

from __future__ import annotations

import pytest
import redis

from components.settings import Settings
from harness.seed_setup import MASTER, SeedSetup, dataset, write_dataset
from harness.writer import Writer
from tools.move import Move, Source, preflight_problems

pytestmark = pytest.mark.docker

# Waits, each far above what it takes, none a performance bound: a full sync of a few MB within Redis' own
# repl-timeout (60 s) twice over; each step of the switch within min-replicas-max-lag (a replica slower than that
# does not count for min-replicas-to-write) three times over.
SYNC_TIMEOUT = 2 * 60
SWITCH_TIMEOUT = 3 * Settings().min_replicas_max_lag


@pytest.fixture
def old_setup(docker_engine):
    setup = SeedSetup()
    try:
        setup.start()
        yield setup
    finally:
        setup.teardown()
        assert setup.leftovers() == []


def test_the_old_setup_moves_to_the_dev_stack_with_its_data_and_no_acknowledged_write_lost(old_setup, deployments):
    old_master = old_setup.client(MASTER)
    write_dataset(old_master, sessions=2000, cache=1000)
    before = dataset(old_master)
    writer = Writer(**old_setup.client_settings()).start()
    try:
        writer.wait_for_writes(50)
        new = deployments.new()  # beside the old setup: its own namePrefix, network, volumes and ports
        new_master = new.master()
        old_setup.connect(new_master)  # where the new master reaches redis-master:6379
        move = Move(
            Source(f"127.0.0.1:{old_setup.host_ports[MASTER]}", "redis-master:6379", old_setup.password),
            new.target(),
        )
        assert preflight_problems(move.facts()) == []

        move.sync(SYNC_TIMEOUT)
        on_old = len(writer.acknowledged)
        writer.wait_for_writes(50)  # the applications keep writing to the old master while the data is copied
        move.switch(SWITCH_TIMEOUT)
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            old_master.set("after-the-switch", 1)
        writer.switch_to(**new.client_settings())
        switched = len(writer.acknowledged)
        writer.wait_for_writes(50)
        move.finish(SWITCH_TIMEOUT)
        old_setup.disconnect(new_master)
    finally:
        writer.stop()
    old_setup.down()  # removed: nothing is read from it any more

    assert writer.lost() == [], f"acknowledged writes missing on the new master: {writer.counts()}"
    assert 0 < on_old < switched < len(writer.acknowledged)
    moved = {key: value for key, value in dataset(new.client(new.master()), before).items()}
    assert moved == before, f"keys missing or different: {sorted(set(before) ^ set(moved))[:10]}"
    assert new.master() == new_master
    for sentinel in new.sentinel_names():  # the hold on the new Sentinels is lifted
        state = new.client(sentinel).sentinel_master(new.outputs["masterName"])
        assert state["down-after-milliseconds"] == new.overrides["downAfterMilliseconds"]
