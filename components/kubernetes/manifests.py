"""The prod stack's Kubernetes objects as plain dicts: Settings in, manifests out.

No pulumi import (like render.py): a value that is only known at deploy time (the Secret checksum) is
passed in by the caller and placed as is. Names, labels and keys follow the seed: namespace `festival`,
Secret `redis-secret`, pods `redis-master-0` / `redis-replica-N` / `redis-sentinel-N`, labels
`app=redis` / `app=redis-sentinel`, Sentinel Service `redis-sentinel:26379`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from components import render
from components.settings import Settings
from components.topology import K8S_NAMES, REDIS_PORT, SENTINEL_PORT, cluster_host, headless_service

SECRET_NAME = "redis-secret"
EXPORTER_SECRET_NAME = "redis-exporter-auth"  # redis_exporter's --redis.password-file is JSON: {uri: password}
SENTINEL_SERVICE = K8S_NAMES["sentinel"]
REPLICA_SERVICE = K8S_NAMES["replica"]
CLIENT_LABEL = "festival-redis-client"  # pods labelled festival-redis-client=true may reach Redis and Sentinel
METRICS_LABEL = "festival-redis-metrics"  # Services the ServiceMonitor scrapes
PART_OF = {"app.kubernetes.io/part-of": "festival-redis"}
APPS = {"master": "redis", "replica": "redis", "sentinel": "redis-sentinel"}
CHECK_APP = "redis-check"

REDIS_UID = 999  # the redis user of the official image
EXPORTER_PORT = 9121
EXPORTER_AUTH_DIR = "/etc/festival-exporter"
EXPORTER_AUTH_FILE = {"redis": "redis.json", "sentinel": "sentinel.json"}
SENTINEL_STORAGE = "1Gi"  # Sentinel rewrites its config there and must remember a failover across restarts
# Long enough for prestop.sh's bounded failover wait plus a clean shutdown (an RDB save of maxmemory).
REDIS_GRACE_SECONDS = render.PRESTOP_WAIT_SECONDS + 40
CHECK_DEADLINE_SECONDS = render.CHECK_SETTLE_SECONDS + 120

# Requests and limits; Redis memory is derived from maxmemory (Settings.redis_memory_limit_bytes).
REDIS_CPU = {"requests": "250m", "limits": "1"}
SMALL_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}}
EXPORTER_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}


def checksum(*parts: Mapping[str, str] | str) -> str:
    """sha256 over mappings (key and value) and strings, in order."""
    digest = hashlib.sha256()
    for part in parts:
        items = sorted(part.items()) if isinstance(part, Mapping) else [("", part)]
        for key, value in items:
            digest.update(f"{key}\0{value}\0".encode())
    return digest.hexdigest()


def labels(role: str) -> dict[str, str]:
    return {**selector(role), **PART_OF}


def selector(role: str) -> dict[str, str]:
    return {"app": APPS[role], "component": role}


def node_host(settings: Settings, role: str) -> str:
    """FESTIVAL_NODE_HOST: the pod's stable DNS name, by env expansion of $(POD_NAME) (topology's addresses)."""
    return cluster_host(f"$(POD_NAME).{headless_service(role)}", settings.namespace)


def _bytes(quantity: int) -> str:
    return f"{quantity // 1024**2}Mi" if quantity % 1024**2 == 0 else str(quantity)


def _meta(settings: Settings, name: str, extra_labels: Mapping[str, str] | None = None) -> dict:
    return {"name": name, "namespace": settings.namespace, "labels": {**PART_OF, **(extra_labels or {})}}


def namespace(settings: Settings) -> dict:
    # Pod Security Admission (GA in 1.25) enforces "restricted"; older clusters ignore the labels.
    levels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": settings.namespace, "labels": levels}}


def config_map(settings: Settings, role: str, files: Mapping[str, str]) -> dict:
    """Immutable, named after its content: a change makes a new ConfigMap that the rolled pods mount."""
    name = f"{_workload(role)}-config-{checksum(files)[:10]}"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(settings, name),
        "data": dict(files),
        "immutable": True,
    }


def _workload(role: str) -> str:
    return CHECK_APP if role == "check" else K8S_NAMES[role]


def exporter_auth(redis_password: str, sentinel_password: str) -> dict[str, str]:
    """The exporters' --redis.password-file contents: JSON from the scraped URI to its password."""
    return {
        EXPORTER_AUTH_FILE["redis"]: json.dumps({f"redis://localhost:{REDIS_PORT}": redis_password}),
        EXPORTER_AUTH_FILE["sentinel"]: json.dumps({f"redis://localhost:{SENTINEL_PORT}": sentinel_password}),
    }


