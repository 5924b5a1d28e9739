"""Mocks tests of the dev stack: __main__.py with the real Pulumi.yaml + Pulumi.dev.yaml, on the Docker platform.

They show that the program declares what we meant (names, ports, files, secrecy, outputs); the rendered files
themselves are run for real by the integration tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import re
import threading
import time

import pulumi
import pytest
import yaml

from components import render, users
from components.contract import contract_version
from components.credentials import generate_credentials
from components.docker import platform as docker_platform
from components.docker import topology as docker_topology
from components.docker.platform import DockerPlatform
from components.redis_ha import NodeGroupArgs, RedisMaster, RedisReplicaSet, SentinelQuorum
from components.settings import CONFIG_KEYS, Settings, SettingsError, to_config_key
from harness import program as pulumi_program
from harness.program import (
    MOCK_IMAGE_ID_PREFIX,
    MOCK_PASSWORD_PREFIX,
    PROJECT,
    ROOT,
    Program,
    RecordingMocks,
    reveal,
    run_program,
    stack_config,
    strings,
)

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
IMAGE = "docker:index/remoteImage:RemoteImage"
PASSWORD_OUTPUTS = {"redisPassword", "sentinelPassword"}
DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")

DEV_SETTINGS = Settings.from_config({key.partition(":")[2]: value for key, value in stack_config("dev").items()})
TOPOLOGY = docker_topology(DEV_SETTINGS)
REDIS_NODES = {node.name for node in TOPOLOGY.redis_nodes}
SENTINELS = {node.name for node in TOPOLOGY.sentinels}


@pytest.fixture(scope="module")
def dev() -> Program:
    return run_program("dev")


@pytest.fixture(scope="module")
def dev_ui() -> Program:
    return run_program("dev", {"debugUi": True, "debugUiPort": 9081})


def node_resources(program: Program) -> list:
    """The containers that run a node (they know their identity), without the secrets holder or the debug UI."""
    return [
        r for r in program.of_type(CONTAINER) if any("FESTIVAL_NODE_HOST=" in env for env in r.inputs.get("envs", []))
    ]


def containers(program: Program) -> dict[str, dict]:
    """Node container inputs by container name, secrets revealed."""
    return {r.inputs["name"]: r.plain for r in node_resources(program)}


def secrets_holder(program: Program):
    [holder] = [r for r in program.of_type(CONTAINER) if r.inputs["name"] == "festival-redis-secrets"]
    return holder


def uploads(container: dict) -> dict[str, dict]:
    return {upload["file"]: upload for upload in container["uploads"]}


# --- what the dev stack declares ---------------------------------------------------------------------
def test_dev_stack_file_makes_the_original_values_explicit():
    assert DEV_SETTINGS.platform == "docker"
    assert (DEV_SETTINGS.replica_count, DEV_SETTINGS.sentinel_count, DEV_SETTINGS.quorum) == (2, 3, 2)
    assert (DEV_SETTINGS.dev_redis_port, DEV_SETTINGS.dev_sentinel_port) == (6379, 26379)
    assert DEV_SETTINGS.debug_ui is False
    assert DEV_SETTINGS.master_name == "festival-master"


def test_one_container_and_one_volume_per_node_named_as_the_compose_setup_did(dev):
    expected = {
        "festival-redis-master",
        "festival-redis-replica-1",
        "festival-redis-replica-2",
        "festival-sentinel-1",
        "festival-sentinel-2",
        "festival-sentinel-3",
    }
    assert set(containers(dev)) == expected
    assert len(dev.of_type(CONTAINER)) == len(expected) + 1  # and the secrets holder
    assert sorted(r.inputs["name"] for r in dev.of_type(VOLUME)) == sorted(
        [*(f"{name}-data" for name in expected), "festival-redis-secrets"]
    )
    for name, container in containers(dev).items():
        assert container["hostname"] == name
        assert container["volumes"] == [
            {"volumeName": f"{name}-data", "containerPath": render.DATA_DIR},
            {"volumeName": "festival-redis-secrets", "containerPath": render.SECRETS_DIR, "readOnly": True},
        ]


def test_containers_run_the_pinned_redis_image_as_the_redis_user(dev):
    [image] = dev.of_type(IMAGE)
    assert image.inputs["name"] == DEV_SETTINGS.redis_image == "redis:8.2.9-bookworm"
    assert image.inputs["keepLocally"] is True
    for container in containers(dev).values():
        assert container["image"] == MOCK_IMAGE_ID_PREFIX + DEV_SETTINGS.redis_image
        assert container["user"] == "999:999"
        assert container["restart"] == "unless-stopped"


def test_entrypoints_and_environment_carry_identity_only(dev):
    for name, container in containers(dev).items():
        script = "sentinel-entrypoint.sh" if name in SENTINELS else "redis-entrypoint.sh"
        port = 26379 if name in SENTINELS else 6379
        assert container["entrypoints"] == ["sh", f"/etc/festival/{script}"]
        assert sorted(container["envs"]) == [f"FESTIVAL_NODE_HOST={name}", f"FESTIVAL_NODE_PORT={port}"]
        assert "command" not in container
        assert "labels" not in container


def test_ports_are_published_on_loopback_only(dev):
    expected = {node.name: (node.address.port, node.host_port) for node in TOPOLOGY.nodes}
    assert expected["festival-redis-replica-2"] == (6379, 6381)
    assert expected["festival-sentinel-3"] == (26379, 26381)
    for name, container in containers(dev).items():
        [port] = container["ports"]
        assert port["ip"] == "127.0.0.1"
        assert (port["internal"], port["external"]) == expected[name]
    published = sorted(port["external"] for c in containers(dev).values() for port in c["ports"])
    assert published == sorted(DEV_SETTINGS.dev_host_ports().values())


def test_one_bridge_network_with_every_node_aliased_by_name(dev):
    [network] = dev.of_type(NETWORK)
    assert network.inputs["name"] == "festival-redis-net"
    assert network.inputs["driver"] == "bridge"
    for name, container in containers(dev).items():
        assert container["networksAdvanced"] == [{"name": "festival-redis-net", "aliases": [name]}]


def test_uploads_are_the_rendered_files_and_the_secrets_go_through_the_holder(dev):
    files = {
        "redis": render.redis_files(DEV_SETTINGS, TOPOLOGY),
        "sentinel": render.sentinel_files(DEV_SETTINGS, TOPOLOGY),
    }
    secrets = {
        **{f"/etc/festival-secrets/{u.key}": MOCK_PASSWORD_PREFIX + f"festival-{u.key}" for u in users.USERS},
        # not rotating: the accepted "previous" password is the current one (components/passwords.py)
        **{f"/etc/festival-secrets/{u.key}.previous": MOCK_PASSWORD_PREFIX + f"festival-{u.key}" for u in users.USERS},
    }
    for name, container in containers(dev).items():
        rendered = files["sentinel" if name in SENTINELS else "redis"]
        by_file = uploads(container)
        assert set(by_file) == {f"/etc/festival/{file}" for file in rendered}
        for file, text in rendered.items():
            upload = by_file[f"/etc/festival/{file}"]
            assert upload["content"] == text
            assert upload.get("executable", False) is file.endswith(".sh")
            assert upload["permissions"] == ("0555" if file.endswith(".sh") else "0444")
            assert (upload["owner"], upload["group"]) == ("999", "999")
    holder = secrets_holder(dev).plain
    by_file = uploads(holder)
    assert set(by_file) == set(secrets)
    for file, password in secrets.items():
        assert by_file[file]["content"] == password
        assert (by_file[file]["owner"], by_file[file]["permissions"]) == ("999", "0400")
    assert holder["volumes"] == [{"volumeName": "festival-redis-secrets", "containerPath": render.SECRETS_DIR}]
    assert (holder["start"], holder["mustRun"]) == (False, False)  # created, never started: it only holds files


def test_healthchecks_run_the_rendered_probe(dev):
    for name, container in containers(dev).items():
        check = container["healthcheck"]
        probe = "sentinel-ready" if name in SENTINELS else "redis-ready"
        assert check["tests"] == ["CMD", "sh", "/etc/festival/probe.sh", probe]
        for field in ("interval", "timeout", "startPeriod"):
            assert DURATION.match(check[field]), (name, field, check[field])
        assert check["retries"] >= 1


def test_a_stop_leaves_time_to_hand_over_and_save(dev):
    """pulumi-docker kills a container at once on replace or delete unless destroy_grace_seconds is declared."""
    for name, container in containers(dev).items():
        grace = render.SENTINEL_STOP_GRACE_SECONDS if name in SENTINELS else render.REDIS_STOP_GRACE_SECONDS
        assert container["stopTimeout"] == container["destroyGraceSeconds"] == grace
    assert render.REDIS_STOP_GRACE_SECONDS > render.PRESTOP_WAIT_SECONDS


def test_memory_limits(dev):
    redis_mb = math.ceil(DEV_SETTINGS.redis_memory_limit_bytes / 1024**2)
    assert redis_mb == 1088  # 512mb maxmemory, twice for fork copy-on-write at worst, plus 64 MiB
    for name, container in containers(dev).items():
        assert container["memory"] == (64 if name in SENTINELS else redis_mb)


def test_nodes_belong_to_their_components(dev):
    components = {r.name: r.type for r in dev.resources if r.type.startswith("festival:")}
    assert components == {
        "festival-docker": "festival:docker:Platform",
        "festival-redis-master": "festival:redis:RedisMaster",
        "festival-redis-replicas": "festival:redis:RedisReplicaSet",
        "festival-sentinels": "festival:redis:SentinelQuorum",
    }
    names = {r.name for r in dev.of_type(CONTAINER)}
    assert "festival-sentinels-festival-sentinel-1" in names
    assert "festival-redis-master-festival-redis-master" in names


def node_dependencies(program: Program) -> dict[str, set[str]]:
    """By node container name: the node containers its depends_on names (components expanded, as the SDK does)."""
    names = {r.name: r.inputs["name"] for r in node_resources(program)}
    return {names[r]: {names[d] for d in program.depends_on(r) if d in names} for r in names}


def test_on_docker_the_replicas_roll_out_one_at_a_time_then_the_master_then_the_sentinels(dev):
    """The engine creates or replaces a container only after those it depends on: a change that replaces every Redis
    node stops the master last, after the replicas are back (one hand-over), and the Sentinels start once the master's
    name resolves. Plain depends_on edges, so no container is replaced because another one is."""
    assert node_dependencies(dev) == {
        "festival-redis-replica-1": set(),
        "festival-redis-replica-2": {"festival-redis-replica-1"},
        "festival-redis-master": {"festival-redis-replica-1", "festival-redis-replica-2"},
        "festival-sentinel-1": {"festival-redis-master"},
        "festival-sentinel-2": {"festival-redis-master", "festival-sentinel-1"},
        "festival-sentinel-3": {"festival-redis-master", "festival-sentinel-2"},
    }
    holder = secrets_holder(dev).name
    for resource in node_resources(dev):
        assert holder in dev.depends_on(resource.name), resource.name


def test_the_docker_runner_takes_each_step_after_those_it_depends_on_and_the_others_together():
    """The stand-in for the engine (harness/docker_runner.py in_engine_order), on the dev declaration: the nodes in
    the rollout order, one at a time, and independent steps (the exporters and the next node) at the same time."""
    from harness.docker_runner import in_engine_order

    dev = run_program("dev", {"devExporters": True})
    lock, running, events, overlapped = threading.Lock(), set(), [], []

    def step(name: str) -> None:
        with lock:
            missing = {d for d in dev.depends_on(name) if (d, "end") not in events and d in steps}
            assert not missing, (name, missing)
            overlapped.extend(running)
            running.add(name)
            events.append((name, "start"))
        time.sleep(0.05)
        with lock:
            running.discard(name)
            events.append((name, "end"))

    steps = {r.name: (lambda name=r.name: step(name)) for r in dev.of_type(CONTAINER)}
    in_engine_order(dev, steps)
    nodes = {r.name: r.inputs["name"] for r in node_resources(dev)}
    started = [nodes[name] for name, what in events if what == "start" and name in nodes]
    assert started == [
        "festival-redis-replica-1",
        "festival-redis-replica-2",
        "festival-redis-master",
        "festival-sentinel-1",
        "festival-sentinel-2",
        "festival-sentinel-3",
    ]
    assert overlapped, "no two independent steps ran at the same time"


# --- secrets ------------------------------------------------------------------------------------------
def test_no_password_outside_a_secret_in_any_resource(dev, dev_ui):
    for program in (dev, dev_ui):
        for resource in program.resources:
            for text, in_secret in strings(resource.inputs):
                assert MOCK_PASSWORD_PREFIX not in text or in_secret, (resource.name, text)


def test_no_password_in_envs_entrypoints_commands_or_labels(dev_ui):
    for resource in dev_ui.of_type(CONTAINER):
        for field in ("envs", "entrypoints", "command", "labels"):
            for text, _ in strings(resource.inputs.get(field)):
                assert MOCK_PASSWORD_PREFIX not in text, (resource.name, field)


def test_password_outputs_are_secret_and_no_other_output_holds_one(dev, dev_ui):
    assert PASSWORD_OUTPUTS <= dev.secret_outputs
    assert PASSWORD_OUTPUTS | {"debugUiPassword"} <= dev_ui.secret_outputs
    for program in (dev, dev_ui):
        for key, value in program.outputs.items():
            if key not in program.secret_outputs:
                assert MOCK_PASSWORD_PREFIX not in json.dumps(value), key


def test_only_password_inputs_are_secret_so_config_diffs_stay_visible(dev):
    """pulumi-docker marks a whole list secret when one element is: a node's uploads must hold no secret at all."""
    for resource in node_resources(dev):
        for field, value in resource.inputs.items():
            assert not [text for text, in_secret in strings(value) if in_secret], (resource.name, field)
    secret_texts = {text for text, in_secret in strings(secrets_holder(dev).inputs["uploads"]) if in_secret}
    assert {MOCK_PASSWORD_PREFIX + "festival-redis-password", MOCK_PASSWORD_PREFIX + "festival-sentinel-password"} <= (
        secret_texts
    )


