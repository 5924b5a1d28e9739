"""The deployer's access (rbac/): every Kubernetes API call the program's own code makes, and every request
pulumi-kubernetes makes for the objects a prod run declares, is allowed by the published Role, which grants nothing
else; the dynamic resources check their access first and stop, naming what is missing, before touching anything;
`kubeContext: in-cluster` runs them with the pod's service account.

The program's calls are made by its real code through the real `kubernetes` client, against the recording API server
stand-in (harness/apiserver.py); authorisation is the RBAC stand-in (harness/rbac.py), which also holds the model of
pulumi-kubernetes' requests."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from kubernetes.config import incluster_config, kube_config

from components.kubernetes import access, manifests
from components.kubernetes import rollout as rollout_module
from components.kubernetes.access import AccessDenied
from components.kubernetes.rollout import RedisRolloutProvider
from components.kubernetes.storage_guard import StorageGuardProvider
from components.passwords_resource import RedisPasswordsProvider
from components.settings import IN_CLUSTER, SettingsError
from harness.apiserver import SERVER, FakeApiServer, kubeconfig
from harness.program import ROOT, run_program, settings_of
from harness.rbac import BASIC_USER, Rbac, Request, pulumi_kubernetes_requests, request_of

ROLE = ROOT / access.ROLE_FILE
NAMESPACE_ROLE = ROOT / "rbac/deployer-namespace-role.yaml"
CONTEXT, TOKEN, NS = "festival-prod", "deployer-token", "festival"
STATEFULSETS = {"redis-master": 1, "redis-replica": 2, "redis-sentinel": 3}
SENTINELS = [f"redis-sentinel-{i}" for i in range(3)]
REDIS = ["redis-replica-0", "redis-replica-1", "redis-master-0"]
REVIEW = Request("create", "selfsubjectaccessreviews", "authorization.k8s.io")
# The prod runs whose declarations differ in kinds or names: the defaults (namespace created, TLS, Prometheus
# Operator objects), and the other side of each of those.
RUNS = {
    "prod": {},
    "adopted namespace, no tls, no operator, no replicas": {
        "createNamespace": False,
        "tls": "false",
        "prometheusOperator": False,
        "replicaCount": 0,
        "minReplicasToWrite": 0,
    },
    "another namespace": {"namespace": "cache"},
}


def documents(*paths: Path) -> list[dict]:
    return [d for path in paths for d in yaml.safe_load_all(path.read_text()) if d]


def published() -> Rbac:
    return Rbac(documents(ROLE, NAMESPACE_ROLE))


def as_request(need: access.Access, namespace: str = NS) -> Request:
    return Request(need.verb, need.resource, need.group, need.subresource, namespace)


def cluster() -> FakeApiServer:
    return FakeApiServer(published(), NS, STATEFULSETS, master="redis-master-0")


@pytest.fixture
def deployer(tmp_path, monkeypatch):
    """The deployer's kubeconfig: context festival-prod reaches the stand-in; the current context is another."""
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig(CONTEXT, TOKEN))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))  # read from KUBECONFIG at import
    return path


def rollout(server: FakeApiServer, context: str = CONTEXT) -> list[str]:
    props = {
        "context": context,
        "namespace": NS,
        "statefulsets": ["redis-master", "redis-replica"],
        "pods": 3,
        "sentinel_statefulsets": ["redis-sentinel"],
        "sentinel_pods": 3,
        "quorum": 2,
        "min_replicas_to_write": 1,
        "pod_timeout_seconds": 5,
        "settle_seconds": 0,
        "revision": "r",
        "replaced": None,
    }
    with server.serving():
        return RedisRolloutProvider().update("id", {}, props).outs["replaced"]


def passwords(server: FakeApiServer, context: str = CONTEXT) -> list[str]:
    nodes = [*REDIS, *SENTINELS]
    props = {
        "platform": "kubernetes",
        "nodes": nodes,
        "fingerprint": "f" * 64,
        "context": context,
        "namespace": NS,
        "containers": {node: "sentinel" if "sentinel" in node else "redis" for node in nodes},
        "timeout_seconds": 5,
        "applied": None,
    }
    with server.serving():
        return RedisPasswordsProvider().update("id", {}, props).outs["applied"]


