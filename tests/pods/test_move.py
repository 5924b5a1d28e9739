"""The move from the hand-written Kubernetes setup to the prod stack in another namespace, with its data, as
docs/migration.md tells it: the seed's objects (harness/seed_cluster.py) run in the pod runner in namespace
`festival`, holding login sessions and cache and taking an application's writes (harness/writer.py, configured as
the old setup's applications were: one password, no user names, no TLS); the prod stack (TLS-only) runs beside it in
a namespace of its own; the new master pod is given a path to the old master (on a cluster: a NetworkPolicy) and
tools/move.py copies the data by replication and switches; the writer then moves to the new stack. No acknowledged
write may be missing, the old data must be there, the old master must refuse writes.
"""

from __future__ import annotations

import pytest
import redis

from components.settings import Settings
from harness.pod_session import running_cluster
from harness.runtime import wait_until
from harness.seed_cluster import MASTER_NAME, MASTER_POD_HOST, SeedCluster
from harness.seed_setup import dataset, write_dataset
from harness.writer import Writer
from tools.move import Move, Source, preflight_problems

pytestmark = pytest.mark.pods

# As in tests/docker/test_move.py: a full sync within Redis' repl-timeout (60 s) twice over; each step of the switch
# within min-replicas-max-lag three times over.
SYNC_TIMEOUT = 2 * 60
SWITCH_TIMEOUT = 3 * Settings().min_replicas_max_lag
SETTLE = 60  # the old Sentinels find each other (hello every 2 s) and the replicas (INFO every 10 s)


@pytest.fixture
def old_cluster(pod_engine):
    seed = SeedCluster()
    try:
        seed.deploy(timeout=120)
        yield seed
    finally:
        seed.teardown()
        assert seed.leftovers() == []


def test_the_old_cluster_moves_to_the_prod_stack_in_another_namespace_with_its_data(old_cluster):
    wait_until(old_cluster.settled, SETTLE, interval=0.5, what="the old Sentinels to know every node")
    old_master = old_cluster.client("redis-master-0")
    write_dataset(old_master, sessions=1000, cache=500)
    before = dataset(old_master)
    writer = Writer(**old_cluster.client_settings()).start()
    try:
        writer.wait_for_writes(50)
        with running_cluster() as new:
            assert new.declared.namespace != old_cluster.declared.namespace
            new_master = new.master()
            holder = new.pods[new_master].holder.id
            old_cluster.connect(holder)
            move = Move(
                Source(
                    f"127.0.0.1:{old_cluster.host_port('redis-master-0', 6379)}",
                    f"{MASTER_POD_HOST}:6379",
                    old_cluster.password,
                ),
                new.target(),
            )
            assert preflight_problems(move.facts()) == []
            move.sync(SYNC_TIMEOUT)
            writer.wait_for_writes(50)
            move.switch(SWITCH_TIMEOUT)
            on_old = len(writer.acknowledged)
            writer.switch_to(**new.client_settings())
            writer.wait_for_writes(50)
            move.finish(SWITCH_TIMEOUT)
            with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
                old_master.set("after-the-switch", 1)
            old_cluster.disconnect(holder)
            writer.stop()

            assert writer.lost() == [], f"acknowledged writes missing on the new master: {writer.counts()}"
            assert 0 < on_old < len(writer.acknowledged)
            moved = dataset(new.client(new.master()), before)
            assert moved == before, f"keys missing or different: {sorted(set(before) ^ set(moved))[:10]}"
            assert new.master() == new_master
            assert new.client(new_master).config_get("tls-replication")["tls-replication"] == "yes"
            for sentinel in new.sentinel_names():  # the old Sentinels' hellos never reached the new Sentinels
                assert new.client(sentinel).sentinel_master(MASTER_NAME)["num-other-sentinels"] == 2
    finally:
        writer.stop()
