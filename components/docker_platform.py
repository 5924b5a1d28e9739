"""The dev stack's platform: every node is a container on one user-defined bridge network of a local Docker.

Containers are named as in the seed and reach each other by name on the network; each publishes its port on
127.0.0.1 only. Rendered configs, scripts and the passwords are uploaded into the containers as files, so no
password is ever in a container's environment, command line or labels.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.checks.resource import ReplicationCheck, ReplicationCheckArgs
from components.platform import Credentials, NodeGroup, Platform
from components.render import CONF_DIR, DATA_DIR, REDIS_PASSWORD_KEY, SECRETS_DIR, SENTINEL_PASSWORD_KEY
from components.settings import Settings
from components.topology import Node, docker_topology

LOOPBACK = "127.0.0.1"
# Nodes run as the official redis image's `redis` user (uid and gid 999), not as root. They can read their
# uploads, the 0400 password files included, because the uploads are owned by that user: pulumi-docker v5 writes
# the upload's owner/group into the archive it copies in, and Docker keeps an archive's ownership when copying into
# a container. /data stays writable: a new named volume takes the image's /data with its owner, redis.
REDIS_UID = "999"
REDIS_USER = f"{REDIS_UID}:{REDIS_UID}"
SENTINEL_MEMORY_MB = 64
HEALTHCHECK_INTERVAL = "10s"
HEALTHCHECK_TIMEOUT = "5s"  # a probe makes up to two redis-cli calls of render.CLI_TIMEOUT_SECONDS each
HEALTHCHECK_RETRIES = 3

DEBUG_UI_USER = "festival-admin"
DEBUG_UI_PORT = 8081  # Redis Commander's port inside its container
DEBUG_UI_MEMORY_MB = 256
DEBUG_UI_UID = "1000"  # the Redis Commander image's user; its primary group is root (gid 0)
# Redis Commander (node-config) reads local-<NODE_ENV>-<NODE_APP_INSTANCE>.json after the local-production.json
# its entrypoint writes, so this file's connections and HTTP login win. Its *_PASSWORD_FILE variables are not
# used: the entrypoint passes those passwords to node on the command line.
DEBUG_UI_CONFIG = "/redis-commander/config/local-production-docker.json"


@dataclass(frozen=True)
class _Role:
    """How a node of one role runs."""

    entrypoint: str  # a file of the group's rendered files
    probe: str  # a probe.sh check
    memory_mb: int
    start_period: str  # time to boot before failed healthchecks count


class DockerPlatform(Platform):
    def __init__(
        self, name: str, settings: Settings, credentials: Credentials, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("festival:docker:Platform", name, None, opts)
        self.settings = settings
        self.topology = docker_topology(settings)
        self.credentials = credentials
        children = pulumi.ResourceOptions(parent=self)
        prefix = settings.name_prefix

        self.network = docker.Network(f"{name}-network", name=f"{prefix}-redis-net", driver="bridge", opts=children)
        self.image = docker.RemoteImage(
            f"{name}-redis-image", name=settings.redis_image, keep_locally=True, opts=children
        )
        self.debug_ui = self._debug_ui(name, children) if settings.debug_ui else None
        self.register_outputs({"network": self.network.name})

    def run(self, owner: pulumi.Resource, name: str, group: NodeGroup) -> list[pulumi.Resource]:
        role = self._role(group.role)
        return [self._container(owner, name, node, group, role) for node in group.nodes]

    def verify(self, name: str, groups: list[pulumi.ComponentResource]) -> pulumi.Output[str]:
        topology = self.topology
        check = ReplicationCheck(
            name,
            ReplicationCheckArgs(
                master_name=topology.master_name,
                redis_nodes=[str(node.address) for node in topology.redis_nodes],
                sentinels=[str(node.address) for node in topology.sentinels],
                nat_map={str(node.address): _host_endpoint(node) for node in topology.nodes},
                redis_password=self.credentials.redis_password,
                sentinel_password=self.credentials.sentinel_password,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=groups),
        )
        return check.summary

    def stack_outputs(self) -> dict[str, pulumi.Input]:
        topology, settings = self.topology, self.settings
        first_sentinel = topology.sentinels[0]
        outputs: dict[str, pulumi.Input] = {
            "networkName": self.network.name,
            "bootstrapMasterEndpoint": str(topology.master.address),
            "bootstrapMasterHostEndpoint": _host_endpoint(topology.master),
            "replicaEndpoints": [str(node.address) for node in topology.replicas],
            "replicaHostEndpoints": [_host_endpoint(node) for node in topology.replicas],
            "sentinelEndpoints": [str(node.address) for node in topology.sentinels],
            "sentinelHostEndpoints": [_host_endpoint(node) for node in topology.sentinels],
            # ioredis' natMap: a Sentinel-aware client on the host maps announced names to published ports.
            "natMap": {str(node.address): {"host": LOOPBACK, "port": node.host_port} for node in topology.nodes},
            "connectionEnv": _connection_env(first_sentinel.address.host, first_sentinel.address.port, settings),
            "hostConnectionEnv": _connection_env(LOOPBACK, first_sentinel.host_port, settings),
        }
        if settings.debug_ui:
            outputs["debugUiUrl"] = f"http://{LOOPBACK}:{settings.debug_ui_port}"
            outputs["debugUiUser"] = DEBUG_UI_USER
            outputs["debugUiPassword"] = pulumi.Output.secret(self.credentials.debug_ui_password)
        return outputs

    def _role(self, role: str) -> _Role:
        if role == "sentinel":
            return _Role("sentinel-entrypoint.sh", "sentinel-ready", SENTINEL_MEMORY_MB, "30s")
        memory_mb = math.ceil(self.settings.redis_memory_limit_bytes / 1024**2)
        # A Redis node with data may wait role_wait_seconds at boot for the Sentinels, then sync from its master.
        return _Role("redis-entrypoint.sh", "redis-ready", memory_mb, f"{self.settings.role_wait_seconds + 60}s")

    def _container(self, owner: pulumi.Resource, name: str, node: Node, group: NodeGroup, role: _Role):
        opts = pulumi.ResourceOptions(parent=owner)
        volume = docker.Volume(f"{name}-{node.name}-data", name=f"{node.name}-data", opts=opts)
        return docker.Container(
            f"{name}-{node.name}",
            name=node.name,
            hostname=node.name,
            image=self.image.image_id,
            user=REDIS_USER,
            entrypoints=["sh", f"{CONF_DIR}/{role.entrypoint}"],
            envs=[f"FESTIVAL_NODE_HOST={node.name}", f"FESTIVAL_NODE_PORT={node.address.port}"],
            uploads=[*(_conf_upload(file, text) for file, text in group.files.items()), *self._secret_uploads()],
            volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_DIR)],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[node.name])],
            ports=[docker.ContainerPortArgs(internal=node.address.port, external=node.host_port, ip=LOOPBACK)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "sh", f"{CONF_DIR}/probe.sh", role.probe],
                interval=HEALTHCHECK_INTERVAL,
                timeout=HEALTHCHECK_TIMEOUT,
                retries=HEALTHCHECK_RETRIES,
                start_period=role.start_period,
            ),
            restart="unless-stopped",
            memory=role.memory_mb,
            opts=opts,
        )

    def _secret_uploads(self) -> list[docker.ContainerUploadArgs]:
        """Both passwords on every node: Sentinels authenticate to Redis, Redis nodes ask the Sentinels at boot."""
        return [
            docker.ContainerUploadArgs(
                file=f"{SECRETS_DIR}/{key}",
                content=pulumi.Output.secret(password),
                owner=REDIS_UID,
                group=REDIS_UID,
                permissions="0400",
            )
            for key, password in (
                (REDIS_PASSWORD_KEY, self.credentials.redis_password),
                (SENTINEL_PASSWORD_KEY, self.credentials.sentinel_password),
            )
        ]

    def _debug_ui(self, name: str, children: pulumi.ResourceOptions) -> docker.Container:
        """Redis Commander on 127.0.0.1, logging in with generated credentials and finding the master via Sentinel."""
        settings, credentials = self.settings, self.credentials
        image = docker.RemoteImage(
            f"{name}-debug-ui-image", name=settings.debug_ui_image, keep_locally=True, opts=children
        )
        config = pulumi.Output.all(
            credentials.redis_password, credentials.sentinel_password, credentials.debug_ui_password
        ).apply(
            lambda passwords: json.dumps(
                {
                    "noSave": True,
                    "server": {"httpAuth": {"username": DEBUG_UI_USER, "password": passwords[2]}},
                    "connections": [
                        {
                            "label": settings.master_name,
                            "sentinels": [str(node.address) for node in self.topology.sentinels],
                            "sentinelName": settings.master_name,
                            "password": passwords[0],
                            "sentinelPassword": passwords[1],
                            "dbIndex": 0,
                        }
                    ],
                },
                indent=2,
            )
        )
        return docker.Container(
            f"{name}-debug-ui",
            name=f"{settings.name_prefix}-redis-commander",
            hostname=f"{settings.name_prefix}-redis-commander",
            image=image.image_id,
            envs=["NODE_APP_INSTANCE=docker"],
            uploads=[
                docker.ContainerUploadArgs(
                    file=DEBUG_UI_CONFIG,
                    content=pulumi.Output.secret(config),
                    owner=DEBUG_UI_UID,
                    group="0",
                    permissions="0440",
                )
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name)],
            ports=[docker.ContainerPortArgs(internal=DEBUG_UI_PORT, external=settings.debug_ui_port, ip=LOOPBACK)],
            restart="unless-stopped",
            memory=DEBUG_UI_MEMORY_MB,
            opts=children,
        )


def _conf_upload(file: str, text: str) -> docker.ContainerUploadArgs:
    executable = file.endswith(".sh")
    return docker.ContainerUploadArgs(
        file=f"{CONF_DIR}/{file}",
        content=text,
        executable=executable,
        owner=REDIS_UID,
        group=REDIS_UID,
        permissions="0555" if executable else "0444",
    )


def _host_endpoint(node: Node) -> str:
    return f"{LOOPBACK}:{node.host_port}"


def _connection_env(host: str, port: int, settings: Settings) -> dict[str, str]:
    """The seed's application environment (REDIS_PASSWORD comes from the secret redisPassword output)."""
    return {"REDIS_SENTINEL_HOST": host, "REDIS_SENTINEL_PORT": str(port), "REDIS_MASTER_NAME": settings.master_name}
