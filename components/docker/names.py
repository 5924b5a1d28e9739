"""Every name the dev stack gives a Docker object, and the topology those names make. Plain values only.

Containers are festival-redis-master, festival-redis-replica-N and festival-sentinel-N (with the default
prefix), as the platform team's Compose setup named them; nodes reach each other by container name.
"""

from __future__ import annotations

from components.settings import Settings
from components.topology import REDIS_PORT, SENTINEL_PORT, Endpoint, Node, Topology


def network_name(settings: Settings) -> str:
    return f"{settings.name_prefix}-redis-net"


def volume_name(node: Node) -> str:
    return f"{node.name}-data"


def exporter_name(node: Node) -> str:
    """The redis_exporter container beside a node (devExporters)."""
    return f"{node.name}-exporter"


def secrets_volume_name(settings: Settings) -> str:
    return f"{settings.name_prefix}-redis-secrets"


def secrets_holder_name(settings: Settings) -> str:
    """The created-but-never-started container through which the passwords are uploaded."""
    return f"{settings.name_prefix}-redis-secrets"


def debug_ui_name(settings: Settings) -> str:
    return f"{settings.name_prefix}-redis-commander"


def tls_names(settings: Settings, node: Node) -> tuple[str, ...]:
    """Names a node is reached by besides the one it announces (its container name): none; from the host, through
    its published port on 127.0.0.1, which every certificate names (components/tls.py LOCAL_IPS)."""
    return ()


def topology(settings: Settings) -> Topology:
    """Every node listens on the standard port inside the network and publishes its own port on the host, and its
    exporter's with devExporters: the ports of Settings.dev_host_ports, by what uses them."""
    prefix = settings.name_prefix
    ports = settings.dev_host_ports()

    def node(name: str, role: str, port: int, user: str) -> Node:
        return Node(name, role, Endpoint(name, port), ports[user], ports.get(f"exporter of {user}"))

    return Topology(
        master_name=settings.master_name,
        quorum=settings.quorum,
        master=node(f"{prefix}-redis-master", "master", REDIS_PORT, "redis master"),
        replicas=tuple(
            node(f"{prefix}-redis-replica-{i}", "replica", REDIS_PORT, f"redis replica {i}")
            for i in range(1, settings.replica_count + 1)
        ),
        sentinels=tuple(
            node(f"{prefix}-sentinel-{i}", "sentinel", SENTINEL_PORT, f"sentinel {i}")
            for i in range(1, settings.sentinel_count + 1)
        ),
    )