# --- pods ---------------------------------------------------------------------------------------
def _security_context() -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _pod_security_context() -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": REDIS_UID,
        "runAsGroup": REDIS_UID,
        "fsGroup": REDIS_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _exec(*command: str) -> dict:
    return {"exec": {"command": ["sh", *command]}}


def _probe(check: str, period: int, failures: int) -> dict:
    # probe.sh bounds each redis-cli call to CLI_TIMEOUT seconds and makes at most two.
    return {
        **_exec(f"{render.CONF_DIR}/probe.sh", check),
        "periodSeconds": period,
        "timeoutSeconds": 2 * render.CLI_TIMEOUT_SECONDS + 1,
        "failureThreshold": failures,
    }


def _volumes(config_map_name: str, exporter_file: str | None = None) -> list[dict]:
    volumes = [
        {"name": "config", "configMap": {"name": config_map_name, "defaultMode": 0o444}},
        {"name": "secrets", "secret": {"secretName": SECRET_NAME, "defaultMode": 0o440}},
        # Scripts and servers write only to /data; /tmp is scratch for tools (sort, sh here-documents).
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
    ]
    if exporter_file:
        volumes.append(
            {
                "name": "exporter-auth",
                "secret": {
                    "secretName": EXPORTER_SECRET_NAME,
                    "defaultMode": 0o440,
                    "items": [{"key": exporter_file, "path": exporter_file}],
                },
            }
        )
    return volumes


def _mounts(data: bool) -> list[dict]:
    mounts = [
        {"name": "config", "mountPath": render.CONF_DIR, "readOnly": True},
        {"name": "secrets", "mountPath": render.SECRETS_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    return mounts + [{"name": "data", "mountPath": render.DATA_DIR}] if data else mounts


def _exporter(settings: Settings, kind: str, port: int) -> dict:
    """redis_exporter sidecar on :9121; the password comes from a mounted JSON file, never argv or env."""
    auth_file = EXPORTER_AUTH_FILE[kind]
    return {
        "name": "exporter",
        "image": settings.exporter_image,
        "args": [
            f"--redis.addr=redis://localhost:{port}",
            f"--redis.password-file={EXPORTER_AUTH_DIR}/{auth_file}",
            f"--web.listen-address=:{EXPORTER_PORT}",
        ],
        "ports": [{"name": "metrics", "containerPort": EXPORTER_PORT}],
        "resources": EXPORTER_RESOURCES,
        "securityContext": _security_context(),
        "volumeMounts": [{"name": "exporter-auth", "mountPath": EXPORTER_AUTH_DIR, "readOnly": True}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 20},
    }


def _spread(app: str) -> dict:
    """Prefer one pod per node and per zone (soft, so a small cluster still schedules every pod)."""
    match = {"matchLabels": {"app": app}}
    return {
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {"labelSelector": match, "topologyKey": "kubernetes.io/hostname"},
                    },
                    {
                        "weight": 50,
                        "podAffinityTerm": {"labelSelector": match, "topologyKey": "topology.kubernetes.io/zone"},
                    },
                ]
            }
        },
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": match}
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ],
    }


def _node_env(settings: Settings, role: str, port: int) -> list[dict]:
    return [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "FESTIVAL_NODE_HOST", "value": node_host(settings, role)},
        {"name": "FESTIVAL_NODE_PORT", "value": str(port)},
    ]


