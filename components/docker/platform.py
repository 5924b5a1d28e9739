"""DockerPlatform: every node is a container on one user-defined bridge network of a local Docker.

Containers reach each other by name on the network; each publishes its port on 127.0.0.1 only. Rendered
configs and scripts are uploaded into each node container as plain files, so `pulumi preview --diff` shows
every configuration change. The passwords are uploaded once, into a secrets volume, through a container that
is created but never started; the nodes mount that volume read-only. So no password is ever in a container's
environment, command line or labels, and only the secrets container's uploads are secret in a diff (pulumi-docker
marks a whole list secret when one element is).

Every container has a fixed name and most publish fixed host ports, so a replacement must delete the old one
before creating the new one. pulumi-docker defaults to that, but `pulumi up --replace`, `replace_on_changes` and a
provider change lose the default; delete_before_replace is therefore explicit on every container.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import pulumi
import pulumi_docker as docker

from components import render, tls, users
from components.checks.observe import Target, nat_addresses
from components.checks.resource import ReplicationCheck
from components.docker import debug_ui, names
from components.platform import NodeGroup, Platform
from components.render import (
    CONF_DIR,
    DATA_DIR,
    REDIS_UID,
    SECRETS_DIR,
)
from components.settings import Settings
from components.topology import EXPORTER_PORT, Node, Topology

LOOPBACK = "127.0.0.1"
# Nodes run as the official redis image's `redis` user (REDIS_UID), not as root. They can read their uploads, the
# 0400 password files included, because the uploads are owned by that user: pulumi-docker v5 writes the upload's
# owner/group into the archive it copies in, and Docker keeps an archive's ownership when copying into a container.
# /data stays writable: a new named volume takes the image's /data with its owner, redis.
REDIS_OWNER = str(REDIS_UID)  # an upload's owner and group, as pulumi-docker takes them
REDIS_USER = f"{REDIS_UID}:{REDIS_UID}"
SENTINEL_MEMORY_MB = 64
HEALTHCHECK_INTERVAL = "10s"
HEALTHCHECK_TIMEOUT = "5s"  # a probe makes up to two redis-cli calls of render.CLI_TIMEOUT_SECONDS each
HEALTHCHECK_RETRIES = 3
ENTRYPOINTS = {"master": "redis-entrypoint.sh", "replica": "redis-entrypoint.sh", "sentinel": "sentinel-entrypoint.sh"}
READY_CHECKS = {"master": "redis-ready", "replica": "redis-ready", "sentinel": "sentinel-ready"}
EXPORTER_MEMORY_MB = 64
EXPORTER_AUTH_KEY = "exporter-auth.json"  # in the secrets volume: redis_exporter's --redis.password-file


class DockerPlatform(Platform):
    TYPE = "festival:docker:Platform"
    # Every container waits for the one before it (depends_on): the replicas one at a time, then the master, then the
    # Sentinels one at a time. The engine creates or replaces a resource only after those it depends on are done, so
    # a change that replaces every Redis node stops the master last, when a replaced replica has resynced and can take
    # its role over (prestop.sh): one hand-over; and the Sentinels, which resolve the master's name at boot, start
    # after it exists. A replica created first waits for its master's name to resolve (Redis retries every second).
    GROUP_ORDER = ("replica", "master", "sentinel")

    def _declare_shared(self, name: str) -> dict[str, pulumi.Input]:
        settings = self.settings
        children = pulumi.ResourceOptions(parent=self)
        self.network = docker.Network(
            f"{name}-network", name=names.network_name(settings), driver="bridge", opts=children
        )
        self.image = docker.RemoteImage(
            f"{name}-redis-image", name=settings.redis_image, keep_locally=True, opts=children
        )
        self.secrets_volume = docker.Volume(f"{name}-secrets", name=names.secrets_volume_name(settings), opts=children)
        self.secrets = self._secrets_holder(name)
        self.debug_ui = self._debug_ui(name, children) if settings.debug_ui else None
        self.exporter_image = (
            docker.RemoteImage(f"{name}-exporter-image", name=settings.exporter_image, keep_locally=True, opts=children)
            if settings.dev_exporters
            else None
        )
        return {"network": self.network.name}

    def run(self, owner: pulumi.Resource, name: str, group: NodeGroup) -> list[pulumi.Resource]:
        containers: list[docker.Container] = []
        for node in group.nodes:  # each after the groups `after` and the node before it (GROUP_ORDER)
            containers.append(self._container(owner, name, node, group.role, [*group.after, *containers[-1:]]))
        if self.settings.dev_exporters:
            containers += [
                self._exporter(owner, name, node, container) for node, container in zip(group.nodes, containers)
            ]
        return containers

    def _script_target(self) -> dict[str, pulumi.Input]:
        return {"platform": "docker"}  # docker exec into the container named like the node

    def roll_out(self, name: str, after: Sequence[pulumi.Resource]) -> list[pulumi.Resource]:
        """Nothing: pulumi-docker replaces a changed container in step 1, in dependency order (GROUP_ORDER)."""
        return []

    def verify(self, name: str, after: Sequence[pulumi.Resource]) -> pulumi.Output[str]:
        target = Target.for_deployment(
            self.settings,
            self.topology,
            self.credentials.redis_admin_password,
            self.credentials.sentinel_admin_password,
            nat_map=nat_addresses(_nat_map(self.topology)),
            tls_ca_cert=self.certificates.ca_cert if self.certificates else "",
        )
        check = ReplicationCheck(name, target, opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)))
        return check.summary

    def stack_outputs(self) -> dict[str, pulumi.Input]:
        settings, topology = self.settings, self.topology
        first_sentinel = topology.sentinels[0]
        outputs: dict[str, pulumi.Input] = {
            "networkName": self.network.name,
            "bootstrapMasterEndpoint": str(topology.master.address),
            "bootstrapMasterHostEndpoint": _host_endpoint(topology.master),
            "replicaEndpoints": [str(node.address) for node in topology.replicas],
            "replicaHostEndpoints": [_host_endpoint(node) for node in topology.replicas],
            "sentinelEndpoints": [str(node.address) for node in topology.sentinels],
            "sentinelHostEndpoints": [_host_endpoint(node) for node in topology.sentinels],
            "natMap": _nat_map(topology),
            "connectionEnv": _connection_env(first_sentinel.address.host, first_sentinel.address.port, settings),
            "hostConnectionEnv": _connection_env(LOOPBACK, first_sentinel.host_port, settings),
        }
        if settings.dev_exporters:
            outputs["metricsEndpoints"] = {
                node.name: f"http://{LOOPBACK}:{node.exporter_host_port}/metrics" for node in topology.nodes
            }
        if settings.debug_ui:
            outputs["debugUiUrl"] = f"http://{LOOPBACK}:{settings.debug_ui_port}"
            outputs["debugUiUser"] = debug_ui.USER
            outputs["debugUiPassword"] = pulumi.Output.secret(self.credentials.debug_ui_password)
        return outputs

    def _container(
        self, owner: pulumi.Resource, name: str, node: Node, role: str, after: Sequence[pulumi.Resource]
    ) -> docker.Container:
        opts = pulumi.ResourceOptions(parent=owner)
        # A plain depends_on orders the steps and never causes a replacement (no input depends on it). A replaced or
        # deleted master hands its role over when it is stopped.
        replace = pulumi.ResourceOptions(delete_before_replace=True, depends_on=[self.secrets, *after])
        # devKeepVolumes: `pulumi destroy` forgets the data volume instead of deleting it; the next deploy of the
        # stack creates a volume of the same name, which Docker hands back with its data.
        volume_opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(retain_on_delete=self.settings.dev_keep_volumes)
        )
        volume = docker.Volume(f"{name}-{node.name}-data", name=names.volume_name(node), opts=volume_opts)
        settings = self.settings
        sentinel = role == "sentinel"
        memory_mb = SENTINEL_MEMORY_MB if sentinel else math.ceil(settings.redis_memory_limit_bytes / 1024**2)
        grace = render.SENTINEL_STOP_GRACE_SECONDS if sentinel else render.REDIS_STOP_GRACE_SECONDS
        files = self.files.for_role(role)
        return docker.Container(
            f"{name}-{node.name}",
            name=node.name,
            hostname=node.name,
            image=self.image.image_id,
            user=REDIS_USER,
            entrypoints=["sh", f"{CONF_DIR}/{ENTRYPOINTS[role]}"],
            envs=[f"FESTIVAL_NODE_HOST={node.name}", f"FESTIVAL_NODE_PORT={node.address.port}"],
            uploads=[_conf_upload(file, text) for file, text in files.items()],
            volumes=[
                docker.ContainerVolumeArgs(volume_name=volume.name, container_path=DATA_DIR),
                docker.ContainerVolumeArgs(
                    volume_name=self.secrets_volume.name, container_path=SECRETS_DIR, read_only=True
                ),
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[node.name])],
            ports=[docker.ContainerPortArgs(internal=node.address.port, external=node.host_port, ip=LOOPBACK)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "sh", f"{CONF_DIR}/probe.sh", READY_CHECKS[role]],
                interval=HEALTHCHECK_INTERVAL,
                timeout=HEALTHCHECK_TIMEOUT,
                retries=HEALTHCHECK_RETRIES,
                start_period=f"{settings.boot_allowance_seconds(role)}s",
            ),
            restart="unless-stopped",
            memory=memory_mb,
            # SIGTERM, then this long to hand over and save before SIGKILL: on `docker stop` (stop_timeout) and
            # when pulumi-docker replaces or deletes the container (destroy_grace_seconds; else it kills at once).
            stop_timeout=grace,
            destroy_grace_seconds=grace,
            opts=pulumi.ResourceOptions.merge(opts, replace),
        )

    def _exporter(self, owner: pulumi.Resource, name: str, node: Node, container: docker.Container) -> docker.Container:
        """redis_exporter for one node (devExporters), as on the prod stack: its password from the mounted JSON file
        in the secrets volume (REDIS_PASSWORD_FILE names the file, never the password), :9121 on 127.0.0.1; with TLS,
        over TLS, verifying the node with the deployment's CA."""
        exporter_name = names.exporter_name(node)
        tls_env = [f"REDIS_EXPORTER_TLS_CA_CERT_FILE={SECRETS_DIR}/{tls.CA_FILE}"] if self.certificates else []
        return docker.Container(
            f"{name}-{node.name}-exporter",
            name=exporter_name,
            hostname=exporter_name,
            image=self.exporter_image.image_id,
            user=REDIS_USER,
            envs=[
                f"REDIS_ADDR={_exporter_address(self.settings, node)}",
                f"REDIS_USER={users.EXPORTER.name}",
                f"REDIS_PASSWORD_FILE={SECRETS_DIR}/{EXPORTER_AUTH_KEY}",
                f"REDIS_EXPORTER_WEB_LISTEN_ADDRESS=:{EXPORTER_PORT}",
                *tls_env,
            ],
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=self.secrets_volume.name, container_path=SECRETS_DIR, read_only=True
                )
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name, aliases=[exporter_name])],
            ports=[
                docker.ContainerPortArgs(
                    internal=EXPORTER_PORT,
                    external=node.exporter_host_port,
                    ip=LOOPBACK,
                )
            ],
            restart="unless-stopped",
            memory=EXPORTER_MEMORY_MB,
            opts=pulumi.ResourceOptions(parent=owner, delete_before_replace=True, depends_on=[self.secrets, container]),
        )

    def _secrets_holder(self, name: str) -> docker.Container:
        """Created, never started: uploading the passwords into it fills the secrets volume the nodes mount.

        Every user's password on every node (and the other one it accepts while rotated, components/passwords.py):
        each node builds its users from them at boot, Sentinels log in to Redis and to each other, Redis nodes ask the
        Sentinels at boot. With devExporters, also the exporters' password file (JSON: scraped address -> the
        exporter user's password there). With TLS, the CA certificate and every node's certificate and key. A
        password change replaces this container, which overwrites the files in the volume; the nodes keep running
        (RedisPasswords applies the change).
        """
        passwords = self.credentials.of_users()
        secrets = list(self.credentials.secret_files().items())
        secrets += list(self.certificates.files.items() if self.certificates else [])
        if self.settings.dev_exporters:
            topology = self.topology
            keys = {"redis": users.EXPORTER.key, "sentinel": users.SENTINEL_EXPORTER.key}
            auth = pulumi.Output.all(passwords[keys["redis"]], passwords[keys["sentinel"]]).apply(
                lambda values: json.dumps(
                    {
                        url: password
                        for node in topology.nodes
                        for url, password in users.exporter_password_entries(
                            _exporter_address(self.settings, node), values[1 if node.role == "sentinel" else 0]
                        ).items()
                    }
                )
            )
            secrets.append((EXPORTER_AUTH_KEY, auth))
        return docker.Container(
            f"{name}-secrets-holder",
            name=names.secrets_holder_name(self.settings),
            image=self.image.image_id,
            user=REDIS_USER,
            entrypoints=["true"],
            uploads=[
                docker.ContainerUploadArgs(
                    file=f"{SECRETS_DIR}/{key}",
                    content=pulumi.Output.secret(password),
                    owner=REDIS_OWNER,
                    group=REDIS_OWNER,
                    permissions="0400",
                )
                for key, password in secrets
            ],
            volumes=[docker.ContainerVolumeArgs(volume_name=self.secrets_volume.name, container_path=SECRETS_DIR)],
            start=False,
            must_run=False,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

    def _debug_ui(self, name: str, children: pulumi.ResourceOptions) -> docker.Container:
        """Redis Commander on 127.0.0.1, logging in with generated credentials and finding the master via Sentinel."""
        settings, credentials = self.settings, self.credentials
        image = docker.RemoteImage(
            f"{name}-debug-ui-image", name=settings.debug_ui_image, keep_locally=True, opts=children
        )
        config = pulumi.Output.all(
            credentials.redis_admin_password, credentials.sentinel_admin_password, credentials.debug_ui_password
        ).apply(lambda passwords: debug_ui.config(settings, self.topology, *passwords))
        return docker.Container(
            f"{name}-debug-ui",
            name=names.debug_ui_name(settings),
            hostname=names.debug_ui_name(settings),
            image=image.image_id,
            envs=[f"NODE_APP_INSTANCE={debug_ui.APP_INSTANCE}"],
            uploads=[
                docker.ContainerUploadArgs(
                    file=debug_ui.CONFIG_FILE,
                    content=pulumi.Output.secret(config),
                    owner=debug_ui.UID,
                    group="0",
                    permissions="0440",
                )
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name)],
            ports=[docker.ContainerPortArgs(internal=debug_ui.PORT, external=settings.debug_ui_port, ip=LOOPBACK)],
            restart="unless-stopped",
            memory=debug_ui.MEMORY_MB,
            opts=pulumi.ResourceOptions.merge(children, pulumi.ResourceOptions(delete_before_replace=True)),
        )