def test_every_container_is_deleted_before_its_replacement_is_created(dev, dev_ui):
    """Fixed names and host ports: create-before-delete would clash. Explicit, so --replace keeps it too."""
    for program in (dev, dev_ui):
        for resource in program.of_type(CONTAINER):
            assert program.options[resource.name].delete_before_replace is True, resource.name


# --- stack outputs -------------------------------------------------------------------------------------
def test_stack_outputs(dev):
    nat = {
        "festival-redis-master:6379": 6379,
        "festival-redis-replica-1:6379": 6380,
        "festival-redis-replica-2:6379": 6381,
        "festival-sentinel-1:26379": 26379,
        "festival-sentinel-2:26379": 26380,
        "festival-sentinel-3:26379": 26381,
    }
    outputs = {key: value for key, value in dev.outputs.items() if key not in PASSWORD_OUTPUTS}
    assert "replicationCheck" in outputs
    del outputs["replicationCheck"]
    assert outputs == {
        "contractVersion": contract_version(),  # contract/outputs.yaml's
        "masterName": "festival-master",
        "redisUsername": "app",
        "sentinelUsername": "client",
        "networkName": "festival-redis-net",
        "bootstrapMasterEndpoint": "festival-redis-master:6379",
        "bootstrapMasterHostEndpoint": "127.0.0.1:6379",
        "replicaEndpoints": ["festival-redis-replica-1:6379", "festival-redis-replica-2:6379"],
        "replicaHostEndpoints": ["127.0.0.1:6380", "127.0.0.1:6381"],
        "sentinelEndpoints": ["festival-sentinel-1:26379", "festival-sentinel-2:26379", "festival-sentinel-3:26379"],
        "sentinelHostEndpoints": ["127.0.0.1:26379", "127.0.0.1:26380", "127.0.0.1:26381"],
        "natMap": {address: {"host": "127.0.0.1", "port": port} for address, port in nat.items()},
        "clientEnv": {  # the connection variables (components/connection.py), the same names as on prod
            "REDIS_SENTINELS": "festival-sentinel-1:26379,festival-sentinel-2:26379,festival-sentinel-3:26379",
            "REDIS_MASTER_NAME": "festival-master",
            "REDIS_USERNAME": "app",
            "REDIS_PASSWORD_FILE": "/run/secrets/festival-redis/redis-password",
            "REDIS_SENTINEL_USERNAME": "client",
            "REDIS_SENTINEL_PASSWORD_FILE": "/run/secrets/festival-redis/sentinel-password",
            "REDIS_TLS": "false",
            "REDIS_CA_FILE": "/run/secrets/festival-redis/tls-ca.crt",
        },
        "connectionEnv": {
            "REDIS_SENTINEL_HOST": "festival-sentinel-1",
            "REDIS_SENTINEL_PORT": "26379",
            "REDIS_MASTER_NAME": "festival-master",
            "REDIS_USERNAME": "app",
            "REDIS_SENTINEL_USERNAME": "client",
        },
        "hostConnectionEnv": {
            "REDIS_SENTINEL_HOST": "127.0.0.1",
            "REDIS_SENTINEL_PORT": "26379",
            "REDIS_MASTER_NAME": "festival-master",
            "REDIS_USERNAME": "app",
            "REDIS_SENTINEL_USERNAME": "client",
        },
    }
    assert dev.outputs["redisPassword"] == MOCK_PASSWORD_PREFIX + "festival-redis-password"