def _redis_container(settings: Settings, role: str) -> dict:
    memory = _bytes(settings.redis_memory_limit_bytes)
    startup_checks = (settings.role_wait_seconds + 120) // 5  # the entrypoint may wait for the Sentinels first
    return {
        "name": "redis",
        "image": settings.redis_image,
        "command": ["sh", f"{render.CONF_DIR}/redis-entrypoint.sh"],
        "env": _node_env(settings, role, REDIS_PORT),
        "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
        "resources": {
            "requests": {"cpu": REDIS_CPU["requests"], "memory": memory},
            "limits": {"cpu": REDIS_CPU["limits"], "memory": memory},
        },
        "securityContext": _security_context(),
        "volumeMounts": _mounts(data=True),
        "startupProbe": _probe("redis-alive", 5, startup_checks),
        "livenessProbe": _probe("redis-alive", 10, 3),
        "readinessProbe": _probe("redis-ready", 5, 2),
        "lifecycle": {"preStop": _exec(f"{render.CONF_DIR}/prestop.sh")},
    }


def _sentinel_container(settings: Settings) -> dict:
    return {
        "name": "sentinel",
        "image": settings.redis_image,
        "command": ["sh", f"{render.CONF_DIR}/sentinel-entrypoint.sh"],
        "env": _node_env(settings, "sentinel", SENTINEL_PORT),
        "ports": [{"name": "sentinel", "containerPort": SENTINEL_PORT}],
        "resources": SMALL_RESOURCES,
        "securityContext": _security_context(),
        "volumeMounts": _mounts(data=True),
        # the entrypoint waits up to 60 s for the master's DNS name to resolve
        "startupProbe": _probe("sentinel-alive", 5, 24),
        "livenessProbe": _probe("sentinel-alive", 10, 3),
        "readinessProbe": _probe("sentinel-ready", 5, 2),
    }


def pod_template(settings: Settings, role: str, config_map_name: str, config_sum: str, secret_sum: Any) -> dict:
    sentinel = role == "sentinel"
    container = _sentinel_container(settings) if sentinel else _redis_container(settings, role)
    kind, port = ("sentinel", SENTINEL_PORT) if sentinel else ("redis", REDIS_PORT)
    return {
        "metadata": {
            "labels": labels(role),
            # A config or password change rolls the pods.
            "annotations": {"checksum/config": config_sum, "checksum/secret": secret_sum},
        },
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 30 if sentinel else REDIS_GRACE_SECONDS,
            "securityContext": _pod_security_context(),
            **_spread(APPS[role]),
            "containers": [container, _exporter(settings, kind, port)],
            "volumes": _volumes(config_map_name, EXPORTER_AUTH_FILE[kind]),
        },
    }


def statefulset(
    settings: Settings, role: str, replicas: int, config_map_name: str, config_sum: str, secret_sum: Any
) -> dict:
    storage = SENTINEL_STORAGE if role == "sentinel" else settings.storage_size
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(settings, K8S_NAMES[role], selector(role)),
        "spec": {
            "serviceName": headless_service(role),
            "replicas": replicas,
            # Sentinels are ready only with quorum, so they must start together; Redis nodes too (faster).
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": selector(role)},
            "template": pod_template(settings, role, config_map_name, config_sum, secret_sum),
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": labels(role)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": settings.storage_class,
                        "resources": {"requests": {"storage": storage}},
                    },
                }
            ],
        },
    }


# --- services, budgets, network ------------------------------------------------------------------
def _service(settings: Settings, name: str, role: str, spec: Mapping[str, Any], metrics: bool = False) -> dict:
    port_name, port = ("sentinel", SENTINEL_PORT) if role == "sentinel" else ("redis", REDIS_PORT)
    ports = [{"name": port_name, "port": port, "targetPort": port_name}]
    service_labels = dict(selector(role))
    if metrics:
        ports.append({"name": "metrics", "port": EXPORTER_PORT, "targetPort": "metrics"})
        service_labels[METRICS_LABEL] = "true"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(settings, name, service_labels),
        "spec": {**spec, "selector": selector(role), "ports": ports},
    }


