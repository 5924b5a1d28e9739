"""One deployment in one pass: settings -> topology -> rendered files -> platform -> node groups -> passwords ->
rollout -> check -> outputs (`deploy`: in what order a change reaches the nodes).

The festival-redis program (__main__.py) deploys one at the top of its stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import connection, render, users
from components.certificates import Certificates, generate_certificates
from components.contract import contract_version
from components.credentials import Credentials, generate_credentials
from components.platform import Platform, platform_for
from components.redis_ha import NodeGroupArgs, RedisMaster, RedisReplicaSet, SentinelQuorum
from components.settings import Settings
from components.topology import Topology, certificate_specs, topology_for


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    topology: Topology
    credentials: Credentials
    platform: Platform
    replication_check: pulumi.Output[str]
    certificates: Certificates | None = None

    def outputs(self) -> dict[str, pulumi.Input]:
        """The stack outputs application stacks consume (contract/outputs.yaml): the application users' names and
        passwords, never another user's (docs/security.md: every stack that references this one can read them), and the
        contract's version, whose major an application stack checks."""
        return {
            "contractVersion": contract_version(),
            "masterName": self.settings.master_name,
            "redisUsername": users.APP.name,
            "redisPassword": self.credentials.redis_password,
            "sentinelUsername": users.SENTINEL_CLIENT.name,
            "sentinelPassword": self.credentials.sentinel_password,
            "clientEnv": connection.client_env(
                [str(node.address) for node in self.topology.sentinels],
                self.settings.master_name,
                self.settings.tls_enabled,
            ),
            **self.platform.stack_outputs(),
            **(self._tls_outputs() if self.certificates else {}),
            "replicationCheck": self.replication_check,
        }

    def _tls_outputs(self) -> dict[str, pulumi.Input]:
        """The CA certificates clients verify the nodes with (two while the CA is rotated), and when each certificate
        expires (docs/security.md, "Renewal"; the scheduled certificates workflow reads it)."""
        return {"tlsCaCert": self.certificates.ca_cert, "tlsCertificateExpiry": self.certificates.expiry}


def deploy(settings: Settings) -> Deployment:
    """Declare every resource of one deployment: what the nodes share (the platform), then four steps, each waiting
    for the one before it (depends_on). The platform (Docker on dev, Kubernetes on prod) supplies how each is done.

    The order in which a change reaches the nodes:

    1. The node groups, in the platform's GROUP_ORDER, each after the group before it. What the nodes share (the
       Docker secrets volume, the Kubernetes Secrets) is updated before any group.
       - Docker: the replicas, then the master, then the Sentinels, one container at a time. A changed container is
         deleted (a master hands its role over to a linked replica as it stops) and created anew: this step is the
         rollout. So a change that replaces every Redis node stops the master's container last, after the replicas'
         are back: one hand-over (two when a failover had made a replica's container the master: docs/dev.md).
       - Kubernetes: the master's, the replicas', then the Sentinels' StatefulSet. They update `OnDelete`: this step
         changes the pod templates but replaces no pod.
    2. Apply passwords (RedisPasswords): a changed password reaches the running nodes, every node in turn (master,
       replicas, Sentinels) accepting it, then every node using it. No node restarts.
    3. Roll out.
       - Docker: nothing, step 1 replaced the containers.
       - Kubernetes: RedisRollout replaces the outdated pods one at a time: the Sentinels first, then the Redis pods,
         the replicas first and whichever pod is the master now last (one hand-over). An unready outdated pod goes
         ahead of that order (components/kubernetes/rollout.py).
    4. Verify: the replication check (Docker: from this machine; Kubernetes: a Job in the cluster) fails the update
       when an invariant fails.
    """
    child = pulumi.ResourceOptions()
    topology = topology_for(settings)
    files = render.deployment_files(settings, topology)
    prefix = settings.name_prefix
    credentials = generate_credentials(prefix, settings.password_generation_numbers, child, settings.protects_data)
    certificates = None
    if settings.tls_enabled:
        specs = certificate_specs(settings, topology)
        certificates = generate_certificates(prefix, specs, settings.tls_ca_generation_numbers, child)
    platform = platform_for(settings)(
        f"{prefix}-{settings.platform}", settings, topology, files, credentials, opts=child, certificates=certificates
    )

    groups = _node_groups(prefix, topology, platform, child)
    passwords = platform.apply_passwords(f"{prefix}-redis-passwords", after=groups)
    rollout = platform.roll_out(f"{prefix}-redis-rollout", after=[*groups, passwords])
    check = platform.verify(f"{prefix}-replication-check", after=[*groups, passwords, *rollout])
    return Deployment(settings, topology, credentials, platform, check, certificates)


def _node_groups(
    prefix: str, topology: Topology, platform: Platform, opts: pulumi.ResourceOptions
) -> list[pulumi.ComponentResource]:
    """RedisMaster, RedisReplicaSet and SentinelQuorum, in the platform's GROUP_ORDER, each after the one before."""
    groups = {
        "master": (RedisMaster, f"{prefix}-redis-master", (topology.master,)),
        "replica": (RedisReplicaSet, f"{prefix}-redis-replicas", topology.replicas),
        "sentinel": (SentinelQuorum, f"{prefix}-sentinels", topology.sentinels),
    }
    made: list[pulumi.ComponentResource] = []
    for role in platform.GROUP_ORDER:
        component, name, nodes = groups[role]
        made.append(component(name, NodeGroupArgs(platform, nodes, after=made[-1:]), opts))
    return made
