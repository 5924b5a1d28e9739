"""What a platform (Docker, Kubernetes) must do for the components, and which platform runs a stack.

A component never asks which platform it is on: it holds a Platform that knows how to run its nodes. A
platform is itself a ComponentResource whose children are what its nodes share (a network, a namespace, a
Secret); it is given everything it needs when it is made: settings, topology, rendered files, credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components import passwords
from components.certificates import Certificates
from components.credentials import Credentials
from components.passwords_resource import RedisPasswords
from components.render import DeploymentFiles
from components.settings import Settings
from components.topology import Node, Topology


@dataclass(frozen=True)
class NodeGroup:
    """Nodes of one role. `after`: the groups declared before this one (Platform.GROUP_ORDER), which its resources
    wait for."""

    role: str  # "master", "replica" or "sentinel"
    nodes: tuple[Node, ...]
    after: Sequence[pulumi.Resource] = ()


class Platform(pulumi.ComponentResource):
    """Supplies each step of a deployment (components/deployment.py `deploy`): `run` a node group, `apply_passwords`,
    `roll_out`, `verify`."""

    TYPE = ""
    # The roles of the node groups in the order they are declared, each group's resources waiting for the group before
    # it (depends_on): the order they start in on a new stack. Each platform says what else it orders.
    GROUP_ORDER: tuple[str, ...] = ()

    def __init__(
        self,
        name: str,
        settings: Settings,
        topology: Topology,
        files: DeploymentFiles,
        credentials: Credentials,
        opts: pulumi.ResourceOptions | None = None,
        certificates: Certificates | None = None,
    ):
        """`certificates`: with TLS on, what the nodes' secrets directory holds besides the passwords."""
        super().__init__(self.TYPE, name, None, opts)
        self.settings, self.topology, self.files, self.credentials = settings, topology, files, credentials
        self.certificates = certificates
        self.register_outputs(self._declare_shared(name))

    def _declare_shared(self, name: str) -> dict[str, pulumi.Input]:
        """Declare what the nodes share (children of this component); returns the outputs to register."""
        raise NotImplementedError

    def run(self, owner: pulumi.Resource, name: str, group: NodeGroup) -> list[pulumi.Resource]:
        """Step 1, once per group: declare the resources that run `group` with its role's rendered files, parented to
        `owner` and named after `name`. Returns the resources whose existence means the nodes run (containers, a
        StatefulSet)."""
        raise NotImplementedError

    def apply_passwords(self, name: str, after: Sequence[pulumi.Resource]) -> pulumi.Resource:
        """Step 2: declare RedisPasswords, which, once every resource of `after` exists, applies a change of the
        passwords to the running nodes (components/passwords.py), which it never restarts. The platform supplies how
        it reaches a node (`_script_target`)."""
        files = self.credentials.secret_files()
        fingerprint = pulumi.Output.all(*files.values()).apply(
            lambda values: passwords.fingerprint(dict(zip(files, values)))
        )
        return RedisPasswords(
            name,
            nodes=[node.name for node in self.topology.nodes],
            fingerprint=fingerprint,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
            **self._script_target(),
        )

    def _script_target(self) -> dict[str, pulumi.Input]:
        """How RedisPasswords reaches a node (its `platform`, and what that platform needs)."""
        raise NotImplementedError

    def roll_out(self, name: str, after: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
        """Step 3: declare what replaces the nodes that step 1 left outdated, once every resource of `after` exists.
        Returns what the check waits for (none when step 1 replaced them already)."""
        raise NotImplementedError

    def verify(self, name: str, after: Sequence[pulumi.Resource]) -> pulumi.Output[str]:
        """Step 4: declare the post-deploy replication check, run once every resource of `after` exists.

        It fails the update when an invariant fails; returns its result summary for the stack outputs.
        """
        raise NotImplementedError

    def stack_outputs(self) -> dict[str, pulumi.Input]:
        """The platform's part of the stack outputs (endpoints, connection environment, ...)."""
        raise NotImplementedError


def platform_for(settings: Settings) -> type[Platform]:
    if settings.platform == "kubernetes":
        from components.kubernetes.platform import KubernetesPlatform as platform
    else:
        from components.docker.platform import DockerPlatform as platform
    return platform