def headless_service_manifest(settings: Settings, role: str) -> dict:
    """Every pod gets a stable DNS name, resolvable before it is ready (Sentinel and replicas need it at boot).
    Also what the ServiceMonitor scrapes: every pod's exporter, ready or not."""
    spec = {"clusterIP": "None", "publishNotReadyAddresses": True}
    return _service(settings, headless_service(role), role, spec, metrics=True)


def sentinel_service(settings: Settings) -> dict:
    """redis-sentinel.<namespace>.svc.cluster.local:26379: ready Sentinels (they know the master, with quorum)."""
    return _service(settings, SENTINEL_SERVICE, "sentinel", {"type": "ClusterIP"})


def replica_service(settings: Settings) -> dict:
    """Read-only traffic: the replica StatefulSet's ready pods (a replica is ready only when linked).

    Roles change at runtime: after a failover one of these pods may be the master, which serves reads too.
    """
    return _service(settings, REPLICA_SERVICE, "replica", {"type": "ClusterIP"})


def disruption_budgets(settings: Settings) -> list[dict]:
    """At most one Redis node down at a time; Sentinels down at most so many that `quorum` remain."""

    def budget(name: str, app: str, max_unavailable: int) -> dict:
        return {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(settings, name),
            "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": {"app": app}}},
        }

    return [
        budget("redis", "redis", 1),
        budget("redis-sentinel", "redis-sentinel", settings.sentinel_count - settings.quorum),
    ]


def network_policy(settings: Settings) -> dict:
    server_ports = [{"protocol": "TCP", "port": REDIS_PORT}, {"protocol": "TCP", "port": SENTINEL_PORT}]
    ours = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["redis", "redis-sentinel"]}]}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(settings, "redis"),
        "spec": {
            "podSelector": ours,
            "policyTypes": ["Ingress"],
            "ingress": [
                # clients, in any namespace, by label (the check Job carries it too)
                {
                    "from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {CLIENT_LABEL: "true"}}}],
                    "ports": server_ports,
                },
                # replication, Sentinel monitoring and Sentinel gossip among this deployment's pods
                {"from": [{"podSelector": ours}], "ports": server_ports},
                # Prometheus (the Prometheus Operator labels its pods app.kubernetes.io/name=prometheus)
                {
                    "from": [
                        {
                            "namespaceSelector": {},
                            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": EXPORTER_PORT}],
                },
            ],
        },
    }


# --- monitoring (Prometheus Operator CRDs) ---------------------------------------------------------
def service_monitor(settings: Settings) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta(settings, "redis"),
        "spec": {
            "selector": {"matchLabels": {METRICS_LABEL: "true"}},
            "namespaceSelector": {"matchNames": [settings.namespace]},
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
            "podTargetLabels": ["app", "component"],
        },
    }