def declared_checks(monkeypatch, overrides: dict | None = None) -> tuple[list, Program]:
    calls = []

    class FakeCheck:
        def __init__(self, name, target, opts):
            calls.append((name, target, opts))
            self.summary = pulumi.Output.from_input("checked")

    monkeypatch.setattr(docker_platform, "ReplicationCheck", FakeCheck)
    return calls, run_program("dev", overrides)


def test_replication_check_gets_every_node_reachable_from_the_host(monkeypatch):
    calls, program = declared_checks(monkeypatch)
    [(name, target, opts)] = calls
    assert name == "festival-replication-check"
    assert target.master_name == "festival-master"
    assert target.redis_nodes == tuple(str(node.address) for node in TOPOLOGY.redis_nodes)
    assert target.sentinels == ("festival-sentinel-1:26379", "festival-sentinel-2:26379", "festival-sentinel-3:26379")
    assert target.nat_map == {str(node.address): f"127.0.0.1:{node.host_port}" for node in TOPOLOGY.nodes}
    assert isinstance(opts.parent, DockerPlatform)
    assert sorted(type(group).__name__ for group in opts.depends_on) == [
        "RedisMaster",
        "RedisPasswords",
        "RedisReplicaSet",
        "SentinelQuorum",
    ]
    assert program.outputs["replicationCheck"] == "checked"


