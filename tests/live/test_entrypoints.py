"""Smoke test on real processes: the rendered configs and scripts, run by real redis-server and
redis-sentinel on 127.0.0.1, replicate and agree on the master."""

import pytest
import redis

from harness.local import NO_RETRY

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
    assert deployment.sentinel_masters() == {node.name: master for node in topology.sentinels}
    for node in topology.sentinels:  # the entrypoint's faster replica INFO refresh took effect
        debug = deployment.client(node.name).execute_command("SENTINEL", "DEBUG")
        assert int(debug["INFO-PERIOD"]) == 1000

    deployment.client("redis-master").set("smoke", "1")
    replica = deployment.client("redis-replica-1")
    assert deployment.client("redis-master").execute_command("WAIT", 2, 2000) == 2
    assert replica.get("smoke") == "1"


def test_runtime_configs_carry_identity_and_auth_but_rendered_files_no_secret(deployment):
    replica = deployment.nodes["redis-replica-1"]
    runtime = (replica.data_dir / "redis.conf").read_text()
    assert f"replica-announce-ip 127.0.0.1\nreplica-announce-port {replica.port}" in runtime
    assert f'requirepass "{deployment.redis_password}"' in runtime
    assert f'masterauth "{deployment.redis_password}"' in runtime
    assert f"replicaof 127.0.0.1 {deployment.topology.master.address.port}" in runtime

    sentinel = deployment.nodes["sentinel-1"]
    sentinel_runtime = (sentinel.data_dir / "sentinel.conf").read_text()
    assert f'requirepass "{deployment.sentinel_password}"' in sentinel_runtime
    assert "sentinel auth-pass festival-master" in sentinel_runtime
    assert "sentinel resolve-hostnames yes" in sentinel_runtime

    for local in deployment.nodes.values():
        for rendered in (local.root / "conf").iterdir():
            text = rendered.read_text()
            assert deployment.redis_password not in text and deployment.sentinel_password not in text


def test_sentinels_and_servers_require_their_passwords(deployment):
    for name, password in (("redis-master", deployment.redis_password), ("sentinel-1", deployment.sentinel_password)):
        port = deployment.nodes[name].port
        for wrong in (
            None,
            "wrong",
            deployment.sentinel_password if password != deployment.sentinel_password else None,
        ):
            with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
                redis.Redis(port=port, password=wrong, retry=NO_RETRY).ping()
        assert redis.Redis(port=port, password=password, retry=NO_RETRY).ping()


def test_dangerous_commands_are_disabled(deployment):
    for command in ("FLUSHALL", "FLUSHDB", "KEYS *", "DEBUG SLEEP 0"):
        with pytest.raises(redis.ResponseError, match="unknown command"):
            deployment.client("redis-master").execute_command(*command.split())


SCRIPTING = ("EVAL", "return 1", "0"), ("EVAL_RO", "return 1", "0"), ("SCRIPT", "LOAD", "return 1")
SCRIPTING += (("FUNCTION", "LIST"), ("FCALL", "f", "0"), ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"))


def test_scripting_is_refused_by_default_and_allowed_by_the_setting(deployment, make_deployment):
    for name in ("redis-master", "redis-replica-1"):
        for command in SCRIPTING:
            with pytest.raises(redis.ResponseError, match="unknown command"):
                deployment.client(name).execute_command(*command)
    allowed = make_deployment(allow_scripting=True)
    allowed.start_all()
    assert allowed.client("redis-master").execute_command("EVAL", "return 1", "0") == 1
    assert allowed.client("redis-master").execute_command("FUNCTION", "LIST") == []
