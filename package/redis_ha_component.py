"""RedisHA: the whole deployment as one component, for programs in other languages (a Pulumi component package).

It composes RedisMaster, RedisReplicaSet and SentinelQuorum with the festival-redis program's own code
(components/deployment.py), from plain arguments: the program's settings, with the same names, rules and defaults
as its stack config.
package/__main__.py hosts it (`pulumi package add`); a Python program can also use it directly.
"""

# No `from __future__ import annotations`: the schema analyzer reads the annotations as live types.
import json
from typing import TypedDict

import pulumi
from pulumi.provider.experimental.component import ComponentProvider

from components import users
from components.deployment import deploy
from components.settings import Settings, to_config_key

PACKAGE = "festival-redis"
TOKEN = f"{PACKAGE}:index:RedisHA"
SECRET_OUTPUTS = ("redisPassword", "sentinelPassword")


class RedisHAArgs(TypedDict, total=False):
    """The deployment's settings (Pulumi.yaml's festival-redis:* keys); each one left out takes its default."""

    platform: str
    """Where the nodes run, docker (dev) or kubernetes (prod)."""
    name_prefix: str
    """Prefix of every container, volume and network name (a lowercase DNS label, at most 40 characters)."""
    master_name: str
    """Name of the master set the Sentinels monitor and clients ask for."""
    replica_count: int
    """Number of Redis replicas (0 to 9)."""
    sentinel_count: int
    """Number of Sentinels (odd, 1 to 9)."""
    quorum: int
    """Sentinels that must agree the master is down (a majority of sentinelCount)."""
    down_after_milliseconds: int
    """Milliseconds without an answer before a Sentinel considers a node down (500 to 600000)."""
    failover_timeout: int
    """Failover timeout in milliseconds (1000 to 3600000, longer than downAfterMilliseconds)."""
    parallel_syncs: int
    """Replicas resynchronised at the same time after a failover (1 to replicaCount)."""
    maxmemory: str
    """Redis maxmemory (a Redis memory size, at least 1mb); also sizes the container memory limit."""
    maxmemory_policy: str
    """Eviction policy (noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-*)."""
    maxclients: int
    """Maximum client connections per node (1 to 100000)."""
    appendonly: bool
    """Whether AOF persistence is on."""
    appendfsync: str
    """AOF fsync policy (always, everysec, no)."""
    save_points: str
    """RDB snapshot points as '<seconds> <changes>' pairs; empty disables snapshots."""
    min_replicas_to_write: int
    """The master refuses writes with fewer connected replicas than this (0 to replicaCount)."""
    min_replicas_max_lag: int
    """Seconds of lag after which a replica stops counting for minReplicasToWrite (1 to 3600)."""
    allow_scripting: bool
    """Whether applications may run Lua scripts and functions (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION,
    FCALL, FCALL_RO); false disables these commands on every node, like KEYS and FLUSHALL."""
    password_generations: str
    """Generation of each user's password, 'KEY=N' or while rotating 'KEY=OLD+NEW' (comma-separated; keys not
    listed are at 1). Changing it replaces that password without a failed request (docs/security.md)."""
    redis_image: str
    """Redis image, pinned to a tag other than latest."""
    tls: str
    """true, false or auto (on for kubernetes, off for docker). On, every node and Sentinel is TLS-only with
    certificates of the deployment's own CA, made by the program; the CA certificate is the tlsCaCert output."""
    role_wait_seconds: int
    """Seconds a Redis node with data waits at boot for a Sentinel to name the master (0 to 600)."""
    dev_redis_port: int
    """Host port (127.0.0.1) of the master; replica N gets devRedisPort + N."""
    dev_sentinel_port: int
    """Host port (127.0.0.1) of Sentinel 1; Sentinel N gets devSentinelPort + N - 1."""
    debug_ui: bool
    """Whether to run the Redis Commander web UI (dev stack only)."""
    debug_ui_port: int
    """Host port (127.0.0.1) of the Redis Commander web UI."""
    debug_ui_image: str
    """Redis Commander image, pinned to a tag other than latest."""
    dev_keep_volumes: bool
    """Dev stack: pulumi destroy keeps the nodes' data volumes (a later deploy of the stack finds the data again); false
    deletes them with the stack."""
    dev_exporters: bool
    """Dev stack: run a redis_exporter container (exporterImage) beside every Redis node and Sentinel."""
    dev_exporter_port: int
    """Host port (127.0.0.1) of the master's exporter; the replicas' and then the Sentinels' exporters get the next
    ports."""
    namespace: str
    """Kubernetes namespace of every object."""
    create_namespace: bool
    """Whether the program creates the namespace (false when it exists already)."""
    storage_class: str
    """StorageClass of the Redis and Sentinel volumes."""
    storage_size: str
    """Size of each Redis node's volume (a Kubernetes quantity)."""
    kubernetes_version: str
    """Kubernetes minor version the objects are validated against (1.21 or newer)."""
    prometheus_operator: bool
    """Whether to declare ServiceMonitor and PrometheusRule objects (needs the Prometheus Operator)."""
    exporter_image: str
    """redis_exporter sidecar image, pinned to a tag other than latest."""
    kube_context: str
    """The kubeconfig context of the target cluster; required on Kubernetes, so that a deploy from a laptop pointed
    elsewhere never lands on the wrong cluster."""
    protect_data: bool
    """Kubernetes: protect the namespace, the StatefulSets (and so their volume claims), the Secrets and the generated
    passwords, so that pulumi destroy or a replacing change stops with a clear message instead of deleting data."""
    anti_affinity: str
    """Kubernetes: required (one Redis pod and one Sentinel per node) or preferred (small clusters: pods may share a
    node)."""
    client_namespaces: str
    """Kubernetes: namespaces (comma-separated) whose pods labelled festival-redis-client=true may connect; empty
    means the deployment's own namespace."""
    monitoring_namespace: str
    """Kubernetes namespace of the Prometheus that scrapes the exporters."""
    prometheus_labels: str
    """Labels (key=value, comma-separated) of the ServiceMonitor and PrometheusRule, to match what the cluster's
    Prometheus selects (e.g. release=kube-prometheus-stack)."""