# --- the program's own calls ---------------------------------------------------------------------------------
def test_the_rollout_replaces_every_pod_with_only_what_the_role_grants_and_its_checks_name(deployer):
    server = cluster()
    assert rollout(server) == [*SENTINELS, *REDIS]
    assert server.unknown == []
    refused = [entry for entry in server.recorded if not entry.allowed]
    assert refused == []
    # What it checked first is exactly what it then did: the pre-flight cannot miss a call, nor ask for more.
    assert server.authorised() - {REVIEW} == {as_request(need) for need in access.ROLLOUT_NEEDS}
    # The exec is a WebSocket: authorised as get and, from Kubernetes 1.35, create.
    assert {as_request(need) for need in access.EXEC} <= server.authorised()


def test_the_password_steps_run_on_every_node_with_only_what_the_role_grants(deployer):
    server = cluster()
    applied = passwords(server)
    assert applied == [f"{step} {node}" for step in ("accept", "use") for node in [*REDIS, *SENTINELS]]
    assert [entry for entry in server.recorded if not entry.allowed] == []
    assert server.authorised() - {REVIEW} == {as_request(need) for need in access.PASSWORDS_NEEDS}


def test_the_calls_use_the_stacks_context_not_the_current_one(deployer):
    server = cluster()
    rollout(server)
    assert {entry.host for entry in server.recorded} == {SERVER.removeprefix("https://")}
    assert {entry.authorization for entry in server.recorded} == {f"Bearer {TOKEN}"}


def without(docs: list[dict], need: access.Access) -> list[dict]:
    """The RBAC documents with `need`'s verb taken out of every rule that grants it."""
    docs = copy.deepcopy(docs)
    resource = f"{need.resource}/{need.subresource}" if need.subresource else need.resource
    for doc in docs:
        for rule in doc.get("rules", []):
            if need.group in rule["apiGroups"] and resource in rule["resources"] and need.verb in rule["verbs"]:
                rule["verbs"].remove(need.verb)
    return docs


@pytest.mark.parametrize(
    ("run", "need"),
    [(rollout, need) for need in access.ROLLOUT_NEEDS] + [(passwords, need) for need in access.PASSWORDS_NEEDS],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_a_missing_grant_stops_the_resource_before_it_touches_anything(deployer, run, need):
    server = cluster()
    server.rbac = Rbac(without(documents(ROLE, NAMESPACE_ROLE), need))
    with pytest.raises(AccessDenied) as error:
        run(server)
    message = str(error.value)
    assert f"lack {need} in namespace {NS}" in message
    assert access.ROLE_FILE in message
    subresource = f" --subresource={need.subresource}" if need.subresource else ""
    assert f"kubectl auth can-i {need.verb} {need.resource}" in message and subresource in message
    assert {r for entry in server.recorded for r in entry.requests} == {REVIEW}


def test_a_cluster_that_refuses_self_subject_access_reviews_gets_a_clear_error(deployer):
    server = cluster()
    server.rbac = Rbac(documents(ROLE, NAMESPACE_ROLE), defaults=False)
    with pytest.raises(AccessDenied, match="create selfsubjectaccessreviews.authorization.k8s.io is refused"):
        rollout(server)
    assert len(server.recorded) == 1


def test_the_stand_in_authorises_a_websocket_exec_as_get_and_create():
    url = "https://h/api/v1/namespaces/festival/pods/redis-master-0/exec?command=sh&container=redis"
    assert request_of("GET", url, websocket=True) == [
        Request("get", "pods", "", "exec", NS, "redis-master-0"),
        Request("create", "pods", "", "exec", NS, "redis-master-0"),
    ]
    assert request_of("GET", "https://h/api/v1/namespaces/festival/pods?labelSelector=a%3Db") == [
        Request("list", "pods", namespace=NS)
    ]
    assert request_of("GET", "https://h/api/v1/namespaces/festival") == [
        Request("get", "namespaces", namespace=NS, name=NS)
    ]
    documented_before = Rbac(
        [
            {
                "kind": "Role",
                "metadata": {"name": "r", "namespace": NS},
                "rules": [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}],
            },
            {
                "kind": "RoleBinding",
                "metadata": {"name": "b", "namespace": NS},
                "roleRef": {"kind": "Role", "name": "r"},
                "subjects": [],
            },
        ]
    )  # fmt: skip  (docs/prod-pods.md granted only create: the WebSocket's get is refused, a 403 on a real cluster)
    get, create = request_of("GET", url, websocket=True)
    assert documented_before.allows(create) and not documented_before.allows(get)
    assert not documented_before.allows(Request("create", "pods", "", "exec", "other", "x"))  # its namespace only