def test_the_dev_check_bounds_replica_lag_by_min_replicas_max_lag(monkeypatch):
    calls, _ = declared_checks(monkeypatch, {"minReplicasMaxLag": 7})
    [(_, target, _)] = calls
    assert target.max_lag_seconds == 7


# --- debug UI ------------------------------------------------------------------------------------------
def test_debug_ui_is_off_by_default(dev):
    assert "festival-redis-commander" not in containers(dev)
    assert len(dev.of_type(IMAGE)) == 1
    assert not [key for key in dev.outputs if key.startswith("debugUi")]


def test_debug_ui_logs_in_with_generated_credentials_and_reaches_redis_via_sentinel(dev_ui):
    ui = {r.inputs["name"]: r.plain for r in dev_ui.of_type(CONTAINER)}["festival-redis-commander"]
    assert ui["image"] == MOCK_IMAGE_ID_PREFIX + DEV_SETTINGS.debug_ui_image
    assert ui["ports"] == [{"internal": 8081, "external": 9081, "ip": "127.0.0.1"}]
    assert ui["networksAdvanced"] == [{"name": "festival-redis-net"}]
    assert ui["envs"] == ["NODE_APP_INSTANCE=docker"]
    [upload] = ui["uploads"]
    assert upload["file"] == "/redis-commander/config/local-production-docker.json"
    config = json.loads(upload["content"])
    assert config["server"]["httpAuth"] == {
        "username": "festival-admin",
        "password": MOCK_PASSWORD_PREFIX + "festival-debug-ui-password",
    }
    [connection] = config["connections"]
    assert connection["sentinels"] == [str(node.address) for node in TOPOLOGY.sentinels]
    assert connection["sentinelName"] == "festival-master"
    # an operator's tool: the admin users
    assert (connection["username"], connection["sentinelUsername"]) == ("admin", "admin")
    assert connection["password"] == MOCK_PASSWORD_PREFIX + "festival-redis-admin-password"
    assert connection["sentinelPassword"] == MOCK_PASSWORD_PREFIX + "festival-sentinel-admin-password"
    [resource] = [r for r in dev_ui.of_type(CONTAINER) if r.inputs["name"] == "festival-redis-commander"]
    assert any(in_secret for text, in_secret in strings(resource.inputs["uploads"]) if "httpAuth" in text)
    assert dev_ui.outputs["debugUiUrl"] == "http://127.0.0.1:9081"
    assert dev_ui.outputs["debugUiUser"] == "festival-admin"
    assert dev_ui.outputs["debugUiPassword"] == MOCK_PASSWORD_PREFIX + "festival-debug-ui-password"
    assert len(dev_ui.of_type(CONTAINER)) == 8


