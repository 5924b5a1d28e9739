"""Who is who in a deployment: node names and the stable addresses they announce. Plain values only.

Each platform names its nodes (components/docker/names.py, components/kubernetes/names.py); renderers and
checks only ever see a Topology.
"""

from __future__ import annotations

from dataclasses import dataclass

from components import tls
from components.settings import Settings

REDIS_PORT = 6379
SENTINEL_PORT = 26379
EXPORTER_PORT = 9121  # redis_exporter beside a node: /metrics
ROLES = ("master", "replica", "sentinel")


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
    exporter_host_port: int | None = None  # dev stack with devExporters: its exporter's, on 127.0.0.1


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

    def of_role(self, role: str) -> tuple[Node, ...]:
        return {"master": (self.master,), "replica": self.replicas, "sentinel": self.sentinels}[role]


def _names(settings: Settings):
    """The names module of the platform that `settings` selects (imported here: each imports this module)."""
    if settings.platform == "kubernetes":
        from components.kubernetes import names
    else:
        from components.docker import names
    return names


def topology_for(settings: Settings) -> Topology:
    """The topology of the platform that `settings` selects."""
    return _names(settings).topology(settings)


def certificate_specs(settings: Settings, topology: Topology) -> dict[str, tls.CertSpec]:
    """The certificates a TLS deployment needs, by resource label: one per node, naming every name it is reached by
    on its platform."""
    names = _names(settings)
    return {node.name: tls.node_cert(node.address.host, names.tls_names(settings, node)) for node in topology.nodes}
