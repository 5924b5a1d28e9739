"""The Day-2 operations the docs advertise, each planned as `pulumi preview` would plan it on a deployed stack, on
both stacks: the preview stand-in (harness/preview.py) runs the program as deployed and as changed (Pulumi mocks)
and decides each resource's step as the Pulumi engine and the providers decide it.

The operations: rotating each password (docs/security.md, two `pulumi up` per rotation), renewing the certificates
(docs/security.md "Renewal": the clock moved into the early-renewal window), rotating the CA (three `pulumi up`),
scaling replicaCount and sentinelCount up and down (docs/operations.md), a configuration change and the Redis image
upgrade (docs/prod.md "What you can rely on", docs/dev.md), switching `tls` (docs/dev.md, docs/security.md),
devExporters and debugUi on and off (docs/dev.md), destroy (docs/dev.md, docs/prod.md), upgrading a deployed stack
to this version, changing who may connect (clientNamespaces, dnsEgress, prometheusPodSelector: docs/prod.md), and
the changes the docs say are refused. Every test asserts the whole plan: no step fails (unless the docs say it is
refused), and nothing that holds data or identity is replaced or deleted unless the docs say so and give the
procedure.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools

import pytest

from components import tls, users
from harness.preview import Plan, Snapshot, deploy, plan, preview

USER_KEYS = [user.key for user in users.USERS]
APP_KEYS = {users.APP.key, users.SENTINEL_CLIENT.key}  # also in `redis-secret` (prod)
EXPORTER_KEYS = {users.EXPORTER.key, users.SENTINEL_EXPORTER.key}  # also in `redis-exporter-auth` (prod)

# Their providers' diff answers "changed" on every update (components/checks/resource.py,
# components/kubernetes/rollout.py): a preview always lists them (docs/development.md, docs/prod.md).
ALWAYS = {"dev": {"festival-replication-check": "update"}, "prod": {"festival-redis-rollout": "update"}}
# What holds data or identity: the data volumes and the network the nodes find each other on (dev); the namespace,
# the StatefulSets (their pods' identity and volume claims), the Secrets applications and pods read, the kubernetes
# provider (replacing it replaces every object) (prod); the passwords and the CA clients trust (both).
IDENTITY_TYPES = {
    "docker:index/volume:Volume",
    "docker:index/network:Network",
    "kubernetes:core/v1:Namespace",
    "kubernetes:apps/v1:StatefulSet",
    "pulumi:providers:kubernetes",
    "random:index/randomPassword:RandomPassword",
    "tls:index/selfSignedCert:SelfSignedCert",
}
IDENTITY_NAMES = {
    "festival-kubernetes-secret",
    "festival-kubernetes-users-secret",
    "festival-tls-ca-key",
    "festival-tls-ca-gen2-key",
}

CONTAINERS = {
    "master": ["festival-redis-master-festival-redis-master"],
    "replica": [f"festival-redis-replicas-festival-redis-replica-{n}" for n in (1, 2)],
    "sentinel": [f"festival-sentinels-festival-sentinel-{n}" for n in (1, 2, 3)],
}
REDIS_CONTAINERS = CONTAINERS["replica"] + CONTAINERS["master"]
NODE_CERTS = {
    "dev": [
        "festival-tls-festival-redis-master",
        "festival-tls-festival-redis-replica-1",
        "festival-tls-festival-redis-replica-2",
        *(f"festival-tls-festival-sentinel-{n}" for n in (1, 2, 3)),
    ],
    "prod": [
        "festival-tls-redis-master-0",
        "festival-tls-redis-replica-0",
        "festival-tls-redis-replica-1",
        *(f"festival-tls-redis-sentinel-{n}" for n in (0, 1, 2)),
    ],
}
STATEFULSETS = [
    "festival-redis-master-statefulset",
    "festival-redis-replicas-statefulset",
    "festival-sentinels-statefulset",
]
REDIS_CONFIGS = ["festival-redis-master-config", "festival-redis-replicas-config"]
JOB = "festival-replication-check-job"


@functools.cache
def _deployed(stack: str, overrides: tuple) -> Snapshot:
    return deploy(stack, dict(overrides))


def deployed(stack: str, **overrides) -> Snapshot:
    """The state after the first `pulumi up` of `stack` (with `overrides`)."""
    return _deployed(stack, tuple(sorted(overrides.items())))


def touched(result: Plan) -> dict[str, str]:
    """What holds data or identity and is replaced or deleted."""
    return {
        step.name: step.kind
        for step in result.steps
        if step.op in ("replace", "delete") and (step.type in IDENTITY_TYPES or step.name in IDENTITY_NAMES)
    }


def assert_plan(result: Plan, stack: str, expected: dict[str, str], touching: dict[str, str] | None = None) -> None:
    """No step fails; the plan is `expected` plus what every update lists; of what holds data or identity, exactly
    `touching` is replaced or deleted."""
    assert not result.errors, result.text()
    assert result.changes() == {**expected, **ALWAYS[stack]}, result.text()
    assert touched(result) == (touching or {}), result.text()


def each(names, kind: str) -> dict[str, str]:
    return dict.fromkeys(names, kind)


def node_cert_resources(stack: str, label: str) -> list[str]:
    return [f"festival-tls-{label}-key", f"festival-tls-{label}-request", f"festival-tls-{label}"]


# --- rotating a password (docs/security.md "Rotating a password") --------------------------------------------------


def password(key: str, generation: int) -> str:
    return f"festival-{key}" if generation == 1 else f"festival-{key}-gen{generation}"


def rotation_plan(stack: str, key: str, step: int, old: int, new: int) -> dict[str, str]:
    """One step of rotating `key` from generation `old` to `new`: step 1 (`old+new`) makes the new generation, step 2
    (`new`) deletes the old one. Every node's secrets change (the Docker secrets holder; the Secret `redis-users`),
    and RedisPasswords applies them to the running nodes: no node is replaced, no pod template changes."""
    made = {password(key, new): "create"} if step == 1 else {password(key, old): "delete"}
    if stack == "dev":
        return {
            **made,
            "festival-docker-secrets-holder": "replace (delete first)",
            "festival-redis-passwords": "update",
        }
    read_by = {}  # the other Secrets hold the current password: it changes in step 1
    if step == 1 and key in APP_KEYS:
        read_by["festival-kubernetes-secret"] = "update"
    if step == 1 and key in EXPORTER_KEYS:
        read_by["festival-kubernetes-exporter-secret"] = "update"
    return {
        **made,
        **read_by,
        "festival-kubernetes-users-secret": "update",
        "festival-redis-passwords": "update",
        JOB: "replace (create first)",  # its name carries the secrets' digest: the check runs again
    }


@pytest.mark.parametrize("key", USER_KEYS)
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rotating_a_password_is_two_updates_that_replace_no_node(stack, key):
    step1, after1 = preview(deployed(stack), stack, {"passwordGenerations": f"{key}=1+2"})
    assert_plan(step1, stack, rotation_plan(stack, key, 1, 1, 2))
    step2, _ = preview(after1, stack, {"passwordGenerations": f"{key}=2"})
    # docs/security.md: "a generation no longer listed is deleted from the state".
    assert_plan(step2, stack, rotation_plan(stack, key, 2, 1, 2), touching={password(key, 1): "delete"})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_next_rotation_of_a_password_protects_only_the_generation_in_use(stack):
    key = users.REPLICATION.key
    state = deployed(stack)
    for step, generations, old, new in ((1, "1+2", 1, 2), (2, "2", 1, 2), (1, "2+3", 2, 3), (2, "3", 2, 3)):
        result, state = preview(state, stack, {"passwordGenerations": f"{key}={generations}"})
        retired = {password(key, old): "delete"} if step == 2 else {}
        assert_plan(result, stack, rotation_plan(stack, key, step, old, new), touching=retired)
        protected = {r.name for r in state.values() if r.protect and r.name.startswith(f"festival-{key}")}
        assert protected == ({password(key, new)} if stack == "prod" else set())


# --- renewing the certificates (docs/security.md "Renewal") --------------------------------------------------------

TLS_PROBE = "festival-kubernetes-tls-probe"
PROMETHEUS_RULE = "festival-kubernetes-prometheus-rule"
RENEWAL_WINDOW = datetime.timedelta(hours=tls.CERT_VALIDITY_HOURS - tls.EARLY_RENEWAL_HOURS)
TLS_ON = {"dev": {"tls": "true"}, "prod": {}}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_renewing_the_certificates_replaces_them_and_updates_what_holds_them(stack):
    start = deployed(stack, **TLS_ON[stack])
    now = datetime.datetime.now(datetime.UTC)  # every certificate of `start` was made before
    before, _ = preview(start, stack, TLS_ON[stack], now + RENEWAL_WINDOW - datetime.timedelta(days=1))
    assert_plan(before, stack, {})
    renewal, _ = preview(start, stack, TLS_ON[stack], now + RENEWAL_WINDOW + datetime.timedelta(hours=1))
    renewed = each(NODE_CERTS[stack], "replace (create first)")  # the keys, requests and the CA stay
    if stack == "dev":
        # The containers read the new files at their next start (docs/security.md: restart them within 30 days).
        assert_plan(renewal, stack, {**renewed, "festival-docker-secrets-holder": "replace (delete first)"})
    else:
        # The certificates' digest is in the pod templates: the pods are rolled as for a configuration change.
        expected = {**renewed, "festival-kubernetes-users-secret": "update", **each(STATEFULSETS, "update")}
        assert_plan(renewal, stack, {**expected, JOB: "replace (create first)"})


# --- rotating the CA (docs/security.md "Rotating the CA") -----------------------------------------------------------

APP_SECRETS = ["festival-kubernetes-secret", "festival-kubernetes-exporter-secret"]  # the CA bundle for apps, exporters


def ca_resources(generation: int) -> list[str]:
    name = "festival-tls-ca" if generation == 1 else f"festival-tls-ca-gen{generation}"
    return [f"{name}-key", name]


def ca_rotation_plan(stack: str, step: int) -> dict[str, str]:
    """One step of rotating the CA from generation 1 to 2 (tlsCaGenerations 1+2, 2+1, 2): step 1 makes CA 2 and
    trusts both, step 2 signs every node's certificate with CA 2 (the bundle is the same: the Secrets applications
    read do not change), step 3 deletes CA 1. On prod every step rolls the pods (the certificates' digest, which
    covers the bundle, is in the pod templates); on dev the secrets holder is replaced, and the containers read the
    files at their next start (docs/security.md: restart them)."""
    made = {
        1: each(ca_resources(2), "create"),
        2: each(NODE_CERTS[stack], "replace (create first)"),  # their keys and requests stay
        3: each(ca_resources(1), "delete"),
    }[step]
    if stack == "dev":
        return {**made, "festival-docker-secrets-holder": "replace (delete first)"}
    bundle_readers = each(APP_SECRETS, "update") if step != 2 else {}
    return {
        **made,
        **bundle_readers,
        "festival-kubernetes-users-secret": "update",
        **each(STATEFULSETS, "update"),
        JOB: "replace (create first)",  # its name carries the secrets' digest: the check runs again
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rotating_the_ca_is_three_updates_that_keep_the_data_and_delete_only_the_old_ca(stack):
    state = deployed(stack, **TLS_ON[stack])
    for step, generations in enumerate(("1+2", "2+1", "2"), 1):
        result, state = preview(state, stack, {**TLS_ON[stack], "tlsCaGenerations": generations})
        retired = each(ca_resources(1), "delete") if step == 3 else {}
        assert_plan(result, stack, ca_rotation_plan(stack, step), touching=retired)
    cas = [r.name for r in state.values() if r.type.startswith("tls:") and r.name.startswith("festival-tls-ca")]
    assert cas == ca_resources(2)


# --- scaling (docs/operations.md "Scaling: replicaCount and sentinelCount") -----------------------------------------


def test_adding_a_replica_creates_its_node_and_restarts_the_sentinels_only():
    result, _ = preview(deployed("dev"), "dev", {"replicaCount": 3})
    new = {f"festival-redis-replicas-festival-redis-replica-3{suffix}": "create" for suffix in ("", "-data")}
    assert_plan(result, "dev", {**new, **each(CONTAINERS["sentinel"], "replace (delete first)")})

    result, _ = preview(deployed("prod"), "prod", {"replicaCount": 3})
    assert_plan(
        result,
        "prod",
        {
            **each(node_cert_resources("prod", "redis-replica-2"), "create"),
            **each(["festival-sentinels-config", "festival-replication-check-config", JOB], "replace (create first)"),
            **each(
                ["festival-kubernetes-users-secret", "festival-kubernetes-prometheus-rule", TLS_PROBE, *STATEFULSETS],
                "update",
            ),
        },
    )


def test_removing_a_replica_deletes_its_node_and_keeps_its_data_volume():
    result, _ = preview(deployed("dev", replicaCount=3), "dev", {"replicaCount": 2})
    gone = "festival-redis-replicas-festival-redis-replica-3"
    # devKeepVolumes (on by default): the volume is dropped from the state, not deleted.
    expected = {gone: "delete", f"{gone}-data": "delete (retained)"}
    assert_plan(
        result,
        "dev",
        {**expected, **each(CONTAINERS["sentinel"], "replace (delete first)")},
        touching={f"{gone}-data": "delete (retained)"},
    )

    result, _ = preview(deployed("prod", replicaCount=3), "prod", {"replicaCount": 2})
    assert_plan(
        result,
        "prod",
        {
            **each(node_cert_resources("prod", "redis-replica-2"), "delete"),  # the pod's PVC stays (Kubernetes)
            **each(["festival-sentinels-config", "festival-replication-check-config", JOB], "replace (create first)"),
            **each(
                ["festival-kubernetes-users-secret", "festival-kubernetes-prometheus-rule", TLS_PROBE, *STATEFULSETS],
                "update",
            ),
        },
    )


def test_changing_the_sentinel_count_restarts_every_node_and_replaces_none_of_its_data():
    for start, change, op in (
        ({}, {"sentinelCount": 5, "quorum": 3}, "create"),
        (
            {"sentinelCount": 5, "quorum": 3},
            {
                "sentinelCount": 3,
                "quorum": 2,
            },
            "delete",
        ),
    ):
        result, _ = preview(deployed("dev", **start), "dev", change)
        extra = {f"festival-sentinels-festival-sentinel-{n}": op for n in (4, 5)}
        volumes = {
            f"festival-sentinels-festival-sentinel-{n}-data": "create" if op == "create" else "delete (retained)"
            for n in (4, 5)
        }
        nodes = each(REDIS_CONTAINERS + CONTAINERS["sentinel"], "replace (delete first)")
        assert_plan(result, "dev", {**extra, **volumes, **nodes}, touching={} if op == "create" else volumes)

        result, _ = preview(deployed("prod", **start), "prod", change)
        certs = each([r for n in (3, 4) for r in node_cert_resources("prod", f"redis-sentinel-{n}")], op)
        configs = [*REDIS_CONFIGS, "festival-sentinels-config", "festival-replication-check-config", JOB]
        updated = [
            "festival-kubernetes-users-secret",
            "festival-kubernetes-prometheus-rule",
            TLS_PROBE,  # its targets: every node's TLS port
            "festival-kubernetes-redis-sentinel-pdb",
            *STATEFULSETS,
        ]
        assert_plan(result, "prod", {**certs, **each(configs, "replace (create first)"), **each(updated, "update")})


# --- configuration and image (docs/prod.md "What you can rely on", docs/dev.md "What runs") -------------------------


def test_a_configuration_change_replaces_the_redis_containers_or_rolls_the_redis_pods():
    result, _ = preview(deployed("dev"), "dev", {"maxmemory": "256mb"})
    assert_plan(result, "dev", each(REDIS_CONTAINERS, "replace (delete first)"))

    result, _ = preview(deployed("prod"), "prod", {"maxmemory": "256mb"})
    statefulsets = each(STATEFULSETS[:2], "update")  # OnDelete: RedisRollout replaces the pods, one failover
    assert_plan(result, "prod", {**each([*REDIS_CONFIGS, JOB], "replace (create first)"), **statefulsets})


def test_upgrading_redis_replaces_every_container_or_rolls_every_pod():
    image = {"redisImage": "redis:8.2.10-bookworm"}
    result, _ = preview(deployed("dev"), "dev", image)
    containers = ["festival-docker-secrets-holder", *REDIS_CONTAINERS, *CONTAINERS["sentinel"]]
    expected = {"festival-docker-redis-image": "replace (create first)", **each(containers, "replace (delete first)")}
    assert_plan(result, "dev", expected)

    result, _ = preview(deployed("prod"), "prod", image)
    assert_plan(result, "prod", {**each(STATEFULSETS, "update"), JOB: "replace (create first)"})


# --- switching tls (docs/dev.md "TLS on the dev stack", docs/security.md "What TLS does not change") ----------------


def tls_resources(stack: str) -> list[str]:
    labels = [name.removeprefix("festival-tls-") for name in NODE_CERTS[stack]]
    return [
        "festival-tls-ca-key",
        "festival-tls-ca",
        *(r for label in labels for r in node_cert_resources(stack, label)),
    ]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_switching_tls_on_and_off_changes_every_node_and_keeps_their_data(stack):
    on, off = {"tls": "true"}, {"tls": "false"}
    for start, change, op in ((off, on, "create"), (on, off, "delete")):
        result, _ = preview(deployed(stack, **start), stack, change)
        made = each(tls_resources(stack), op)
        # Turned off, the CA is deleted by design: clients stop verifying it (docs/security.md).
        ca = {"festival-tls-ca-key": "delete", "festival-tls-ca": "delete"} if op == "delete" else {}
        if stack == "dev":
            nodes = each(
                ["festival-docker-secrets-holder", *REDIS_CONTAINERS, *CONTAINERS["sentinel"]], "replace (delete first)"
            )
            assert_plan(result, stack, {**made, **nodes}, touching=ca)
        else:
            # docs/security.md: a prod stack cannot switch TLS on in place (the rollout stops at the first replica);
            # the plan itself fails nothing and keeps the data.
            secrets = [
                "festival-kubernetes-secret",
                "festival-kubernetes-users-secret",
                "festival-kubernetes-exporter-secret",
            ]
            configs = [*REDIS_CONFIGS, "festival-sentinels-config", "festival-replication-check-config", JOB]
            # the certificates' alerts, the blackbox exporter's admission to the TLS ports and its Probe
            monitoring = [PROMETHEUS_RULE, "festival-kubernetes-network-policy"]
            expected = {
                **made,
                TLS_PROBE: op,
                **each([*secrets, *monitoring, *STATEFULSETS], "update"),
                **each(configs, "replace (create first)"),
            }
            assert_plan(result, stack, expected, touching=ca)


# --- the dev stack's extras (docs/dev.md "Metrics", "Debug UI") ----------------------------------------------------


def test_turning_the_dev_exporters_on_and_off_adds_and_removes_their_containers_only():
    exporters = [f"{name}-exporter" for name in REDIS_CONTAINERS + CONTAINERS["sentinel"]]
    holder = {"festival-docker-secrets-holder": "replace (delete first)"}  # it holds the exporters' password file
    result, _ = preview(deployed("dev"), "dev", {"devExporters": True})
    assert_plan(result, "dev", {**each(["festival-docker-exporter-image", *exporters], "create"), **holder})
    result, _ = preview(deployed("dev", devExporters=True), "dev", {"devExporters": False})
    assert_plan(result, "dev", {**each(["festival-docker-exporter-image", *exporters], "delete"), **holder})
    # The prod stack runs an exporter sidecar in every pod; the dev-only setting changes nothing there.
    result, _ = preview(deployed("prod"), "prod", {"devExporters": True})
    assert_plan(result, "prod", {})


def test_turning_the_debug_ui_on_and_off_adds_and_removes_its_container_only():
    ui = ["festival-docker-debug-ui-image", "festival-docker-debug-ui"]
    result, _ = preview(deployed("dev"), "dev", {"debugUi": True})
    assert_plan(result, "dev", each(ui, "create"))
    result, _ = preview(deployed("dev", debugUi=True), "dev", {"debugUi": False})
    assert_plan(result, "dev", each(ui, "delete"))


# --- destroy (docs/dev.md "Destroy, keeping the data", docs/prod.md "Destroy") -------------------------------------


def test_destroying_the_dev_stack_keeps_the_data_volumes_unless_devkeepvolumes_is_off():
    result = plan(deployed("dev"), None)
    volumes = {s.name: s.kind for s in result.steps if s.type == "docker:index/volume:Volume"}
    assert volumes == {
        **{f"{name}-data": "delete (retained)" for name in REDIS_CONTAINERS + CONTAINERS["sentinel"]},
        "festival-docker-secrets": "delete",  # docs/dev.md: destroy removes the secrets volume
    }
    assert not result.errors and {s.op for s in result.steps} == {"delete"}
    # The procedure: record devKeepVolumes false in the state with an update, then destroy.
    update, state = preview(deployed("dev"), "dev", {"devKeepVolumes": False})
    assert_plan(update, "dev", {})
    assert all(s.kind == "delete" for s in plan(state, None).steps)


def test_destroying_the_prod_stack_stops_at_what_holds_data_until_protection_is_lifted():
    result = plan(deployed("prod"), None)
    protected = {s.name for s in result.errors}
    assert protected == {
        "festival-kubernetes-namespace",
        "festival-kubernetes-secret",
        "festival-kubernetes-users-secret",
        *STATEFULSETS,
        *(password(key, 1) for key in [*USER_KEYS, "debug-ui-password"]),
    }
    assert all("cannot be deleted\nbecause it is protected" in s.error for s in result.errors)
    # docs/prod.md "Destroy": `protectData false` and an update record the lifted protection; then destroy.
    update, state = preview(deployed("prod"), "prod", {"protectData": False})
    assert_plan(update, "prod", LIFTED_PROTECTION)
    assert not plan(state, None).errors


# The update that lifts the protection also drops the StatefulSets' orphan annotation (metadata only: no pod rolls);
# the check Job's name digests the StatefulSets, so it runs again.
LIFTED_PROTECTION = {**each(STATEFULSETS, "update"), JOB: "replace (create first)"}


def test_destroying_a_prod_stack_in_an_adopted_namespace_deletes_the_pods_with_their_statefulsets():
    """With createNamespace false nothing deletes the namespace's pods for destroy: a StatefulSet deleted with orphan
    propagation would leave its pods running (still serving Redis), and their claims, in use, would never go
    (`kubectl delete pvc` waits on kubernetes.io/pvc-protection)."""
    adopted = {"createNamespace": False}
    before = {s.name: s.propagation for s in plan(deployed("prod", **adopted), None).steps if s.name in STATEFULSETS}
    assert before == dict.fromkeys(STATEFULSETS, "Orphan")  # protected: a replacement keeps the pods running
    update, state = preview(deployed("prod", **adopted), "prod", {**adopted, "protectData": False})
    assert_plan(update, "prod", LIFTED_PROTECTION)
    result = plan(state, None)
    assert not result.errors
    deleted = {s.name: (s.kind, s.propagation) for s in result.steps if s.type == "kubernetes:apps/v1:StatefulSet"}
    assert deleted == dict.fromkeys(STATEFULSETS, ("delete", "Foreground"))


# --- upgrading a deployed prod stack to this version ---------------------------------------------------------------


def test_upgrading_a_prod_stack_deployed_without_mutable_secrets_updates_the_provider_in_place():
    start = deployed("prod")
    [provider] = [r for r in start.values() if r.type == "pulumi:providers:kubernetes"]
    before = dict(provider.inputs)
    del before["enableSecretMutable"]  # as the previous version deployed it
    previous = {**start, provider.urn: dataclasses.replace(provider, inputs=before)}
    result, _ = preview(previous, "prod", {"passwordGenerations": f"{users.APP.key}=1+2"})
    # The provider is configured with the setting before the Secrets are diffed (providers/registry.go Update).
    expected = rotation_plan("prod", users.APP.key, 1, 1, 2) | {"festival-kubernetes-provider": "update"}
    assert_plan(result, "prod", expected)


@pytest.mark.parametrize(
    "change",
    [
        {"clientNamespaces": "festival,shop"},
        {"dnsEgress": "kube-dns,169.254.20.10/32"},
        {"prometheusPodSelector": "app.kubernetes.io/name=prometheus,prometheus=k8s"},
    ],
)
def test_changing_who_may_connect_updates_the_network_policy_in_place_and_nothing_else(change):
    """docs/prod.md "Prerequisites", "Monitoring": no pod restarts, no failover."""
    result, _ = preview(deployed("prod"), "prod", change)
    assert_plan(result, "prod", {"festival-kubernetes-network-policy": "update"})


# --- what the docs say is refused (docs/prod.md "What you can rely on") --------------------------------------------


def test_a_storage_change_on_a_deployed_prod_stack_is_refused_by_the_storage_guard():
    result, _ = preview(deployed("prod"), "prod", {"storageSize": "20Gi"})
    [refused] = result.errors
    assert refused.name == "festival-kubernetes-storage-guard" and "cannot change on a deployed stack" in refused.error
    assert result.steps[-1] == refused  # the engine plans nothing after a resource that fails its check


def test_moving_a_prod_stack_to_another_namespace_or_adopting_its_namespace_stops_at_its_protected_objects():
    result, _ = preview(deployed("prod"), "prod", {"namespace": "elsewhere"})
    stopped = {s.name for s in result.errors}
    assert {"festival-kubernetes-namespace", "festival-kubernetes-users-secret", *STATEFULSETS} <= stopped
    assert all("marked for protection" in s.error for s in result.errors)
    # createNamespace off: the namespace is no longer declared, and deleting it would delete every claim in it.
    result, _ = preview(deployed("prod"), "prod", {"createNamespace": False})
    [stopped] = result.errors
    assert stopped.name == "festival-kubernetes-namespace" and "because it is protected" in stopped.error
