"""The policy pack against the program's own mocked runs (dev, dev with the debug UI, prod) and broken variants.

Each policy passes the real program and fails each of its broken variants, which are the same runs with one
property changed, as a careless edit of the program would change it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from pulumi_policy import EnforcementLevel
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policy import festival_policies as fp
from tests.workflow.engine import STACK_TYPE, EngineResource, edit, engine_props, resources, violations
from tests.workflow.mocked import MOCK_PASSWORD_PREFIX, Secret, reveal, run

ROOT = Path(__file__).resolve().parents[2]
CONTAINER, STATEFULSET = fp.CONTAINER, "kubernetes:apps/v1:StatefulSet"
REDIS_PASSWORD = MOCK_PASSWORD_PREFIX + "festival-redis-password"
POLICIES = {policy.name: policy for policy in fp.POLICIES}


@pytest.fixture(scope="module")
def runs():
    return {"dev": run("dev"), "dev-ui": run("dev", {"debugUi": True}), "prod": run("prod")}


def container(name: str) -> Callable:
    def matches(found: list[EngineResource]) -> EngineResource:
        [match] = [r for r in found if r.type == CONTAINER and r.inputs.get("name") == name]
        return match

    return matches


def pod_spec(props: dict) -> dict:
    return props["spec"]["template"]["spec"]


def first_container(props: dict) -> dict:
    return pod_spec(props)["containers"][0]


def on_container(name: str, change: Callable[[dict], None]) -> Callable:
    def mutate(found):
        target = container(name)(found)
        change(target.inputs)
        change(target.outputs)

    return mutate


def on(type_: str, change: Callable[[dict], None], name: str | None = None) -> Callable:
    return lambda found: edit(found, type_, change, name)


def drop(type_: str, name_part: str) -> Callable:
    def mutate(found):
        doomed = [r for r in found if r.type == type_ and name_part in r.name]
        assert doomed
        for r in doomed:
            found.remove(r)

    return mutate


def set_path(props: dict, path: tuple, value) -> None:
    *parents, last = path
    for key in parents:
        props = props[key]
    props[last] = value


def stack_output(key: str, value) -> Callable:
    def mutate(found):
        [stack] = [r for r in found if r.type == STACK_TYPE]
        stack.outputs[key] = value

    return mutate


MASTER = "festival-redis-master"
SENTINEL_STS = "festival-sentinels-statefulset"
MASTER_STS = "festival-redis-master-statefulset"
SENTINEL_CM = "festival-sentinels-config"

# policy -> [(what is broken, run, mutation)]
BROKEN: dict[str, list[tuple[str, str, Callable]]] = {
    "dev-ports-on-loopback": [
        ("port on every interface", "dev", on_container(MASTER, lambda p: p["ports"][0].update(ip="0.0.0.0"))),
        ("port without an ip", "dev", on_container(MASTER, lambda p: p["ports"][0].pop("ip"))),
        ("host network", "dev", on_container(MASTER, lambda p: p.update(networkMode="host"))),
    ],
    "passwords-not-in-plain-fields": [
        (
            "password in a container env",
            "dev",
            on_container(MASTER, lambda p: p["envs"].append(Secret(f"REDIS_PASSWORD={REDIS_PASSWORD}"))),
        ),
        (
            "password on redis-server's command line",
            "dev",
            on_container(
                MASTER, lambda p: p.update(command=["sh", "-c", 'exec redis-server --requirepass "$(cat /run/pw)"'])
            ),
        ),
        (
            "password in a pod env value",
            "prod",
            on(STATEFULSET, lambda p: first_container(p)["env"].append({"name": "REDISCLI_AUTH", "value": "x"})),
        ),
        (
            "redis-cli -a in a probe",
            "prod",
            on(
                STATEFULSET,
                lambda p: set_path(first_container(p), ("livenessProbe", "exec", "command"), ["redis-cli", "-a", "x"]),
                MASTER_STS,
            ),
        ),
        (
            "requirepass in a ConfigMap",
            "prod",
            on(fp.CONFIG_MAP, lambda p: p["data"].update({"redis.conf": "requirepass hunter2hunter2\n"})),
        ),
    ],
    "images-pinned": [
        ("dev image latest", "dev", on(fp.REMOTE_IMAGE, lambda p: p.update(name="redis:latest"))),
        ("prod image without tag", "prod", on(STATEFULSET, lambda p: first_container(p).update(image="redis"))),
        (
            "exporter sidecar latest",
            "prod",
            on(STATEFULSET, lambda p: pod_spec(p)["containers"][1].update(image="oliver006/redis_exporter:latest")),
        ),
    ],
    "memory-limits": [
        ("dev container without memory", "dev", on_container(MASTER, lambda p: p.pop("memory"))),
        (
            "Redis pod without a memory limit",
            "prod",
            on(STATEFULSET, lambda p: first_container(p)["resources"]["limits"].pop("memory"), MASTER_STS),
        ),
    ],
    "redis-pods-restricted": [
        (
            "privilege escalation",
            "prod",
            on(STATEFULSET, lambda p: first_container(p)["securityContext"].update(allowPrivilegeEscalation=True)),
        ),
        (
            "no seccomp profile",
            "prod",
            on(STATEFULSET, lambda p: pod_spec(p)["securityContext"].pop("seccompProfile"), SENTINEL_STS),
        ),
        (
            "hostPath volume",
            "prod",
            on(STATEFULSET, lambda p: pod_spec(p)["volumes"].append({"name": "h", "hostPath": {"path": "/"}})),
        ),
        ("root user", "prod", on(STATEFULSET, lambda p: pod_spec(p)["securityContext"].update(runAsUser=0))),
    ],
    "sentinel-quorum-majority": [
        ("two Sentinels in dev", "dev", lambda found: found.remove(container("festival-sentinel-3")(found))),
        ("four Sentinels in prod", "prod", on(STATEFULSET, lambda p: p["spec"].update(replicas=4), SENTINEL_STS)),
        (
            "quorum 1 of 3",
            "prod",
            on(
                fp.CONFIG_MAP,
                lambda p: p["data"].update(
                    {"sentinel.conf": p["data"]["sentinel.conf"].replace("@MASTER_PORT@ 2", "@MASTER_PORT@ 1")}
                ),
                SENTINEL_CM,
            ),
        ),
        ("no Sentinel at all", "prod", drop(STATEFULSET, "sentinels")),
    ],
    "workloads-have-disruption-budget": [
        ("Sentinels without a budget", "prod", drop("kubernetes:policy/v1:PodDisruptionBudget", "sentinel")),
        (
            "budget selecting other pods",
            "prod",
            on(
                "kubernetes:policy/v1:PodDisruptionBudget",
                lambda p: p["spec"].update(selector={"matchLabels": {"app": "other"}}),
            ),
        ),
    ],
    "redis-behind-network-policy": [
        ("no NetworkPolicy", "prod", drop(fp.NETWORK_POLICY, "network-policy")),
        (
            "policy selecting Redis only, not the Sentinels",
            "prod",
            on(fp.NETWORK_POLICY, lambda p: p["spec"].update(podSelector={"matchLabels": {"app": "redis"}})),
        ),
        ("egress-only policy", "prod", on(fp.NETWORK_POLICY, lambda p: p["spec"].update(policyTypes=["Egress"]))),
    ],
    "passwords-only-in-secrets": [
        (
            "password in the plain connectionEnv output",
            "dev",
            stack_output("connectionEnv", {"REDIS_PASSWORD": REDIS_PASSWORD}),
        ),
        (
            "password in a container label",
            "dev",
            on_container(MASTER, lambda p: p.update(labels=[{"label": "auth", "value": REDIS_PASSWORD}])),
        ),
        (
            "password in a pod annotation",
            "prod",
            on(STATEFULSET, lambda p: p["spec"]["template"]["metadata"]["annotations"].update(pw=REDIS_PASSWORD)),
        ),
        (
            "password inside a ConfigMap script",
            "prod",
            on(fp.CONFIG_MAP, lambda p: p["data"].update({"x.sh": f"redis-cli --pass {REDIS_PASSWORD}\n"})),
        ),
    ],
}


def test_every_policy_is_mandatory_and_has_broken_variants():
    assert set(BROKEN) == set(POLICIES)
    for policy in fp.POLICIES:
        assert policy.enforcement_level == EnforcementLevel.MANDATORY, policy.name


@pytest.mark.parametrize("stack", ["dev", "dev-ui", "prod"])
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_the_program_passes_every_policy(runs, stack, name):
    assert violations(POLICIES[name], resources(runs[stack])) == []


CASES = [(name, what, stack, mutate) for name, variants in BROKEN.items() for what, stack, mutate in variants]


@pytest.mark.parametrize(("name", "what", "stack", "mutate"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_each_broken_variant_fails_its_policy(runs, name, what, stack, mutate):
    found = resources(runs[stack])
    mutate(found)
    messages = violations(POLICIES[name], found)
    assert messages, f"{name} let through: {what}"
    for message in messages:
        assert ": " in message and len(message) > 40, message  # names the resource and says what to change


def test_messages_say_what_to_change(runs):
    found = resources(runs["dev"])
    on_container(MASTER, lambda p: p["ports"][0].update(ip="0.0.0.0"))(found)
    [message] = violations(POLICIES["dev-ports-on-loopback"], found)
    assert message.startswith("container festival-redis-master publishes port 6379 on 0.0.0.0: set the port's ip")
    found = resources(runs["prod"])
    on(STATEFULSET, lambda p: p["spec"].update(replicas=4), SENTINEL_STS)(found)
    assert violations(POLICIES["sentinel-quorum-majority"], found) == [
        "4 Sentinels watch festival-master: run an odd number (sentinelCount 3 or 5), so a network split always "
        "leaves one side with a majority",
        "quorum 2 for festival-master is not a majority of its 4 Sentinels: set quorum to 3 (a minority could "
        "otherwise fail over on its own, and a quorum above the count never can)",
    ]


# --- the passes above are not vacuous -------------------------------------------------------------------
def test_the_stack_policies_find_what_they_check(runs):
    for stack in ("dev", "prod"):
        plain = [(r.type, r.name, fp.plain(engine_props(r.outputs))) for r in resources(runs[stack])]
        assert fp.sentinel_groups(plain) == {"festival-master": [2, 2, 2]}, stack
    prod = [(r.type, fp.plain(engine_props(r.inputs))) for r in resources(runs["prod"])]
    templates = [fp.pod_template(t, p) for t, p in prod if t == STATEFULSET]
    assert len(templates) == 3 and all(fp.serves_redis(t) for t in templates)
    job = [fp.pod_template(t, p) for t, p in prod if t == "kubernetes:batch/v1:Job"]
    assert fp.is_redis_pod(job[0]) and not fp.serves_redis(job[0])  # the check Job is a client


def test_the_generated_passwords_are_seen_where_they_are_allowed(runs):
    found = resources(runs["dev"])
    # A password the policy knows is uploaded into a container: it is allowed there, not unseen.
    holders = [
        r
        for r in found
        if r.type == CONTAINER and REDIS_PASSWORD in [u["content"] for u in reveal(r.outputs.get("uploads", []))]
    ]
    assert holders
    # The same password in a label of that container is reported.
    holders[0].outputs["labels"] = [{"label": "x", "value": f"prefix-{REDIS_PASSWORD}"}]
    assert violations(POLICIES["passwords-only-in-secrets"], found)


def test_secrets_reach_the_policies_as_plain_values(runs):
    found = resources(runs["dev"])
    on_container(MASTER, lambda p: p["envs"].append(Secret("REDIS_PASSWORD=s3cr3t")))(found)
    [message] = violations(POLICIES["passwords-not-in-plain-fields"], found)
    assert "environment variable REDIS_PASSWORD holds a credential" in message


def test_a_preview_with_unknown_values_neither_fails_nor_stops_the_policies(runs):
    for stack in ("dev", "prod"):
        found = resources(runs[stack])
        for r in found:
            if r.type == fp.RANDOM_PASSWORD:
                r.outputs["result"] = UNKNOWN_STRING_VALUE
            if r.type == CONTAINER:
                for props in (r.inputs, r.outputs):
                    props["image"] = UNKNOWN_STRING_VALUE
                    props["uploads"] = reveal(props.get("uploads", []))
                    for upload in props["uploads"]:
                        upload["content"] = UNKNOWN_STRING_VALUE
        for policy in fp.POLICIES:
            assert violations(policy, found) == [], (stack, policy.name)
        # Known values are still checked next to unknown ones.
        if stack == "dev":
            on_container(MASTER, lambda p: p["ports"][0].update(ip="0.0.0.0"))(found)
            assert violations(POLICIES["dev-ports-on-loopback"], found)


# --- the pure helpers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("REDIS_PASSWORD", True),
        ("REDISCLI_AUTH", True),
        ("sentinelPassword", True),
        ("--requirepass", True),
        ("REDIS_PASSWORD_FILE", False),
        ("--redis.password-file", False),
        ("redisPasswordKey", False),
        ("SECRETS_DIR", False),
        ("AUTHOR", False),
        ("MASTER_NAME", False),
    ],
)
def test_credential_names(name, credential):
    assert fp.is_credential_name(name) is credential


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        ("redis:7.0.15-bookworm", None),
        ("registry.local:5000/redis:7.0.15", None),
        ("redis@sha256:" + "0" * 64, None),
        ("redis", "has no tag (it means latest)"),
        ("registry.local:5000/redis", "has no tag (it means latest)"),
        ("redis:latest", "is tagged latest"),
    ],
)
def test_image_pinning(image, problem):
    assert fp.image_problem(image) == problem


def test_config_map_checks():
    assert fp.config_map_problems({"data": {"redis.conf": "maxmemory 1mb\n# requirepass comes at boot\n"}}) == []
    assert fp.config_map_problems({"data": {"app.env": "REDIS_PASSWORD_FILE=/run/secrets/pw\nPASSWORD=$PW\n"}}) == []
    assert fp.config_map_problems({"data": {"lib.sh": "REDIS_SECRET='redis-password'\n"}}) == []  # a file's name
    assert fp.config_map_problems({"data": {"app.env": "REDIS_PASSWORD=hunter2\n"}}) == [
        "app.env assigns REDIS_PASSWORD a literal value"
    ]
    assert fp.config_map_problems({"data": {"redis-password": "x"}}) == ["key redis-password is named as a credential"]


def test_a_container_that_never_starts_needs_no_memory_limit(runs):
    found = resources(runs["dev"])
    on_container(MASTER, lambda p: p.pop("memory"))(found)
    assert violations(POLICIES["memory-limits"], found)
    on_container(MASTER, lambda p: p.update(start=False))(found)
    assert violations(POLICIES["memory-limits"], found) == []


def test_selectors():
    labels = {"app": "redis", "component": "master"}
    assert fp.selects({}, labels)
    assert fp.selects({"matchLabels": {"app": "redis"}}, labels)
    assert not fp.selects({"matchLabels": {"app": "redis-sentinel"}}, labels)
    assert fp.selects({"matchExpressions": [{"key": "app", "operator": "In", "values": ["redis"]}]}, labels)
    assert not fp.selects({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, labels)
    assert not fp.selects(None, labels)


# --- the pack stays apart from the program ---------------------------------------------------------------
def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_pack_never_imports_the_program_and_the_program_never_imports_the_pack():
    pack = list((ROOT / "policy").glob("*.py"))
    assert pack
    for path in pack:
        assert not imported_modules(path) & {"components", "tests", "__main__"}, path
    program = [ROOT / "__main__.py", *(ROOT / "components").rglob("*.py")]
    for path in program:
        assert "policy" not in imported_modules(path), path


def test_the_pack_entrypoint_registers_every_policy_as_mandatory():
    main = (ROOT / "policy" / "__main__.py").read_text()
    assert "from festival_policies import POLICIES" in main
    assert "enforcement_level=EnforcementLevel.MANDATORY" in main
    requirements = (ROOT / "policy" / "requirements.txt").read_text()
    assert "pulumi-policy" in requirements
