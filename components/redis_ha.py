"""The reusable ComponentResources: RedisMaster, RedisReplicaSet and SentinelQuorum.

Each validates its args before registering, asks its platform to run its nodes, and exposes the nodes'
announced addresses as outputs that resolve once the nodes exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.platform import NodeGroup, Platform
from components.topology import Node


@dataclass(frozen=True)
class NodeGroupArgs:
    platform: Platform  # knows the deployment's settings, topology, rendered files and credentials
    nodes: tuple[Node, ...]
    after: Sequence[pulumi.Resource] = ()  # components to roll out before this one


class _NodeGroupResource(pulumi.ComponentResource):
    TYPE = ""
    ROLE = ""

    addresses: pulumi.Output[list[str]]
    """The nodes' announced host:port addresses, resolved once every node's resources exist."""

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None):
        self._validate(args)
        super().__init__(self.TYPE, name, None, opts)
        self.nodes = args.nodes
        resources = args.platform.run(self, name, NodeGroup(self.ROLE, args.nodes, tuple(args.after)))
        ids = [resource.id for resource in resources]
        self.addresses = pulumi.Output.all(*ids).apply(lambda _: [str(node.address) for node in args.nodes])
        self.register_outputs({"addresses": self.addresses})

    def _validate(self, args: NodeGroupArgs) -> None:
        wrong = [node.name for node in args.nodes if node.role != self.ROLE]
        if wrong:
            raise ValueError(f"{type(self).__name__} runs {self.ROLE} nodes only, got {', '.join(wrong)}")


class RedisMaster(_NodeGroupResource):
    """The bootstrap master: master at first boot; after a failover, a replica like any other."""

    TYPE = "festival:redis:RedisMaster"
    ROLE = "master"

    def _validate(self, args: NodeGroupArgs) -> None:
        if len(args.nodes) != 1:
            raise ValueError(f"RedisMaster runs exactly one node, got {len(args.nodes)}")
        super()._validate(args)


class RedisReplicaSet(_NodeGroupResource):
    """Replicas of the master; any of them may be promoted by the Sentinels."""

    TYPE = "festival:redis:RedisReplicaSet"
    ROLE = "replica"


class SentinelQuorum(_NodeGroupResource):
    """An odd number of Sentinels watching the master set."""

    TYPE = "festival:redis:SentinelQuorum"
    ROLE = "sentinel"

    def _validate(self, args: NodeGroupArgs) -> None:
        if len(args.nodes) % 2 == 0:
            raise ValueError(f"SentinelQuorum needs an odd number of Sentinels, got {len(args.nodes)}")
        super()._validate(args)
