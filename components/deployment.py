"""One deployment in one pass: settings -> topology -> rendered files -> platform -> components -> outputs.

The festival-redis program (__main__.py) deploys one at the top of its stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import connection, render, users
from components.certificates import Certificates, generate_certificates
from components.contract import contract_version
from components.credentials import Credentials, generate_credentials
from components.platform import Platform, certificate_specs, platform_for, topology_for
from components.redis_ha import NodeGroupArgs, RedisMaster, RedisReplicaSet, SentinelQuorum
from components.settings import Settings
from components.topology import Topology


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
    """Declare every resource of one deployment."""
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

    # Each group starts, and rolls out a change, after the group before it in the platform's rollout order.
    groups = {
        "master": (RedisMaster, f"{prefix}-redis-master", (topology.master,)),
        "replica": (RedisReplicaSet, f"{prefix}-redis-replicas", topology.replicas),
        "sentinel": (SentinelQuorum, f"{prefix}-sentinels", topology.sentinels),
    }
    made: dict[str, pulumi.ComponentResource] = {}
    for role in platform.ROLLOUT_ORDER:
        component, name, nodes = groups[role]
        made[role] = component(name, NodeGroupArgs(platform, nodes, after=list(made.values())[-1:]), child)
    master, replicas, sentinels = made["master"], made["replica"], made["sentinel"]

    # A password change is applied to the running nodes (none restarts), then verified like any other change.
    passwords = platform.passwords(f"{prefix}-redis-passwords", [master, replicas, sentinels])
    check = platform.verify(f"{prefix}-replication-check", [master, replicas, sentinels, passwords])
    return Deployment(settings, topology, credentials, platform, check, certificates)