# --- settings -----------------------------------------------------------------------------------------
def test_a_bad_setting_fails_before_any_resource(monkeypatch):
    programs: list[Program] = []

    def recording_program(**fields) -> Program:
        programs.append(Program(**fields))
        return programs[-1]

    monkeypatch.setattr(pulumi_program, "Program", recording_program)
    with pytest.raises(SettingsError) as error:
        run_program("dev", {"quorum": 4})
    assert error.value.key == "quorum"
    assert "festival-redis:quorum = 4" in str(error.value)
    assert programs[0].resources == []


def test_project_file_declares_every_setting_with_its_default():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    declared = project["config"]
    assert sorted(declared) == sorted(CONFIG_KEYS)
    types = {str: "string", int: "integer", bool: "boolean"}
    for field in dataclasses.fields(Settings):
        spec = declared[to_config_key(field.name)]
        assert spec["type"] == types[type(field.default)], field.name
        assert spec["default"] == field.default and type(spec["default"]) is type(field.default), field.name
        assert spec["description"].strip(), field.name


def test_stack_files_use_known_keys_only():
    for stack in ("dev", "prod"):
        values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        for key in values:
            namespace, _, name = key.partition(":")
            assert namespace == PROJECT and name in CONFIG_KEYS, (stack, key)
    prod = Settings.from_config({key.partition(":")[2]: value for key, value in stack_config("prod").items()})
    assert (prod.platform, prod.namespace, prod.storage_class) == ("kubernetes", "festival", "fast-ssd")


