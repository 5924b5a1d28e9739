"""Smoke test on real processes: the rendered configs and scripts, run by real redis-server and
redis-sentinel on 127.0.0.1, replicate and agree on the master."""

import hashlib

import pytest
import redis

from components import render, users
from harness.runtime import wait_until

pytestmark = pytest.mark.integration


def test_rendered_topology_replicates_and_sentinels_agree(deployment):
    topology = deployment.topology
    master = str(topology.master.address)
    assert deployment.role("redis-master") == "master"
    for replica in topology.replicas:
        info = deployment.client(replica.name).info("replication")
        assert info["role"] == "slave"
        assert f"{info['master_host']}:{info['master_port']}" == master
        assert info["master_link_status"] == "up"
    assert deployment.client("redis-master").info("replication")["connected_slaves"] == 2
    assert deployment.sentinel_masters() == {node.name: "redis-master" for node in topology.sentinels}
    for node in topology.sentinels:  # the entrypoint's faster replica INFO refresh took effect
        debug = deployment.client(node.name).execute_command("SENTINEL", "DEBUG")
        assert int(debug["INFO-PERIOD"]) == 1000

    deployment.client("redis-master").set("smoke", "1")
    replica = deployment.client("redis-replica-1")
    assert deployment.client("redis-master").execute_command("WAIT", 2, 2000) == 2
    assert replica.get("smoke") == "1"


