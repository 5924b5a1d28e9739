"""passwordGenerations under Pulumi mocks: which RandomPasswords exist (generation 1 keeps its URN), what the
nodes' secrets and the stack outputs hold while rotating, and the RedisPasswords step that applies a change."""

from __future__ import annotations

import pulumi

from components import passwords, users
from harness.program import MOCK_PASSWORD_PREFIX, Secret, run_program

RANDOM = "random:index/randomPassword:RandomPassword"
DYNAMIC = "pulumi-python:dynamic:Resource"
ROTATING = "redis-replication-password=1+2,sentinel-password=2+3,redis-password=2"


def mock(name: str) -> str:
    return MOCK_PASSWORD_PREFIX + name


def declared_urns() -> set[str]:
    return set(pulumi.runtime.settings.get_monitor().get_registered_resources())


def test_generation_1_keeps_its_name_and_a_later_one_is_named_gen_n():
    program = run_program("dev", {"passwordGenerations": ROTATING})
    names = {r.name for r in program.of_type(RANDOM)}
    assert {"festival-redis-replication-password", "festival-redis-replication-password-gen2"} <= names
    assert {"festival-sentinel-password-gen2", "festival-sentinel-password-gen3"} <= names
    assert "festival-redis-password-gen2" in names
    assert not {"festival-sentinel-password", "festival-redis-password"} & names  # no longer listed: deleted
    assert "festival-redis-admin-password" in names and not any(n.endswith("-gen1") for n in names)
    urns = declared_urns()
    assert any(urn.endswith("::festival-redis-replication-password") for urn in urns)
    # The outputs are the current (highest) generation: applications move to it between the two steps.
    assert program.outputs["redisPassword"] == mock("festival-redis-password-gen2")
    assert program.outputs["sentinelPassword"] == mock("festival-sentinel-password-gen3")


def test_the_default_declares_generation_1_only_under_the_names_deployed_stacks_have():
    program = run_program("dev")
    assert sorted(r.name for r in program.of_type(RANDOM)) == sorted(
        [f"festival-{user.key}" for user in users.USERS] + ["festival-debug-ui-password"]
    )


def test_docker_secrets_hold_the_current_and_the_previous_password():
    program = run_program("dev", {"passwordGenerations": ROTATING})
    [holder] = [r for r in program.of_type("docker:index/container:Container") if r.inputs["name"].endswith("secrets")]
    files = {u["file"].rpartition("/")[2]: u["content"] for u in holder.plain["uploads"]}
    assert files["redis-replication-password"] == mock("festival-redis-replication-password-gen2")
    assert files["redis-replication-password.previous"] == mock("festival-redis-replication-password")
    assert files["sentinel-password.previous"] == mock("festival-sentinel-password-gen2")
    assert files["redis-password.previous"] == files["redis-password"] == mock("festival-redis-password-gen2")


def test_kubernetes_pods_secret_holds_the_current_and_the_previous_password():
    program = run_program("prod", {"passwordGenerations": ROTATING})
    [secret] = [r for r in program.of_type("kubernetes:core/v1:Secret") if r.plain["metadata"]["name"] == "redis-users"]
    data = secret.plain["stringData"]
    assert data["redis-replication-password.previous"] == mock("festival-redis-replication-password")
    assert data["redis-replication-password"] == mock("festival-redis-replication-password-gen2")


def test_redis_passwords_applies_a_change_to_every_node_by_a_secret_fingerprint():
    for stack, nodes in (
        ("dev", ["festival-redis-master", "festival-redis-replica-1", "festival-redis-replica-2"]),
        ("prod", ["redis-master-0", "redis-replica-0", "redis-replica-1"]),
    ):
        program = run_program(stack, {"passwordGenerations": ROTATING})
        resource = program.named("festival-redis-passwords")
        assert resource.type == DYNAMIC
        assert resource.plain["nodes"][:3] == nodes and len(resource.plain["nodes"]) == 6
        assert isinstance(resource.inputs["fingerprint"], Secret)
        assert len(resource.plain["fingerprint"]) == passwords.FINGERPRINT_LENGTH
        assert resource.plain["platform"] == ("docker" if stack == "dev" else "kubernetes")
    assert resource.plain["containers"]["redis-sentinel-0"] == "sentinel"
    settled = run_program("prod").named("festival-redis-passwords").plain["fingerprint"]
    assert settled != resource.plain["fingerprint"]