# redis_exporter metric names (oliver006/redis_exporter: INFO fields, instance_info{role}, sentinel_* metrics)
def alert_rules(settings: Settings) -> list[dict]:
    """The seed's alerts, plus Sentinel agreement, master count and replica count."""
    ns, name = settings.namespace, settings.master_name
    redis = f'namespace="{ns}",app="redis"'
    sentinel = f'namespace="{ns}",app="redis-sentinel",master_name="{name}"'

    def rule(alert: str, expr: str, duration: str, severity: str, summary: str) -> dict:
        return {
            "alert": alert,
            "expr": expr,
            "for": duration,
            "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": f"{summary} (namespace {ns}, master set {name})"},
        }

    rules = [
        rule(
            "RedisDown",
            f'redis_up{{namespace="{ns}",app=~"redis|redis-sentinel"}} == 0',
            "1m",
            "critical",
            "A Redis node or Sentinel does not answer its exporter",
        ),
        rule(
            "RedisMemoryHigh",
            f"redis_memory_used_bytes{{{redis}}} / (redis_memory_max_bytes{{{redis}}} > 0) > 0.85",
            "5m",
            "warning",
            "Redis memory use above 85% of maxmemory",
        ),
        rule(
            "RedisTooManyConnections",
            f"redis_connected_clients{{{redis}}} > {settings.maxclients * 9 // 10}",
            "5m",
            "warning",
            "Redis client connections above 90% of maxclients",
        ),
        rule(
            "RedisRejectedConnections",
            f"increase(redis_rejected_connections_total{{{redis}}}[5m]) > 0",
            "0m",
            "warning",
            "Redis rejected client connections (maxclients reached)",
        ),
        rule(
            "RedisMasterCount",
            f'(count(redis_instance_info{{{redis},role="master"}}) or vector(0)) != 1',
            "1m",
            "critical",
            "Not exactly one Redis node reports role master",
        ),
        rule(
            "RedisSentinelsDisagree",
            f"count(count by (master_address) (redis_sentinel_master_status{{{sentinel}}})) > 1",
            "1m",
            "critical",
            "The Sentinels name different masters",
        ),
        rule(
            "RedisSentinelQuorumLost",
            f"redis_sentinel_master_ckquorum_status{{{sentinel}}} == 0",
            "1m",
            "critical",
            "A Sentinel cannot reach quorum to fail over (SENTINEL CKQUORUM)",
        ),
    ]
    if settings.replica_count:  # without replicas these would always fire
        rules += [
            rule(
                "RedisMasterWithoutReplicas",
                f"redis_connected_slaves{{{redis}}} < 1"
                f' and on (namespace, pod) redis_instance_info{{{redis},role="master"}}',
                "1m",
                "critical",
                "The Redis master has no connected replica",
            ),
            rule(
                "RedisReplicasMissing",
                f"redis_sentinel_master_ok_slaves{{{sentinel}}} < {settings.replica_count}",
                "2m",
                "warning",
                f"A Sentinel sees fewer than {settings.replica_count} healthy replicas",
            ),
        ]
    return rules


def prometheus_rule(settings: Settings) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _meta(settings, "redis"),
        "spec": {"groups": [{"name": "festival-redis", "rules": alert_rules(settings)}]},
    }


# --- post-deploy check -----------------------------------------------------------------------------
def check_job(settings: Settings, name: Any, config_map_name: str) -> dict:
    """check-job.sh in the redis image; Pulumi awaits the Job, so a failed invariant fails `pulumi up`."""
    container = {
        "name": "check",
        "image": settings.redis_image,
        "command": ["sh", f"{render.CONF_DIR}/check-job.sh"],
        "resources": SMALL_RESOURCES,
        "securityContext": _security_context(),
        "volumeMounts": _mounts(data=False),
    }
    metadata = _meta(settings, name, {"app": CHECK_APP})
    # A Job that failed (an unhealthy deployment) runs again on the next `pulumi up` instead of failing it as is.
    metadata["annotations"] = {"pulumi.com/replaceUnready": "true"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": 1,
            "activeDeadlineSeconds": CHECK_DEADLINE_SECONDS,
            "template": {
                "metadata": {"labels": {"app": CHECK_APP, CLIENT_LABEL: "true", **PART_OF}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": _pod_security_context(),
                    "containers": [container],
                    "volumes": _volumes(config_map_name),
                },
            },
        },
    }


def check_job_name(*checksums: str) -> str:
    """Changes with every input of the deployment, so the check runs again after every change."""
    return f"{CHECK_APP}-{checksum(*checksums)[:10]}"


# --- what application stacks consume --------------------------------------------------------------
def sentinel_host(settings: Settings) -> str:
    return cluster_host(SENTINEL_SERVICE, settings.namespace)


def app_env(settings: Settings) -> list[dict]:
    """The seed's environment block for an application container (plus the Sentinel password it needs)."""

    def secret(name: str, key: str) -> dict:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": key}}}

    return [
        {"name": "REDIS_SENTINEL_HOST", "value": sentinel_host(settings)},
        {"name": "REDIS_SENTINEL_PORT", "value": str(SENTINEL_PORT)},
        {"name": "REDIS_MASTER_NAME", "value": settings.master_name},
        secret("REDIS_PASSWORD", render.REDIS_PASSWORD_KEY),
        secret("REDIS_SENTINEL_PASSWORD", render.SENTINEL_PASSWORD_KEY),
    ]
