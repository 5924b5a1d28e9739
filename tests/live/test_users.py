"""The ACL users (components/users.py) on real redis-server and redis-sentinel processes: every connection must log
in, each user can do its job and is refused (NOPERM) what it does not need, Sentinel's failover runs with exactly
the sentinel user's rights, and Sentinel discovery works for applications as redis-py and ioredis do it."""

from __future__ import annotations

import pytest
import redis
from redis.exceptions import NoPermissionError

from components import users
from harness.runtime import NO_RETRY, wait_until
from harness.writer import master_client, sentinel_client

pytestmark = pytest.mark.integration


def login(deployment, name: str, user: users.User) -> redis.Redis:
    return deployment.client(name, username=user.name, password=deployment.passwords[user.key])


def allowed(client: redis.Redis, *command) -> bool:
    try:
        client.execute_command(*command)
    except NoPermissionError:
        return False
    return True


def test_no_connection_runs_anything_without_logging_in_on_any_port(deployment):
    for local in deployment.nodes.values():
        anonymous = redis.Redis(port=local.port, retry=NO_RETRY, socket_timeout=2)
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        for username, password in (("default", "anything"), (None, deployment.redis_password), ("app", "wrong")):
            with pytest.raises(redis.AuthenticationError):
                redis.Redis(port=local.port, username=username, password=password, retry=NO_RETRY).ping()


def test_the_application_user_has_data_commands_and_nothing_dangerous(deployment):
    app = login(deployment, "redis-master", users.APP)
    assert app.set("k", "v") and app.get("k") == "v" and app.incr("n") == 1
    assert app.info("replication")["role"] == "master" and app.execute_command("ROLE")[0] == "master"
    assert app.publish("news", "x") == 0 and app.execute_command("WAIT", 0, 10) >= 0
    for command in (
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("KEYS", "*"),
        ("DEBUG", "SLEEP", "0"),
        ("CONFIG", "GET", "masterauth"),
        ("CONFIG", "SET", "maxmemory", "1"),
        ("SHUTDOWN",),
        ("REPLICAOF", "NO", "ONE"),
        ("ACL", "LIST"),
        ("MONITOR",),
        ("CLIENT", "KILL", "TYPE", "normal"),
        ("SCRIPT", "FLUSH"),
        ("FUNCTION", "FLUSH"),
        ("EVAL", "return 1", "0"),
    ):
        assert not allowed(app, *command), command


def test_the_admin_user_keeps_the_runbooks_commands(deployment):
    admin = login(deployment, "redis-master", users.ADMIN)
    admin.set("festival:admin", "1")
    assert admin.keys("festival:admin") == ["festival:admin"]
    assert admin.config_get("maxmemory") and admin.execute_command("DEBUG", "SLEEP", "0")
    assert admin.execute_command("ACL", "DRYRUN", users.ADMIN.name, "FLUSHALL") == "OK"


def test_internal_users_reach_no_data(deployment):
    for user in (users.REPLICATION, users.SENTINEL, users.EXPORTER):
        client = login(deployment, "redis-master", user)
        assert not allowed(client, "GET", "k") and not allowed(client, "SET", "k", "v"), user.name
        assert not allowed(client, "CONFIG", "SET", "maxmemory", "1") and not allowed(client, "FLUSHALL"), user.name
    exporter = login(deployment, "redis-master", users.EXPORTER)
    assert exporter.info()["role"] == "master" and exporter.config_get("*")
    assert exporter.execute_command("SLOWLOG", "LEN") >= 0 and exporter.execute_command("CLIENT", "LIST")
    assert not allowed(exporter, "CLIENT", "KILL", "TYPE", "normal")
    sentinel = login(deployment, "redis-master", users.SENTINEL)
    assert sentinel.info("replication") and not allowed(sentinel, "CONFIG", "GET", "masterauth")
    replication = login(deployment, "redis-master", users.REPLICATION)
    assert not allowed(replication, "INFO") and replication.ping()


def test_a_failover_completes_with_exactly_the_sentinel_users_rights(deployment):
    old = "redis-master"
    admin = login(deployment, "sentinel-1", users.SENTINEL_ADMIN)
    admin.execute_command("SENTINEL", "FAILOVER", deployment.topology.master_name)
    wait_until(lambda: set(deployment.sentinel_masters().values()) - {old, None}, 30, what="a new master")
    deployment.wait_healthy(60)
    assert old not in deployment.sentinel_masters().values()
    for name in (node.name for node in deployment.topology.redis_nodes):  # no command of the failover refused
        log = login(deployment, name, users.ADMIN).execute_command("ACL", "LOG")
        assert [entry for entry in log if "sentinel" in str(entry)] == [], (name, log)


def test_sentinel_users_each_do_their_job(deployment):
    name = deployment.topology.master_name
    client = login(deployment, "sentinel-1", users.SENTINEL_CLIENT)
    assert client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
    for command in ("MASTERS", "SLAVES", "REPLICAS", "SENTINELS"):  # redis-py and ioredis discovery
        assert allowed(client, "SENTINEL", command, *([] if command == "MASTERS" else [name])), command
    for command in (("SENTINEL", "FAILOVER", name), ("SENTINEL", "RESET", name), ("SENTINEL", "CKQUORUM", name)):
        assert not allowed(client, *command), command
    assert not allowed(client, "INFO") and not allowed(client, "ACL", "LIST")
    pubsub = client.pubsub()
    pubsub.subscribe("+switch-master")
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    denied = client.pubsub()
    denied.subscribe("+sdown")
    with pytest.raises(NoPermissionError):
        denied.get_message(timeout=2)
    pubsub.close()
    peer = login(deployment, "sentinel-1", users.SENTINEL_PEER)
    assert not allowed(peer, "SENTINEL", "MASTERS") and not allowed(peer, "SENTINEL", "FAILOVER", name)
    exporter = login(deployment, "sentinel-1", users.SENTINEL_EXPORTER)
    assert allowed(exporter, "SENTINEL", "CKQUORUM", name) and allowed(exporter, "INFO")
    assert not allowed(exporter, "SENTINEL", "FAILOVER", name)
    # Peers log in to each other as `peer`: quorum and failover authorization are reachable.
    assert str(login(deployment, "sentinel-2", users.SENTINEL_ADMIN).execute_command("SENTINEL", "CKQUORUM", name))


def test_applications_discover_write_and_read_through_sentinel_as_their_users(deployment):
    sentinels = [(node.address.host, node.address.port) for node in deployment.topology.sentinels]
    sentinel = sentinel_client(sentinels, deployment.redis_password, deployment.sentinel_password)
    name = deployment.topology.master_name
    writer = master_client(sentinel, name, decode_responses=True)
    for i in range(50):
        assert writer.set(f"app:{i}", i)
    reader = sentinel.slave_for(name, decode_responses=True, socket_timeout=2)
    wait_until(lambda: reader.get("app:49") == "49", 10, what="the write on a replica")
    # ioredis' sequence on a node it was given by Sentinel: the ready check's INFO, then ROLE
    node = deployment.client("redis-master", username=users.APP.name, password=deployment.redis_password)
    assert node.info()["role"] == "master" and node.execute_command("ROLE")[0] == "master"
