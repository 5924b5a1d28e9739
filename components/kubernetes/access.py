"""The deployer's access from the program's own code: how RedisRollout and RedisPasswords reach the cluster (the stack's
kubeconfig context, or the pod's service account when `kubeContext` is `in-cluster`), what they will do there, and a
check of exactly that (SelfSubjectAccessReview) before they touch anything.

The published Role, rbac/deployer-role.yaml, grants these and what pulumi-kubernetes needs for the declared
objects (tests/unit/test_access.py holds it against both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from components.settings import IN_CLUSTER

ROLE_FILE = "rbac/deployer-role.yaml"
# Where the kubelet mounts a pod's service account token (kubernetes.config.incluster_config reads the same).
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass(frozen=True)
class Access:
    """One verb on one resource, as the API server authorises a request (RBAC's verb, apiGroup, resource,
    subresource)."""

    verb: str
    resource: str
    group: str = ""
    subresource: str = ""

    def __str__(self) -> str:
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {resource}{'.' + self.group if self.group else ''}"


# kubernetes.stream's exec is a WebSocket: an HTTP GET, authorised as `get` on pods/exec, and since Kubernetes 1.35
# also as `create` (kubernetes/kubernetes#134577, feature gate AuthorizePodWebsocketUpgradeCreatePermission).
EXEC = (Access("get", "pods", subresource="exec"), Access("create", "pods", subresource="exec"))
# A policy/v1 Eviction is a POST on the pod's eviction subresource: `create` on pods/eviction.
EVICT = Access("create", "pods", subresource="eviction")
# RedisRollout (rollout.KubernetesPods): reads the StatefulSets, lists and evicts their pods, runs ROLE by exec.
ROLLOUT_NEEDS = (Access("get", "statefulsets", "apps"), Access("list", "pods"), EVICT, *EXEC)
# RedisPasswords (passwords_resource.KubernetesScripts): runs passwords.sh by exec.
PASSWORDS_NEEDS = EXEC
REVIEW = Access("create", "selfsubjectaccessreviews", "authorization.k8s.io")
# (connect, read) seconds: what bounds each REST call of the program's own code (the client's `_request_timeout`).
API_TIMEOUT = (5, 30)


class AccessDenied(RuntimeError):
    pass


def load_config(context: str) -> None:
    """Point the kubernetes client at the cluster: the kubeconfig context `context`, or the pod's service account."""
    from kubernetes import config

    if context == IN_CLUSTER:
        config.load_incluster_config()
    else:
        config.load_kube_config(context=context)


def in_cluster_problem(environ: Mapping[str, str], home: Path, token: Path) -> str | None:
    """Why `kubeContext: in-cluster` cannot work here (None when it can). pulumi-kubernetes (client-go's deferred
    loading) uses a kubeconfig whenever one exists and falls back to the service account only without one, so a
    kubeconfig here would send the provider somewhere else than the rollout."""
    kubeconfig = environ.get("KUBECONFIG") or (
        str(home / ".kube" / "config") if (home / ".kube/config").exists() else ""
    )
    if kubeconfig:
        return f"a kubeconfig is present ({kubeconfig}): the Kubernetes provider would use it, not the service account"
    if not environ.get("KUBERNETES_SERVICE_HOST") or not token.exists():
        return f"this is not a pod with a service account (no KUBERNETES_SERVICE_HOST or no {token})"
    return None


def require(namespace: str, needs: Sequence[Access], who: str) -> None:
    """Ask the API server whether the current credentials may do each of `needs` in `namespace`; raise AccessDenied
    naming every one that is missing, before anything is done."""
    from kubernetes import client

    api = client.AuthorizationV1Api()
    missing = []
    for need in needs:
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    namespace=namespace,
                    verb=need.verb,
                    group=need.group,
                    resource=need.resource,
                    subresource=need.subresource or None,
                )
            )
        )
        try:
            status = api.create_self_subject_access_review(review, _request_timeout=API_TIMEOUT).status
        except client.ApiException as error:
            if error.status != 403:
                raise
            raise AccessDenied(
                f"{who} cannot check its access: {REVIEW} is refused ({error.reason}); grant {ROLE_FILE}"
            ) from None
        if not status.allowed:
            missing.append((need, f" ({status.reason})" if status.reason else ""))
    if missing:
        raise AccessDenied(
            f"{who} stopped before touching anything: the deployer's credentials lack "
            + ", ".join(f"{need} in namespace {namespace}{reason}" for need, reason in missing)
            + f". Grant the Role {ROLE_FILE} (docs/prod.md, Prerequisites); check with: "
            + "; ".join(_can_i(need, namespace) for need, _ in missing)
        )


def _can_i(need: Access, namespace: str) -> str:
    resource = f"{need.resource}.{need.group}" if need.group else need.resource
    subresource = f" --subresource={need.subresource}" if need.subresource else ""
    return f"kubectl auth can-i {need.verb} {resource}{subresource} -n {namespace}"