def test_the_original_setups_password_is_nowhere_in_the_repository():
    forbidden = ("Festival" + "2025").encode()
    skipped = {".git", "venv", "__pycache__", ".pytest_cache", ".ruff_cache"}
    found = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.is_file() and not skipped & set(path.relative_to(ROOT).parts) and forbidden in path.read_bytes()
    ]
    assert found == []


# --- two deployments in one program -------------------------------------------------------------------
def deploy(settings: Settings) -> None:
    """What __main__.py composes, for one deployment."""
    prefix = settings.name_prefix
    topology = docker_topology(settings)
    files = render.deployment_files(settings, topology)
    platform = DockerPlatform(f"{prefix}-docker", settings, topology, files, generate_credentials(prefix))
    master = RedisMaster(f"{prefix}-redis-master", NodeGroupArgs(platform, (topology.master,)))
    replicas = RedisReplicaSet(f"{prefix}-redis-replicas", NodeGroupArgs(platform, topology.replicas, [master]))
    sentinels = SentinelQuorum(f"{prefix}-sentinels", NodeGroupArgs(platform, topology.sentinels, [replicas]))
    platform.verify(f"{prefix}-replication-check", [master, replicas, sentinels])


def test_two_deployments_with_different_prefixes_do_not_collide():
    program = Program()
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(RecordingMocks(program), project=PROJECT, stack="dev", preview=False)
    other = Settings(
        name_prefix="festival-b", dev_redis_port=7379, dev_sentinel_port=27379, debug_ui=True, debug_ui_port=9081
    )
    pulumi.runtime.test(lambda: [deploy(settings) for settings in (Settings(debug_ui=True), other)])()

    keys = [(r.type, r.name) for r in program.resources]
    assert len(keys) == len(set(keys))
    for type_token in (CONTAINER, VOLUME, NETWORK):
        names = [r.inputs["name"] for r in program.of_type(type_token)]
        assert len(names) == len(set(names)), type_token
    assert len(program.of_type(CONTAINER)) == 16  # 6 nodes, a secrets holder and a debug UI each
    published = [port["external"] for r in program.of_type(CONTAINER) for port in reveal(r.inputs).get("ports", [])]
    assert len(published) == len(set(published)) == 14
    assert "festival-b-redis-master" in {r.inputs["name"] for r in program.of_type(CONTAINER)}
