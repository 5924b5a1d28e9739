"""What a platform (Docker, Kubernetes) must do for the components, and which platform runs a stack.

A component never asks which platform it is on: it holds a Platform that knows how to run its nodes. A
platform is itself a ComponentResource whose children are what its nodes share (a network, a namespace, a
Secret); it is given everything it needs when it is made: settings, topology, rendered files, credentials.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components import passwords, tls
from components.certificates import Certificates
from components.credentials import Credentials
from components.passwords_resource import RedisPasswords
from components.render import DeploymentFiles
from components.settings import Settings
from components.topology import Node, Topology


@dataclass(frozen=True)
class NodeGroup:
    """Nodes of one role. `after`: the components to roll out before these (Platform.ROLLOUT_ORDER)."""

    role: str  # "master", "replica" or "sentinel"
    nodes: tuple[Node, ...]
    after: Sequence[pulumi.Resource] = ()


class Platform(pulumi.ComponentResource):
    TYPE = ""
    # The roles of the node groups in the order they start and roll out a change, each group after the one before
    # it (components/deployment.py composes them so).
    ROLLOUT_ORDER: tuple[str, ...] = ()

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
        """Declare the resources that run `group` with its role's rendered files, parented to `owner` and named
        after `name`. Returns the resources whose existence means the nodes run (containers, a StatefulSet)."""
        raise NotImplementedError

    def passwords(self, name: str, groups: Sequence[pulumi.ComponentResource]) -> pulumi.Resource:
        """Declare RedisPasswords: after every resource of `groups` exists, a change of the passwords is applied to
        the running nodes (components/passwords.py), which it never restarts."""
        files = self.credentials.secret_files()
        fingerprint = pulumi.Output.all(*files.values()).apply(
            lambda values: passwords.fingerprint(dict(zip(files, values)))
        )
        return RedisPasswords(
            name,
            nodes=[node.name for node in self.topology.nodes],
            fingerprint=fingerprint,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(groups)),
            **self._script_target(),
        )

    def _script_target(self) -> dict[str, pulumi.Input]:
        """How RedisPasswords reaches a node (its `platform`, and what that platform needs)."""
        raise NotImplementedError

    def verify(self, name: str, groups: Sequence[pulumi.Resource]) -> pulumi.Output[str]:
        """Declare the post-deploy replication check, run after every resource of `groups` exists.

        It fails the update when an invariant fails; returns its result summary for the stack outputs.
        """
        raise NotImplementedError

    def stack_outputs(self) -> dict[str, pulumi.Input]:
        """The platform's part of the stack outputs (endpoints, connection environment, ...)."""
        raise NotImplementedError


def _names(settings: Settings):
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


def platform_for(settings: Settings) -> type[Platform]:
    if settings.platform == "kubernetes":
        from components.kubernetes import KubernetesPlatform as platform
    else:
        from components.docker import DockerPlatform as platform
    return platform