# --- what pulumi-kubernetes sends for the declared objects ---------------------------------------------------
def declared(overrides: dict) -> list[tuple[str, str, str]]:
    """(kind, name, namespace) of every Kubernetes object a mocked prod run declares."""
    program = run_program("prod", overrides)
    objects = [r.plain for r in program.resources if r.type.startswith("kubernetes:")]
    return [(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace", "")) for o in objects]


def edited(path: Path, namespace: str) -> list[dict]:
    """A file of rbac/ edited for `namespace`, as its comments say."""
    text = path.read_text().replace(f"namespace: {NS}\n", f"namespace: {namespace}\n")
    return [d for d in yaml.safe_load_all(text.replace(f"[{NS}]", f"[{namespace}]")) if d]


@pytest.mark.parametrize("overrides", RUNS.values(), ids=RUNS.keys())
def test_every_request_pulumi_kubernetes_makes_for_the_declared_objects_is_granted(overrides):
    namespace, creates_it = overrides.get("namespace", NS), overrides.get("createNamespace", True)
    rbac = Rbac(edited(ROLE, namespace) + (edited(NAMESPACE_ROLE, namespace) if creates_it else []))
    objects = declared(overrides)
    assert ("Namespace" in {kind for kind, _, _ in objects}) == creates_it
    refused = [
        f"{kind} {name}: {request}"
        for kind, name, ns in objects
        for request in pulumi_kubernetes_requests(kind, name, ns)
        if not rbac.allows(request)
    ]
    assert refused == []


def test_an_adopted_namespace_needs_no_cluster_wide_grant():
    rbac = Rbac(documents(ROLE))  # deployer-role.yaml alone
    objects = declared(RUNS["adopted namespace, no tls, no operator, no replicas"])
    assert all(rbac.allows(r) for kind, name, ns in objects for r in pulumi_kubernetes_requests(kind, name, ns))
    assert not rbac.allows(Request("create", "namespaces"))


def test_the_role_grants_nothing_that_is_not_used(deployer):
    """Every verb on every resource in rbac/ is needed by a request of pulumi-kubernetes or of the program's code."""
    needed = {r for overrides in RUNS.values() if "namespace" not in overrides for o in declared(overrides)
              for r in pulumi_kubernetes_requests(*o)}  # fmt: skip
    for run in (rollout, passwords):
        server = cluster()
        run(server)
        needed |= {r for entry in server.recorded for r in entry.requests}
    unused = [
        (verb, group, resource)
        for grant in published().grants
        if grant is not BASIC_USER
        for verb, group, resource in grant.triples()
        if not any(
            grant.allows(r)
            and (r.verb, r.group) == (verb, group)
            and (f"{r.resource}/{r.subresource}" if r.subresource else r.resource) == resource
            for r in needed
        )
    ]
    assert unused == []


def test_the_files_name_the_prod_stacks_namespace_and_the_namespace_file_is_the_programs():
    settings = settings_of("prod")
    (namespace,) = documents(ROOT / "rbac/namespace.yaml")
    assert namespace == manifests.namespace(settings)
    (binding,) = [d for d in documents(ROLE) if d["kind"] == "RoleBinding"]
    assert binding["metadata"]["namespace"] == settings.namespace
    names = [
        rule["resourceNames"]
        for d in documents(NAMESPACE_ROLE)
        for rule in d.get("rules", [])
        if "resourceNames" in rule
    ]
    assert names == [[settings.namespace]]


# --- in-cluster ----------------------------------------------------------------------------------------------
@pytest.fixture
def in_pod(tmp_path, monkeypatch):
    """A pod's environment: the service account's token and CA mounted, the API server's address in the
    environment, no kubeconfig anywhere."""
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("service-account-token")
    ca.write_text("not read until a connection is made")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setattr(access, "SERVICE_ACCOUNT_TOKEN", token)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return token


def test_in_cluster_the_resources_use_the_pods_service_account(in_pod):
    server = cluster()
    assert rollout(server, IN_CLUSTER) == [*SENTINELS, *REDIS]
    passwords(server, IN_CLUSTER)
    assert {entry.host for entry in server.recorded} == {"10.96.0.1:443"}
    assert {entry.authorization.lower() for entry in server.recorded} == {"bearer service-account-token"}


@pytest.mark.parametrize(("kube_context", "provider_context"), [(CONTEXT, CONTEXT), (IN_CLUSTER, None)])
def test_the_provider_and_the_resources_reach_the_cluster_the_same_way(in_pod, kube_context, provider_context):
    """One credentials path: the provider's context and the dynamic resources' are the stack's (in-cluster: the
    provider names none, so client-go takes the service account, as the resources do)."""
    program = run_program("prod", {"kubeContext": kube_context})
    (provider,) = program.of_type("pulumi:providers:kubernetes")
    assert provider.plain.get("context") == provider_context and provider.plain.get("kubeconfig") is None
    dynamic = [r.plain for r in program.of_type("pulumi-python:dynamic:Resource") if "context" in r.plain]
    assert len(dynamic) == 2 and {d["context"] for d in dynamic} == {kube_context}


def test_the_storage_guard_calls_no_api(deployer):
    server = cluster()
    provider, props = StorageGuardProvider(), {"storageClass": "fast-ssd", "storageSize": "10Gi"}
    with server.serving():
        assert provider.check(props, {**props, "storageSize": "20Gi"}).failures
        provider.create(props)
        provider.update("storage", props, props)
    assert server.recorded == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda pod, mp: mp.setenv("KUBECONFIG", "/somewhere/config"), "a kubeconfig is present (/somewhere/config)"),
        (
            lambda pod, mp: (pod.parent / ".kube").mkdir() or (pod.parent / ".kube/config").write_text(""),
            ".kube/config",
        ),
        (lambda pod, mp: mp.delenv("KUBERNETES_SERVICE_HOST"), "not a pod with a service account"),
        (lambda pod, mp: pod.unlink(), "not a pod with a service account"),
    ],
    ids=["KUBECONFIG", "~/.kube/config", "no service host", "no token"],
)
def test_in_cluster_is_refused_where_the_provider_would_not_use_the_service_account(
    in_pod, monkeypatch, change, problem
):
    change(in_pod, monkeypatch)
    with pytest.raises(SettingsError) as error:
        run_program("prod", {"kubeContext": IN_CLUSTER})
    assert error.value.key == "kubeContext" and error.value.value == IN_CLUSTER
    assert problem in str(error.value)


