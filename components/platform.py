"""What a platform (Docker, Kubernetes) must do for the components: run a group of nodes.

A component never asks which platform it is on (DESIGN: one direction of flow). A platform is itself a
ComponentResource whose children are what its nodes share (a network, a namespace, a Secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.settings import Settings
from components.topology import Node, Topology


@dataclass(frozen=True)
class NodeGroup:
    """Nodes of one role that run with the same files (mounted under render.CONF_DIR)."""

    role: str  # "master", "replica" or "sentinel"
    nodes: tuple[Node, ...]
    files: Mapping[str, str]


@dataclass(frozen=True)
class Credentials:
    """The generated passwords, as Pulumi secrets."""

    redis_password: pulumi.Output[str]
    sentinel_password: pulumi.Output[str]
    debug_ui_password: pulumi.Output[str]


class Platform(pulumi.ComponentResource):
    settings: Settings
    topology: Topology

    def run(self, owner: pulumi.Resource, name: str, group: NodeGroup) -> list[pulumi.Resource]:
        """Declare the resources that run `group`, parented to `owner` and named after `name`.

        Returns the resources whose existence means the nodes run (containers, a StatefulSet).
        """
        raise NotImplementedError

    def verify(self, name: str, groups: list[pulumi.ComponentResource]) -> pulumi.Output[str]:
        """Declare the post-deploy replication check, run after every resource of `groups` exists.

        It fails the update when an invariant fails; returns its result summary for the stack outputs.
        """
        raise NotImplementedError

    def stack_outputs(self) -> dict[str, pulumi.Input]:
        """The platform's part of the stack outputs (endpoints, connection environment, ...)."""
        raise NotImplementedError