SCRIPTING = ("EVAL", "return 1", "0"), ("EVAL_RO", "return 1", "0"), ("SCRIPT", "LOAD", "return 1")
SCRIPTING += (("FUNCTION", "LIST"), ("FCALL", "f", "0"), ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"))


def test_runtime_configs_carry_identity_and_users_but_rendered_files_no_secret(deployment):
    replica = deployment.nodes["redis-replica-1"]
    runtime = (replica.data_dir / "redis.conf").read_text()
    assert f"replica-announce-ip 127.0.0.1\nreplica-announce-port {replica.port}" in runtime
    lines = runtime.splitlines()
    assert any(line.startswith("user default off") for line in lines)
    app_hash = hashlib.sha256(deployment.redis_password.encode()).hexdigest()
    assert f"user app on #{app_hash} " in runtime  # a digest, never the password
    assert "masteruser replication" in lines
    assert f'masterauth "{deployment.passwords[users.REPLICATION.key]}"' in runtime
    assert f"replicaof 127.0.0.1 {deployment.topology.master.address.port}" in runtime

    sentinel = deployment.nodes["sentinel-1"]
    sentinel_runtime = (sentinel.data_dir / "sentinel.conf").read_text()
    lines = sentinel_runtime.splitlines()  # as Sentinel rewrites it
    assert any(line.startswith("user default off") for line in lines)
    assert "sentinel sentinel-user peer" in lines and "sentinel auth-user festival-master sentinel" in lines
    assert "sentinel resolve-hostnames yes" in sentinel_runtime

    for local in deployment.nodes.values():
        text = (local.data_dir / ("sentinel.conf" if local.is_sentinel else "redis.conf")).read_text()
        for key in (users.APP.key, users.ADMIN.key, users.SENTINEL_CLIENT.key, users.SENTINEL_ADMIN.key):
            assert deployment.passwords[key] not in text, (local.node.name, key)
        for rendered in (local.root / "conf").iterdir():
            rendered_text = rendered.read_text()
            assert not any(password in rendered_text for password in deployment.passwords.values())


def test_scripting_is_the_application_users_only_with_the_setting(deployment, make_deployment):
    for name in ("redis-master", "redis-replica-1"):
        app = deployment.client(name, username=users.APP.name, password=deployment.redis_password)
        for command in SCRIPTING:
            with pytest.raises(redis.exceptions.NoPermissionError):
                app.execute_command(*command)
    allowed = make_deployment(allow_scripting=True)
    allowed.start_all()
    app = allowed.client("redis-master", username=users.APP.name, password=allowed.redis_password)
    assert app.execute_command("EVAL", "return 1", "0") == 1
    assert app.execute_command("FUNCTION", "LIST") == []


def test_a_replica_of_a_replica_follows_the_master_the_sentinels_name_again(deployment):
    """Sentinel reconfigures only the master's replicas; a replica chained under another replica (possible when every
    node restarts at once and a failover happens meanwhile) is invisible to it. The entrypoint's watcher moves it back
    under the master a majority of the Sentinels name within REPLICA_CHECK_SECONDS."""
    master = deployment.address("redis-master")
    chained = deployment.client("redis-replica-2")
    host, port = deployment.address("redis-replica-1").rsplit(":", 1)
    chained.execute_command("REPLICAOF", host, port)
    # The Sentinels forget every replica and relearn only the master's: none of them knows the chained one, so it is
    # the watcher, not Sentinel's own fix of a replica it knows, that must move it back.
    for node in deployment.topology.sentinels:
        deployment.client(node.name).execute_command("SENTINEL", "RESET", deployment.settings.master_name)
    assert chained.info("replication")["master_port"] == int(port)
    wait_until(
        lambda: (
            f"{(i := chained.info('replication'))['master_host']}:{i['master_port']}" == master
            and i["master_link_status"] == "up"
        ),
        timeout=4 * render.REPLICA_CHECK_SECONDS,
        what="the chained replica to follow the master again",
    )
    assert "the Sentinels now name" in deployment.nodes["redis-replica-2"].log_path.read_text()
    deployment.wait_healthy()


def test_a_node_that_boots_as_master_follows_the_master_the_sentinels_name(make_deployment):
    """A node that boots as master while the Sentinels follow another master that does not list it (here: none
    answered at its boot, so it kept its last role; likewise when they still named it at boot and failed over before
    its watcher first asked) is a second master. Sentinel demotes a returning master only if it still knows it, and a
    restarted Sentinel (every scale change restarts them) or one that reset itself knows only the master's replicas.
    So the entrypoint's watcher must make it follow the master a majority of the Sentinels name."""
    deployment = make_deployment(role_wait_seconds=3)
    deployment.start_all()
    name = deployment.settings.master_name
    sentinels = [node.name for node in deployment.topology.sentinels]
    old = deployment.address("redis-master")
    deployment.kill("redis-master")  # gone without a hand-over

    new_master = deployment.wait_for_new_master("redis-master")
    new = deployment.address(new_master)
    for sentinel in sentinels:
        deployment.stop(sentinel)
    deployment.start("redis-master")
    log = deployment.nodes["redis-master"].log_path
    wait_until(lambda: "keeping this node's last role" in log.read_text(), 30, what="redis-master to boot alone")
    wait_until(lambda: deployment.role("redis-master") == "master", 30, what="redis-master to serve")
    for sentinel in sentinels:
        deployment.start(sentinel)
    wait_until(
        lambda: set(deployment.sentinel_masters().values()) == {new_master}, 30, what="the Sentinels to name " + new
    )
    # None of them knows the returning node: each knows the new master's replicas only.
    for sentinel in sentinels:
        known = deployment.client(sentinel).execute_command("SENTINEL", "REPLICAS", name)
        assert all(f"{r['ip']}:{r['port']}" != old for r in known), known

    # Sentinel's own demotion of a returning master it knows waits 8 s after it reappears; the watcher asks every
    # 0.5 s (each Sentinel within CLI_TIMEOUT). 30 s is well past both: the state would otherwise last for good.
    node = deployment.client("redis-master")
    wait_until(
        lambda: (
            (i := node.info("replication"))["role"] == "slave"
            and f"{i['master_host']}:{i['master_port']}" == new
            and i["master_link_status"] == "up"
        ),
        timeout=30,
        what="redis-master to replicate from " + new,
    )
    assert "the Sentinels now name" in log.read_text()
    deployment.wait_healthy()

    # The demotion is persisted in its runtime config: restarted while no Sentinel answers, it stays a replica of new.
    for sentinel in sentinels:
        deployment.stop(sentinel)
    deployment.restart("redis-master")
    wait_until(lambda: log.read_text().count("keeping this node's last role") == 2, 30, what="redis-master to reboot")
    info = wait_until(lambda: node.info("replication"), 10, what="redis-master to serve")
    assert info["role"] == "slave" and f"{info['master_host']}:{info['master_port']}" == new, info


def test_a_sentinel_that_boots_on_a_stale_master_takes_the_newer_one_from_its_peers(make_deployment):
    """A Sentinel settles on the master whose config has the highest epoch, and learns it only from hellos that carry
    a newer epoch than its own. A new Sentinel whose peers do not answer at its boot takes the bootstrap master at
    epoch 0; after a hand-over that node is a replica. Its peers, restarted since (every scale change restarts them),
    must still announce the epoch of the hand-over, or it stays on the old master for good (CI saw this once, with a
    new Sentinel added while the others were being replaced). And those peers, restarted while it is the only one that
    answers, keep the newer master they knew instead of taking its stale one."""
    deployment = make_deployment()
    deployment.start_all()
    name = deployment.settings.master_name
    sentinels = [node.name for node in deployment.topology.sentinels]
    old = "redis-master"
    assert deployment.client(sentinels[0]).execute_command("SENTINEL", "FAILOVER", name)
    new = deployment.wait_for_new_master(old)
    epoch = int(deployment.client(sentinels[0]).sentinel_master(name)["config-epoch"])
    assert epoch > 0
    for sentinel in sentinels:  # each restarted from its peers' answer (and its own runtime config)
        deployment.restart(sentinel)
    wait_until(lambda: set(deployment.sentinel_masters().values()) == {new}, 30, what="the Sentinels to name " + new)
    assert {int(deployment.client(s).sentinel_master(name)["config-epoch"]) for s in sentinels} == {epoch}

    newcomer, *peers = sentinels
    for sentinel in sentinels:
        deployment.stop(sentinel)
    deployment.wipe(newcomer)
    deployment.start(newcomer)  # alone and new: the bootstrap master, the old one, at epoch 0
    assert wait_until(lambda: deployment.sentinel_masters()[newcomer], 10, what=newcomer + " to answer") == old
    for sentinel in peers:  # it names `old` at epoch 0; each keeps the newer master of its own runtime config
        deployment.start(sentinel)
    # Hellos go out every 2 s (Sentinel's SENTINEL_PUBLISH_PERIOD) through every node; a wide margin for connecting.
    wait_until(lambda: set(deployment.sentinel_masters().values()) == {new}, 20, what="every Sentinel to name " + new)
    assert "+config-update-from" in deployment.nodes[newcomer].log_path.read_text()
    deployment.wait_healthy()
