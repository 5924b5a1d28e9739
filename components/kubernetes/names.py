"""Every name the prod stack gives a Kubernetes object, every DNS name, and the topology they make.

Plain values only. Namespace `festival`, Secret `redis-secret`, StatefulSets (and so pods) `redis-master`,
`redis-replica`, `redis-sentinel`, the Sentinel Service `redis-sentinel:26379`: the names the platform
team's Kubernetes YAML used, which applications already know.
"""

from __future__ import annotations

from components.settings import Settings
from components.topology import REDIS_PORT, SENTINEL_PORT, Endpoint, Node, Topology

WORKLOADS = {"master": "redis-master", "replica": "redis-replica", "sentinel": "redis-sentinel", "check": "redis-check"}
SECRET_NAME = "redis-secret"  # the application users' passwords: what application pods may read
NODES_SECRET_NAME = "redis-users"  # every user's password: mounted by the Redis, Sentinel and check pods only
EXPORTER_SECRET_NAME = "redis-exporter-auth"  # redis_exporter's --redis.password-file is JSON: {uri: password}
SENTINEL_SERVICE_NAME = WORKLOADS["sentinel"]
REPLICA_SERVICE_NAME = WORKLOADS["replica"]
CHECK_APP = WORKLOADS["check"]


def workload_name(role: str) -> str:
    """The StatefulSet (pods <name>-N) of a role, or the check Job's prefix."""
    return WORKLOADS[role]


def headless_service_name(role: str) -> str:
    return f"{WORKLOADS[role]}-headless"


def config_map_name(role: str, content_sum: str) -> str:
    """Immutable ConfigMaps are named after their content: a change makes a new one that rolled pods mount."""
    return f"{workload_name(role)}-config-{content_sum[:10]}"


def check_job_name(content_sum: str) -> str:
    return f"{CHECK_APP}-{content_sum[:10]}"


def cluster_host(settings: Settings, name: str) -> str:
    """The in-cluster DNS name of a Service (or of `pod.headless-service`) in the deployment's namespace, under the
    cluster's DNS domain (clusterDomain)."""
    return f"{name}.{settings.namespace}.svc.{settings.cluster_domain}"


def pod_host(settings: Settings, role: str, pod: str) -> str:
    """A pod's stable DNS name through its StatefulSet's headless Service."""
    return cluster_host(settings, f"{pod}.{headless_service_name(role)}")


def pod_host_template(settings: Settings, role: str) -> str:
    """pod_host with Kubernetes' $(POD_NAME) expansion: one env value serves every pod of a StatefulSet."""
    return pod_host(settings, role, "$(POD_NAME)")


def sentinel_host(settings: Settings) -> str:
    return cluster_host(settings, SENTINEL_SERVICE_NAME)


def replica_host(settings: Settings) -> str:
    return cluster_host(settings, REPLICA_SERVICE_NAME)


def tls_names(settings: Settings, node: Node) -> tuple[str, ...]:
    """Every name a node is reached by besides the one it announces: the shorter forms of its pod name, and its
    role's Service (the Sentinels', or the replicas' read Service for any Redis pod: roles change)."""
    role = "sentinel" if node.role == "sentinel" else "replica"
    pod = f"{node.name}.{headless_service_name(node.role)}"
    service = WORKLOADS[role]
    names = []
    for base in (pod, service):
        names += [base, f"{base}.{settings.namespace}", f"{base}.{settings.namespace}.svc"]
    return (*names, cluster_host(settings, service))


def topology(settings: Settings) -> Topology:
    """Pods named <workload>-<ordinal>, each announcing its DNS name through the headless Service."""

    def node(role: str, ordinal: int, port: int) -> Node:
        pod = f"{workload_name(role)}-{ordinal}"
        return Node(pod, role, Endpoint(pod_host(settings, role, pod), port))

    return Topology(
        master_name=settings.master_name,
        quorum=settings.quorum,
        master=node("master", 0, REDIS_PORT),
        replicas=tuple(node("replica", i, REDIS_PORT) for i in range(settings.replica_count)),
        sentinels=tuple(node("sentinel", i, SENTINEL_PORT) for i in range(settings.sentinel_count)),
    )