def _conf_upload(file: str, text: str) -> docker.ContainerUploadArgs:
    executable = file.endswith(".sh")
    return docker.ContainerUploadArgs(
        file=f"{CONF_DIR}/{file}",
        content=text,
        executable=executable,
        owner=REDIS_OWNER,
        group=REDIS_OWNER,
        permissions="0555" if executable else "0444",
    )


def _nat_map(topology: Topology) -> dict[str, dict]:
    """ioredis' natMap: a Sentinel-aware client on the host maps every announced address to its published port."""
    return {str(node.address): {"host": LOOPBACK, "port": node.host_port} for node in topology.nodes}


def _exporter_address(settings: Settings, node: Node) -> str:
    """What a node's exporter scrapes: the node by its name on the network, over TLS (rediss) when TLS is on."""
    return tls.redis_url(str(node.address), settings.tls_enabled)


def _host_endpoint(node: Node) -> str:
    return f"{LOOPBACK}:{node.host_port}"


def _connection_env(host: str, port: int, settings: Settings) -> dict[str, str]:
    """The application environment of the Compose setup, with the application users' names (the passwords come from
    the secret redisPassword / sentinelPassword outputs)."""
    return {
        "REDIS_SENTINEL_HOST": host,
        "REDIS_SENTINEL_PORT": str(port),
        "REDIS_MASTER_NAME": settings.master_name,
        "REDIS_USERNAME": users.APP.name,
        "REDIS_SENTINEL_USERNAME": users.SENTINEL_CLIENT.name,
    }