class RedisHA(pulumi.ComponentResource):
    """Redis high availability: one master, replicas and an odd quorum of Sentinels, on Docker or Kubernetes, with
    generated passwords and a post-deploy replication check. redisPassword and sentinelPassword are secrets."""

    master_name: pulumi.Output[str]
    """Name of the master set: ask a Sentinel for its address."""
    sentinel_endpoints: pulumi.Output[list[str]]
    """Every Sentinel, host:port as the nodes announce it (in the Docker network or the cluster)."""
    redis_endpoints: pulumi.Output[list[str]]
    """Every Redis node, host:port; roles change at runtime, so ask a Sentinel which one is master."""
    redis_username: pulumi.Output[str]
    """The application user on the Redis nodes."""
    redis_password: pulumi.Output[str]
    """Its password (secret)."""
    sentinel_username: pulumi.Output[str]
    """The application user on the Sentinels."""
    sentinel_password: pulumi.Output[str]
    """Its password (secret)."""
    replication_check: pulumi.Output[str]
    """Summary of the post-deploy replication check of the last update."""
    tls_ca_cert: pulumi.Output[str]
    """With TLS on: the CA certificate (PEM) that verifies every node and Sentinel; empty without TLS."""

    def __init__(self, name: str, args: RedisHAArgs, opts: pulumi.ResourceOptions | None = None):
        # Every bad value fails here, naming the key, the value and the rule, before any resource is registered.
        settings = Settings.from_config({to_config_key(key): value for key, value in args.items()})
        super().__init__(TOKEN, name, None, opts)
        deployment = deploy(settings, parent=self)
        topology = deployment.topology
        self.master_name = pulumi.Output.from_input(settings.master_name)
        self.sentinel_endpoints = pulumi.Output.from_input([str(node.address) for node in topology.sentinels])
        self.redis_endpoints = pulumi.Output.from_input([str(node.address) for node in topology.redis_nodes])
        self.redis_username = pulumi.Output.from_input(users.APP.name)
        self.sentinel_username = pulumi.Output.from_input(users.SENTINEL_CLIENT.name)
        self.redis_password = pulumi.Output.secret(deployment.credentials.redis_password)
        self.sentinel_password = pulumi.Output.secret(deployment.credentials.sentinel_password)
        self.replication_check = deployment.replication_check
        certificates = deployment.certificates
        self.tls_ca_cert = pulumi.Output.from_input(certificates.ca_cert if certificates else "")
        self.register_outputs(
            {
                "masterName": self.master_name,
                "sentinelEndpoints": self.sentinel_endpoints,
                "redisEndpoints": self.redis_endpoints,
                "redisUsername": self.redis_username,
                "redisPassword": self.redis_password,
                "sentinelUsername": self.sentinel_username,
                "sentinelPassword": self.sentinel_password,
                "replicationCheck": self.replication_check,
                "tlsCaCert": self.tls_ca_cert,
            }
        )


class RedisHAProvider(ComponentProvider):
    """The component provider, whose schema also marks the secret outputs (the type analyzer cannot express
    secrecy), so the SDKs generated from it keep them secret too."""

    def __init__(self, version: str):
        super().__init__([RedisHA], PACKAGE, version=version)
        schema = json.loads(self.schema)
        for name in SECRET_OUTPUTS:
            schema["resources"][TOKEN]["properties"][name]["secret"] = True
        self.schema = json.dumps(schema)