def test_the_checks_port_forwards_name_no_context_in_cluster():
    from components.checks.cli import port_forwards

    in_cluster = port_forwards(settings_of("prod", kubeContext=IN_CLUSTER), 16379)
    named = port_forwards(settings_of("prod"), 16379)
    assert all("--context" not in command for _, command in in_cluster)
    assert all(command[1:3] == ["--context", "festival-prod"] for _, command in named)


# --- bounded, retried calls ----------------------------------------------------------------------------------
@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(rollout_module, "API_BACKOFF_SECONDS", 0)
    monkeypatch.setattr(rollout_module, "POLL_SECONDS", 0)


def test_the_rollout_rides_out_429_and_5xx_and_bounds_every_call(deployer, no_backoff):
    server = cluster()
    server.failures = [
        ("list pods", 503),
        ("get statefulsets", 500),
        ("list pods", 429),  # API Priority and Fairness
        ("create pods/eviction", 429),  # the disruption budget: asked again by the rollout
        ("create pods/eviction", 429),
        ("get pods/exec", 500),  # a WebSocket handshake refused: the client's ApiException(status=0)
    ]
    assert rollout(server) == [*SENTINELS, *REDIS]
    assert server.failures == []
    evictions = [e for e in server.recorded if e.requests[0].subresource == "eviction"]
    assert [e.path.rsplit("/", 2)[1] for e in evictions] == [SENTINELS[0]] * 3 + SENTINELS[1:] + REDIS
    for entry in server.recorded:
        if entry.requests[0].subresource == "exec":
            assert entry.timeout == rollout_module.EXEC_TIMEOUT, entry
        else:
            assert (entry.timeout.connect_timeout, entry.timeout.read_timeout) == access.API_TIMEOUT, entry


def test_a_failure_that_lasts_stops_the_rollout_after_a_bounded_number_of_tries(deployer, no_backoff):
    from kubernetes.client import ApiException

    server = cluster()
    server.failures = [("list pods", 503)] * rollout_module.API_TRIES
    with pytest.raises(ApiException) as error:
        rollout(server)
    assert error.value.status == 503
    assert len([e for e in server.recorded if e.requests[0].verb == "list"]) == rollout_module.API_TRIES
    assert not [e for e in server.recorded if e.requests[0].subresource == "eviction"]
