"""Who is who in a deployment: node names and the stable addresses they announce. Plain values only.

A platform decides the names (Docker container names, Kubernetes pod DNS names, loopback ports in
tests); renderers and checks only ever see a Topology.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.settings import Settings

REDIS_PORT = 6379
SENTINEL_PORT = 26379


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Node:
    name: str  # container or pod name
    role: str  # bootstrap role: "master", "replica" or "sentinel"
    address: Endpoint  # the stable address it announces, as seen inside the network
    host_port: int | None = None  # dev stack: the port published on 127.0.0.1


@dataclass(frozen=True)
class Topology:
    master_name: str
    quorum: int
    master: Node
    replicas: tuple[Node, ...]
    sentinels: tuple[Node, ...]

    @property
    def redis_nodes(self) -> tuple[Node, ...]:
        return (self.master, *self.replicas)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return (*self.redis_nodes, *self.sentinels)


def docker_topology(settings: Settings) -> Topology:
    """Container names as in the seed; every node listens on the standard port inside the network."""
    prefix = settings.name_prefix

    def node(name: str, role: str, port: int, host_port: int) -> Node:
        return Node(name, role, Endpoint(name, port), host_port)

    return Topology(
        master_name=settings.master_name,
        quorum=settings.quorum,
        master=node(f"{prefix}-redis-master", "master", REDIS_PORT, settings.dev_redis_port),
        replicas=tuple(
            node(f"{prefix}-redis-replica-{i}", "replica", REDIS_PORT, settings.dev_redis_port + i)
            for i in range(1, settings.replica_count + 1)
        ),
        sentinels=tuple(
            node(f"{prefix}-sentinel-{i}", "sentinel", SENTINEL_PORT, settings.dev_sentinel_port + i - 1)
            for i in range(1, settings.sentinel_count + 1)
        ),
    )


# Kubernetes object names, as in the seed (pods redis-master-0, redis-sentinel-0, ...).
K8S_NAMES = {"master": "redis-master", "replica": "redis-replica", "sentinel": "redis-sentinel"}


def headless_service(role: str) -> str:
    return f"{K8S_NAMES[role]}-headless"


def cluster_host(name: str, namespace: str) -> str:
    """The in-cluster DNS name of a Service (or of `pod.headless-service`) in a namespace."""
    return f"{name}.{namespace}.svc.cluster.local"


def kubernetes_topology(settings: Settings) -> Topology:
    """Pod DNS names through each StatefulSet's headless Service."""

    def node(role: str, ordinal: int, port: int) -> Node:
        pod = f"{K8S_NAMES[role]}-{ordinal}"
        return Node(pod, role, Endpoint(cluster_host(f"{pod}.{headless_service(role)}", settings.namespace), port))

    return Topology(
        master_name=settings.master_name,
        quorum=settings.quorum,
        master=node("master", 0, REDIS_PORT),
        replicas=tuple(node("replica", i, REDIS_PORT) for i in range(settings.replica_count)),
        sentinels=tuple(node("sentinel", i, SENTINEL_PORT) for i in range(settings.sentinel_count)),
    )


def loopback_topology(settings: Settings, redis_ports: list[int], sentinel_ports: list[int]) -> Topology:
    """Every node on 127.0.0.1 with its own port: how the tests run the rendered artifacts for real."""
    if len(redis_ports) != settings.replica_count + 1 or len(sentinel_ports) != settings.sentinel_count:
        raise ValueError("one port per Redis node and per Sentinel")

    def node(name: str, role: str, port: int) -> Node:
        return Node(name, role, Endpoint("127.0.0.1", port))

    return Topology(
        master_name=settings.master_name,
        quorum=settings.quorum,
        master=node("redis-master", "master", redis_ports[0]),
        replicas=tuple(node(f"redis-replica-{i}", "replica", p) for i, p in enumerate(redis_ports[1:], 1)),
        sentinels=tuple(node(f"sentinel-{i}", "sentinel", p) for i, p in enumerate(sentinel_ports, 1)),
    )
