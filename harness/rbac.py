"""Stand-ins for how the API server authorises the deployer, and for what pulumi-kubernetes asks of it.

- `request_of`: the attributes the API server authorises an HTTP request by, as kubernetes/kubernetes
  staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go `NewRequestInfo` derives them: the verb from the
  method (GET on a name `get`, without one `list`, or `watch` with `?watch=true`; POST `create`, PATCH `patch`,
  DELETE `delete`), `namespaces/<ns>/` giving the namespace, then resource, name, subresource. A WebSocket upgrade
  on pods/exec, attach or portforward is a GET, and from Kubernetes 1.35 also authorised as `create`
  (kubernetes/kubernetes#134577, feature gate AuthorizePodWebsocketUpgradeCreatePermission, on by default).
- `Rbac`: RBAC over the YAML documents of rbac/ for one subject, every binding's: rule matching as
  pkg/apis/rbac/v1/evaluation_helpers.go (`VerbMatches`, `APIGroupMatches`, `ResourceMatches` with
  `resource/subresource` and `*/subresource`, `ResourceNameMatches`: a rule with resourceNames matches only a request
  that names one of them, so never a create or a list). A RoleBinding grants its role in its namespace only, a
  ClusterRoleBinding everywhere (plugin/pkg/auth/authorizer/rbac/rbac.go). Plus the bootstrap policy every cluster
  starts with (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go): `system:basic-user`, bound to every
  authenticated user, lets anyone create a selfsubjectaccessreview.
- `pulumi_kubernetes_requests`: what pulumi-kubernetes sends for one declared object over its life, read in
  pulumi/pulumi-kubernetes 94977969d641 (v4.32+), provider/pkg/await/await.go: `Creation` POSTs the object
  (client-side create since #4278; before it, and with upsertExistingObjects, a server-side apply PATCH; a preview
  sends either as a dry run, authorised like the real one); `Read`, `Update` and the deletion await GET it;
  `Update` PATCHes it (an apply patch, and a JSON patch when fixing field managers); `Deletion` DELETEs it and
  waits through an informer, as `Creation` and `Update` do for the awaited kinds: list and watch on the object's
  resource in its namespace (informers/factory.go `ForNamespace`, which waits for the informer's first list).
  await/job.go also watches the pods, service.go the endpoints (await/statefulset.go's pod watch is replaced by the
  StatefulSets' `pulumi.com/waitFor`); watchers.go `NewEventAggregator`
  follows events from the object's namespace (every namespace for a cluster-scoped object). Replacements use the
  same calls. Discovery (`/api`, `/apis`, `/version`, `/openapi`) is not a resource request; `system:discovery`
  grants it to every authenticated user.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import yaml

ROOT = Path(__file__).resolve().parents[1]
WEBSOCKET_SUBRESOURCES = {"exec", "attach", "portforward"}
NAMESPACE_SUBRESOURCES = {"status", "finalize"}
# Kind -> (API group, resource, namespaced), for every kind the program declares. A kind missing here is refused.
KINDS = {
    "Namespace": ("", "namespaces", False),
    "Secret": ("", "secrets", True),
    "ConfigMap": ("", "configmaps", True),
    "Service": ("", "services", True),
    "StatefulSet": ("apps", "statefulsets", True),
    "Job": ("batch", "jobs", True),
    "PodDisruptionBudget": ("policy", "poddisruptionbudgets", True),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies", True),
    "ServiceMonitor": ("monitoring.coreos.com", "servicemonitors", True),
    "PrometheusRule": ("monitoring.coreos.com", "prometheusrules", True),
    "Probe": ("monitoring.coreos.com", "probes", True),
}
# What the await of a kind watches besides the object (job.go: pods; service.go: endpoints). The StatefulSets carry a
# `pulumi.com/waitFor` (manifests.statefulset_await), which replaces the built-in await (await.go, `!custom`) and its
# pod watch (await/statefulset.go) with a condition on the object itself.
AWAIT_WATCHES = {"Job": ("pods",), "Service": ("endpoints",)}
OBJECT_VERBS = ("create", "get", "patch", "delete")  # on the object (by name, except a create)
INFORMER_VERBS = ("list", "watch")


@dataclass(frozen=True)
class Request:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str = ""  # "" for a cluster-scoped request, or one across every namespace
    name: str = ""

    def __str__(self) -> str:
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        where = f" in {self.namespace}" if self.namespace else " (cluster-wide)"
        group = f".{self.group}" if self.group else ""
        return f"{self.verb} {resource}{group}{' ' + self.name if self.name else ''}{where}"


def request_of(method: str, url: str, websocket: bool = False) -> list[Request]:
    """The authorisation requests of one HTTP request (two for a WebSocket exec), as requestinfo.go derives them."""
    parsed = urlparse(url)
    parts = [part for part in parsed.path.split("/") if part]
    if parts[0] == "api":
        group, parts = "", parts[2:]
    elif parts[0] == "apis":
        group, parts = parts[1], parts[3:]
    else:
        raise ValueError(f"not a resource request: {url}")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource, name, subresource = (parts + ["", "", ""])[:3]
    verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    verb = verb[method.upper()]
    if not name and verb == "get":
        watch = parse_qs(parsed.query).get("watch", [])
        verb = "watch" if watch and watch[0].lower() not in ("false", "0") else "list"
    if not name and verb == "delete":
        verb = "deletecollection"
    request = Request(verb, resource, group, subresource, namespace, name)
    if websocket and resource == "pods" and subresource in WEBSOCKET_SUBRESOURCES:
        return [request, Request("create", resource, group, subresource, namespace, name)]
    return [request]


@dataclass(frozen=True)
class Grant:
    """One rule of a role, bound in `namespace` ("" for a ClusterRoleBinding: every namespace and cluster-wide)."""

    rule: dict
    namespace: str

    def allows(self, request: Request) -> bool:
        if self.namespace and request.namespace != self.namespace:
            return False
        resource = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
        resources = self.rule.get("resources", [])
        names = self.rule.get("resourceNames", [])
        return (
            any(verb in ("*", request.verb) for verb in self.rule.get("verbs", []))
            and any(group in ("*", request.group) for group in self.rule.get("apiGroups", []))
            and any(
                r in ("*", resource) or (request.subresource and r == f"*/{request.subresource}") for r in resources
            )
            and (not names or request.name in names)
        )

    def triples(self) -> Iterator[tuple[str, str, str]]:
        """(verb, group, resource) of every combination the rule lists."""
        for verb in self.rule["verbs"]:
            for group in self.rule["apiGroups"]:
                for resource in self.rule["resources"]:
                    yield verb, group, resource


# system:basic-user (bootstrappolicy/policy.go), bound to every authenticated user by system:basic-user's binding.
BASIC_USER = Grant({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": [
    "selfsubjectaccessreviews", "selfsubjectrulesreviews"]}, "")  # fmt: skip


class Rbac:
    """The deployer's grants: the roles the bindings of `documents` give it, and the bootstrap policy."""

    def __init__(self, documents: Iterable[dict], defaults: bool = True):
        documents = [d for d in documents if d]
        roles = {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d for d in documents}
        self.grants: list[Grant] = [BASIC_USER] if defaults else []
        for binding in (d for d in documents if d["kind"] in ("RoleBinding", "ClusterRoleBinding")):
            namespace = binding["metadata"].get("namespace", "") if binding["kind"] == "RoleBinding" else ""
            ref = binding["roleRef"]
            role_namespace = namespace if ref["kind"] == "Role" else ""
            role = roles.get((ref["kind"], role_namespace, ref["name"]))
            if role is None:
                raise ValueError(f"{binding['kind']} {binding['metadata']['name']}: no {ref['kind']} {ref['name']}")
            self.grants += [Grant(rule, namespace) for rule in role.get("rules", [])]

    @classmethod
    def of_files(cls, *paths: Path, defaults: bool = True) -> Rbac:
        return cls((d for p in paths for d in yaml.safe_load_all(p.read_text())), defaults)

    def allows(self, request: Request) -> bool:
        return any(grant.allows(request) for grant in self.grants)


def pulumi_kubernetes_requests(kind: str, name: str, namespace: str) -> list[Request]:
    """Every request pulumi-kubernetes makes over the life of one declared object (see the module's docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: not in harness/rbac.py KINDS; read its await in pulumi-kubernetes first")
    group, resource, namespaced = KINDS[kind]
    where = namespace if namespaced else ""
    # requestinfo.go: /api/v1/namespaces/<name> is a request in namespace <name> (the only cluster-scoped kind here).
    own = namespace if namespaced else name
    requests = [Request("create", resource, group, namespace=where)]
    requests += [Request(v, resource, group, namespace=own, name=name) for v in OBJECT_VERBS if v != "create"]
    requests += [Request(v, resource, group, namespace=where) for v in INFORMER_VERBS]
    requests += [
        Request(v, watched, namespace=where) for watched in AWAIT_WATCHES.get(kind, ()) for v in INFORMER_VERBS
    ]
    requests += [Request(v, "events", namespace=where) for v in INFORMER_VERBS]
    return requests
