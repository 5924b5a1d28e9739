"""The prod stack's Kubernetes workload, service and policy objects as plain dicts: Settings in, manifests out.

No pulumi import (like render.py): a value that is only known at deploy time (the Secret checksum) is
passed in by the caller and placed as is. Names come from names.py; labels `app=redis` / `app=redis-sentinel`
are the ones the platform team's YAML used. Monitoring objects are in monitoring.py.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from components import render, tls, users
from components.checks.invariants import SETTLE_SECONDS
from components.kubernetes.names import (
    CHECK_APP,
    EXPORTER_SECRET_NAME,
    NODES_SECRET_NAME,
    REPLICA_SERVICE_NAME,
    SECRET_NAME,
    SENTINEL_SERVICE_NAME,
    config_map_name,
    headless_service_name,
    pod_host_template,
    sentinel_host,
    workload_name,
)
from components.render import REDIS_UID
from components.settings import DNS_EGRESS_NAMED, Settings
from components.topology import EXPORTER_PORT, REDIS_PORT, SENTINEL_PORT

CLIENT_LABEL = "festival-redis-client"  # pods labelled festival-redis-client=true may reach Redis and Sentinel
METRICS_LABEL = "festival-redis-metrics"  # Services the ServiceMonitor scrapes
PART_OF = {"app.kubernetes.io/part-of": "festival-redis"}
APPS = {"master": "redis", "replica": "redis", "sentinel": "redis-sentinel"}
APPS_SET = ("redis", "redis-sentinel")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

EXPORTER_AUTH_DIR = "/etc/festival-exporter"
EXPORTER_AUTH_FILE = {"redis": "redis.json", "sentinel": "sentinel.json"}
SENTINEL_STORAGE = "1Gi"  # Sentinel rewrites its config there and must remember a failover across restarts
CHECK_RETRIES = 1  # the Job's backoffLimit: one more try after a failed check
# Every try may re-check for SETTLE_SECONDS, plus pod start and the canary: the deadline leaves room for all tries.
CHECK_DEADLINE_SECONDS = (CHECK_RETRIES + 1) * (SETTLE_SECONDS + 60)
# While the data is protected, a StatefulSet that is replaced (immutable fields) is deleted alone: its pods and their
# volumes keep running, and the new StatefulSet adopts them. pulumi-kubernetes reads it from the recorded inputs for
# every delete, `pulumi destroy` too: the documented teardown (protectData off, `pulumi up`, then destroy) drops it,
# so destroy deletes the pods with their StatefulSet (Foreground) and nothing keeps the claims in use.
ORPHAN = {"pulumi.com/deletionPropagationPolicy": "orphan"}
# Kubernetes from which a disruption budget's unhealthyPodEvictionPolicy is on by default (beta 1.27, GA 1.31).
UNHEALTHY_POD_EVICTION_SINCE = 27


def statefulset_await(replicas: int) -> str:
    """pulumi-kubernetes' await of a StatefulSet (`pulumi.com/waitFor`, which replaces its built-in await:
    provider/pkg/await/await.go, Creation and Update, `!custom`): the controller has observed the object (the
    JSONPath condition, await/condition/jsonpath.go, also waits for observedGeneration == generation), and then
    either every pod is ready, or the pod template differs from the one the set was created with.

    The built-in await (await/statefulset.go) wants every pod ready after an update too (OnDelete:
    `readyReplicas == replicas`), so a pod crash-looping on the old template failed every `pulumi up` that would have
    replaced it: RedisRollout, which replaces pods and waits for health itself, depends on the StatefulSets. With
    OnDelete the controller never moves currentRevision to updateRevision (pkg/controller/statefulset
    stateful_set_utils.go completeRollingUpdate is for RollingUpdate only), so the two differ from the first template
    change on, and the first deploy (and a set whose template never changed) still waits for every pod. An RFC 9535
    filter on the object's members (pulumi-kubernetes >= 4.24 parses waitFor so): it selects `status` when it holds."""
    return (
        "jsonpath={[?@.observedGeneration && "
        f"(@.readyReplicas == {replicas} || !(@.currentRevision == @.updateRevision))]}}"
    )


# Requests equal limits in every container: the pods are Guaranteed QoS, the last a node evicts under memory
# pressure (an evicted or OOM-killed Redis pod skips its preStop hand-over). Redis memory is derived from
# maxmemory (Settings.redis_memory_limit_bytes).
REDIS_CPU = "1"
SMALL_RESOURCES = {"cpu": "100m", "memory": "128Mi"}
EXPORTER_RESOURCES = {"cpu": "50m", "memory": "64Mi"}


def _guaranteed(amounts: Mapping[str, str]) -> dict:
    return {"requests": dict(amounts), "limits": dict(amounts)}


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


def _bytes(quantity: int) -> str:
    return f"{quantity // 1024**2}Mi" if quantity % 1024**2 == 0 else str(quantity)


def meta(settings: Settings, name: str, extra_labels: Mapping[str, str] | None = None) -> dict:
    return {"name": name, "namespace": settings.namespace, "labels": {**PART_OF, **(extra_labels or {})}}


def namespace(settings: Settings) -> dict:
    # Pod Security Admission (GA in 1.25) enforces "restricted"; older clusters ignore the labels.
    levels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": settings.namespace, "labels": levels}}


def config_map(settings: Settings, role: str, files: Mapping[str, str]) -> dict:
    """Immutable, named after its content: a change makes a new ConfigMap that the rolled pods mount."""
    name = config_map_name(role, checksum(files))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(settings, name),
        "data": dict(files),
        "immutable": True,
    }


def exporter_address(settings: Settings, port: int) -> str:
    """What an exporter sidecar scrapes: its pod's server, over TLS (rediss) when the deployment uses TLS."""
    return tls.redis_url(f"localhost:{port}", settings.tls_enabled)


def exporter_auth(settings: Settings, redis_password: str, sentinel_password: str) -> dict[str, str]:
    """The exporters' --redis.password-file contents: JSON from the scraped URI to the password of the exporter
    user there (users.EXPORTER, users.SENTINEL_EXPORTER)."""
    redis = users.exporter_password_entries(exporter_address(settings, REDIS_PORT), redis_password)
    sentinel = users.exporter_password_entries(exporter_address(settings, SENTINEL_PORT), sentinel_password)
    return {EXPORTER_AUTH_FILE["redis"]: json.dumps(redis), EXPORTER_AUTH_FILE["sentinel"]: json.dumps(sentinel)}


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
        # Volumes are chowned to fsGroup only when their root is not: a large data volume mounts at once.
        "fsGroupChangePolicy": "OnRootMismatch",
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


def _startup_probe(settings: Settings, check: str, role: str) -> dict:
    """Liveness and readiness wait for this: as many checks as the node's boot allowance takes."""
    period = 5
    return _probe(check, period, math.ceil(settings.boot_allowance_seconds(role) / period))


def _volumes(settings: Settings, config_name: str, exporter_file: str | None = None) -> list[dict]:
    volumes = [
        {"name": "config", "configMap": {"name": config_name, "defaultMode": 0o444}},
        {"name": "secrets", "secret": {"secretName": NODES_SECRET_NAME, "defaultMode": 0o440}},
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
                    "items": [{"key": file, "path": file} for file in _exporter_files(settings, exporter_file)],
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


def _exporter_files(settings: Settings, auth_file: str) -> list[str]:
    """What an exporter mounts of its Secret: its password file and, with TLS, the CA certificate."""
    return [auth_file, *([tls.CA_FILE] if settings.tls_enabled else [])]


def _exporter(settings: Settings, kind: str, port: int) -> dict:
    """redis_exporter sidecar on :9121; the password comes from a mounted JSON file, never argv or env."""
    auth_file = EXPORTER_AUTH_FILE[kind]
    tls_args = [f"--tls-ca-cert-file={EXPORTER_AUTH_DIR}/{tls.CA_FILE}"] if settings.tls_enabled else []
    return {
        "name": "exporter",
        "image": settings.exporter_image,
        "args": [
            f"--redis.addr={exporter_address(settings, port)}",
            f"--redis.user={users.EXPORTER.name}",
            f"--redis.password-file={EXPORTER_AUTH_DIR}/{auth_file}",
            *tls_args,
            f"--web.listen-address=:{EXPORTER_PORT}",
        ],
        "ports": [{"name": "metrics", "containerPort": EXPORTER_PORT}],
        "resources": _guaranteed(EXPORTER_RESOURCES),
        "securityContext": _security_context(),
        "volumeMounts": [{"name": "exporter-auth", "mountPath": EXPORTER_AUTH_DIR, "readOnly": True}],
        # No readiness probe: a pod is ready when its Redis or Sentinel is, whatever its exporter does.
        "livenessProbe": {"httpGet": {"path": "/health", "port": "metrics"}, "periodSeconds": 20},
    }


def _spread(settings: Settings, app: str) -> dict:
    """One Redis pod (master or replica) and one Sentinel per node, so losing a node costs one of each; spread
    over zones where possible. With antiAffinity 'preferred' (small clusters) pods may share a node."""
    match = {"matchLabels": {"app": app}}
    per_node = {"labelSelector": match, "topologyKey": "kubernetes.io/hostname"}
    per_zone = {"weight": 50, "podAffinityTerm": {"labelSelector": match, "topologyKey": "topology.kubernetes.io/zone"}}
    if settings.anti_affinity == "required":
        anti_affinity = {
            "requiredDuringSchedulingIgnoredDuringExecution": [per_node],
            "preferredDuringSchedulingIgnoredDuringExecution": [per_zone],
        }
    else:
        anti_affinity = {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": per_node}, per_zone]
        }
    return {
        "affinity": {"podAntiAffinity": anti_affinity},
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": match}
            for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
        ],
    }


def _node_env(settings: Settings, role: str, port: int) -> list[dict]:
    return [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "FESTIVAL_NODE_HOST", "value": pod_host_template(settings, role)},
        {"name": "FESTIVAL_NODE_PORT", "value": str(port)},
    ]


def _redis_container(settings: Settings, role: str) -> dict:
    memory = _bytes(settings.redis_memory_limit_bytes)
    return {
        "name": "redis",
        "image": settings.redis_image,
        "command": ["sh", f"{render.CONF_DIR}/redis-entrypoint.sh"],
        "env": _node_env(settings, role, REDIS_PORT),
        "ports": [{"name": "redis", "containerPort": REDIS_PORT}],
        "resources": _guaranteed({"cpu": REDIS_CPU, "memory": memory}),
        "securityContext": _security_context(),
        "volumeMounts": _mounts(data=True),
        "startupProbe": _startup_probe(settings, "redis-alive", role),
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
        "resources": _guaranteed(SMALL_RESOURCES),
        "securityContext": _security_context(),
        "volumeMounts": _mounts(data=True),
        "startupProbe": _startup_probe(settings, "sentinel-alive", "sentinel"),
        "livenessProbe": _probe("sentinel-alive", 10, 3),
        "readinessProbe": _probe("sentinel-ready", 5, 2),
    }


def pod_template(settings: Settings, role: str, config_name: str, config_sum: str, tls_sum: Any = "") -> dict:
    sentinel = role == "sentinel"
    container = _sentinel_container(settings) if sentinel else _redis_container(settings, role)
    kind, port = ("sentinel", SENTINEL_PORT) if sentinel else ("redis", REDIS_PORT)
    return {
        "metadata": {
            "labels": labels(role),
            # A config change rolls the pods. A password change does not: RedisPasswords applies it to the running
            # pods (components/passwords.py), so no pod ever runs with passwords its peers do not accept.
            # A renewed certificate does: Redis and Sentinel read theirs at boot (docs/security.md, renewal).
            "annotations": {
                "checksum/config": config_sum,
                **({"checksum/tls": tls_sum} if settings.tls_enabled else {}),
            },
        },
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": (
                render.SENTINEL_STOP_GRACE_SECONDS if sentinel else render.REDIS_STOP_GRACE_SECONDS
            ),
            "securityContext": _pod_security_context(),
            # Above the cluster's default 0: while a replaced pod terminates, a lower-priority pod may not take the
            # one node its anti-affinity and zonal volume allow; the scheduler preempts it instead.
            **({"priorityClassName": settings.priority_class_name} if settings.priority_class_name else {}),
            **_spread(settings, APPS[role]),
            "containers": [container, _exporter(settings, kind, port)],
            "volumes": _volumes(settings, config_name, EXPORTER_AUTH_FILE[kind]),
        },
    }


def statefulset(
    settings: Settings, role: str, replicas: int, config_name: str, config_sum: str, tls_sum: Any = ""
) -> dict:
    storage = SENTINEL_STORAGE if role == "sentinel" else settings.storage_size
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            **meta(settings, workload_name(role), selector(role)),
            "annotations": {
                **(ORPHAN if settings.protects_data else {}),
                "pulumi.com/waitFor": statefulset_await(replicas),
            },
        },
        "spec": {
            "serviceName": headless_service_name(role),
            "replicas": replicas,
            # Sentinels are ready only with quorum, so they must start together; Redis nodes too (faster).
            "podManagementPolicy": "Parallel",
            # Pods are replaced by RedisRollout (rollout.py), one at a time while the set is healthy, the master last.
            "updateStrategy": {"type": "OnDelete"},
            "selector": {"matchLabels": selector(role)},
            "template": pod_template(settings, role, config_name, config_sum, tls_sum),
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
        "metadata": meta(settings, name, service_labels),
        "spec": {**spec, "selector": selector(role), "ports": ports},
    }


def headless_service(settings: Settings, role: str) -> dict:
    """Every pod gets a stable DNS name, resolvable before it is ready (Sentinel and replicas need it at boot).
    Also what the ServiceMonitor scrapes: every pod's exporter, ready or not."""
    spec = {"clusterIP": "None", "publishNotReadyAddresses": True}
    return _service(settings, headless_service_name(role), role, spec, metrics=True)


def sentinel_service(settings: Settings) -> dict:
    """redis-sentinel.<namespace>.svc.<clusterDomain>:26379: ready Sentinels (they know the master, with quorum)."""
    return _service(settings, SENTINEL_SERVICE_NAME, "sentinel", {"type": "ClusterIP"})


def replica_service(settings: Settings) -> dict:
    """Read-only traffic: the replica StatefulSet's ready pods (a replica is ready only when linked).

    Roles change at runtime: after a failover one of these pods may be the master, which serves reads too.
    """
    return _service(settings, REPLICA_SERVICE_NAME, "replica", {"type": "ClusterIP"})


def disruption_budgets(settings: Settings) -> list[dict]:
    """At most one Redis node down at a time; Sentinels down at most so many that `quorum` remain, and never fewer
    than one: a budget of 0 (one Sentinel, or a quorum of all of them) refuses every eviction, so draining any node
    that runs a Sentinel would wait for ever. Such a deployment cannot fail over while that Sentinel is away."""

    # An unready pod serves nothing: it may always be evicted (so RedisRollout can replace a crash-looping pod while
    # another is down too). The default, IfHealthyBudget, allows it only while the budget is met
    # (pkg/registry/core/pod/storage/eviction.go). Older clusters do not know the field.
    minor = int(settings.kubernetes_version.split(".")[1])
    unhealthy = {"unhealthyPodEvictionPolicy": "AlwaysAllow"} if minor >= UNHEALTHY_POD_EVICTION_SINCE else {}

    def budget(name: str, app: str, max_unavailable: int) -> dict:
        return {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta(settings, name),
            "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": {"app": app}}, **unhealthy},
        }

    return [
        budget("redis", "redis", 1),
        budget("redis-sentinel", "redis-sentinel", max(1, settings.sentinel_count - settings.quorum)),
    ]


def _namespaces(*names: str) -> dict:
    """Namespaces by name (every namespace carries its name as this label, from Kubernetes 1.21 on)."""
    return {"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": list(names)}]}


# Where a pod's DNS lookups go differs between clusters: kube-dns / CoreDNS pods (port 53, behind the kube-dns
# Service), a node-local cache on a link-local address (NodeLocal DNSCache, 169.254.20.10, GKE Autopilot's default),
# the node's metadata server (GKE Cloud DNS, 169.254.169.254), OpenShift's DNS pods (port 5353 behind the Service's
# 53). The default (dnsEgress "any") allows the DNS ports to any destination, which works with all of them; a list
# narrows it to the set-ups named here and CIDRs (docs/prod.md, "Prerequisites").
DNS_PORTS = [{"protocol": protocol, "port": port} for port in (53, 5353) for protocol in ("UDP", "TCP")]
DNS_PEERS = {
    "kube-dns": {
        "namespaceSelector": _namespaces("kube-system"),
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    },
    "openshift-dns": {
        "namespaceSelector": _namespaces("openshift-dns"),
        "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
    },
}


def dns_egress(settings: Settings) -> dict:
    """The egress rule for DNS lookups: the DNS ports, to any destination or to the dnsEgress targets only."""
    targets = settings.dns_egress_targets
    if not targets:
        return {"ports": DNS_PORTS}
    peers = [DNS_PEERS[target] if target in DNS_EGRESS_NAMED else {"ipBlock": {"cidr": target}} for target in targets]
    return {"to": peers, "ports": DNS_PORTS}


def network_policy(settings: Settings) -> dict:
    """Who may reach Redis and the Sentinels (labelled clients of the namespaces named, this deployment's own pods and
    its check Job, Prometheus of the monitoring namespace), and where they and the check Job may connect to: each
    other, and the cluster DNS. Egress rules matter in namespaces whose default denies egress. Held against every
    connection the deployment needs by tests/program/test_network_policy.py."""
    server_ports = [{"protocol": "TCP", "port": REDIS_PORT}, {"protocol": "TCP", "port": SENTINEL_PORT}]
    ours = {"matchExpressions": [{"key": "app", "operator": "In", "values": list(APPS_SET)}]}
    ours_and_check = {"matchExpressions": [{"key": "app", "operator": "In", "values": [*APPS_SET, CHECK_APP]}]}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(settings, "redis"),
        "spec": {
            "podSelector": ours_and_check,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                # clients of the namespaces named, by label
                {
                    "from": [
                        {
                            "namespaceSelector": _namespaces(*settings.client_namespace_names),
                            "podSelector": {"matchLabels": {CLIENT_LABEL: "true"}},
                        }
                    ],
                    "ports": server_ports,
                },
                # replication, Sentinel monitoring and gossip among this deployment's pods, and the check Job, whether
                # or not clientNamespaces lists this namespace
                {"from": [{"podSelector": ours_and_check}], "ports": server_ports},
                # Prometheus (the Prometheus Operator labels its pods app.kubernetes.io/name=prometheus)
                {
                    "from": [
                        {
                            "namespaceSelector": _namespaces(settings.monitoring_namespace),
                            "podSelector": {"matchLabels": settings.prometheus_pod_labels},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": EXPORTER_PORT}],
                },
                *_tls_probe_ingress(settings, server_ports),
            ],
            "egress": [{"to": [{"podSelector": ours}], "ports": server_ports}, dns_egress(settings)],
        },
    }


# The labels of the prometheus-community/prometheus-blackbox-exporter chart's pods.
BLACKBOX_EXPORTER_LABELS = {"app.kubernetes.io/name": "prometheus-blackbox-exporter"}


def _tls_probe_ingress(settings: Settings, server_ports: list[dict]) -> list[dict]:
    """With TLS: the blackbox exporter of the monitoring namespace opens TLS connections to the nodes' ports to read
    their certificates' expiry (components/kubernetes/monitoring.py); it sends no command."""
    if not settings.tls_enabled:
        return []
    source = {
        "namespaceSelector": _namespaces(settings.monitoring_namespace),
        "podSelector": {"matchLabels": BLACKBOX_EXPORTER_LABELS},
    }
    return [{"from": [source], "ports": server_ports}]


# --- post-deploy check -----------------------------------------------------------------------------
def check_job(settings: Settings, name: Any, config_name: str) -> dict:
    """check-job.sh in the redis image; Pulumi awaits the Job, so a failed invariant fails `pulumi up`."""
    container = {
        "name": "check",
        "image": settings.redis_image,
        "command": ["sh", f"{render.CONF_DIR}/check-job.sh"],
        "resources": _guaranteed(SMALL_RESOURCES),
        "securityContext": _security_context(),
        "volumeMounts": _mounts(data=False),
    }
    metadata = meta(settings, name, {"app": CHECK_APP})
    # A Job that failed (an unhealthy deployment) runs again on the next `pulumi up` instead of failing it as is.
    metadata["annotations"] = {"pulumi.com/replaceUnready": "true"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "backoffLimit": CHECK_RETRIES,
            "activeDeadlineSeconds": CHECK_DEADLINE_SECONDS,
            "template": {
                "metadata": {"labels": {"app": CHECK_APP, CLIENT_LABEL: "true", **PART_OF}},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": _pod_security_context(),
                    "containers": [container],
                    "volumes": _volumes(settings, config_name),
                },
            },
        },
    }


def rollout_timeout_minutes(settings: Settings, pods: int) -> int:
    """How long Pulumi waits for a StatefulSet's rollout: per pod, its boot allowance, its preStop grace and a
    load or full sync of maxmemory at a conservative 20 MB/s, plus 5 minutes."""
    sync_seconds = settings.maxmemory_bytes // (20 * 1000**2)
    per_pod = settings.boot_allowance_seconds("replica") + render.REDIS_STOP_GRACE_SECONDS + sync_seconds
    return 5 + math.ceil(pods * per_pod / 60)


def rollout_checksum(settings: Settings, role: str, replicas: int, files: Mapping[str, str]) -> str:
    """A digest of what a StatefulSet rolls out (its pod template), without the certificates' checksum (known only
    at deploy time)."""
    config = config_map(settings, role, files)["metadata"]["name"]
    plain = statefulset(settings, role, replicas, config, checksum(files))
    return checksum(json.dumps(plain, sort_keys=True))


# --- what application stacks consume --------------------------------------------------------------
def app_env(settings: Settings) -> list[dict]:
    """The environment block of the platform team's application manifests, plus the Sentinel password."""

    def secret(name: str, key: str) -> dict:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": key}}}

    return [
        {"name": "REDIS_SENTINEL_HOST", "value": sentinel_host(settings)},
        {"name": "REDIS_SENTINEL_PORT", "value": str(SENTINEL_PORT)},
        {"name": "REDIS_MASTER_NAME", "value": settings.master_name},
        {"name": "REDIS_USERNAME", "value": users.APP.name},
        {"name": "REDIS_SENTINEL_USERNAME", "value": users.SENTINEL_CLIENT.name},
        secret("REDIS_PASSWORD", render.REDIS_PASSWORD_KEY),
        secret("REDIS_SENTINEL_PASSWORD", render.SENTINEL_PASSWORD_KEY),
        # With TLS: connect with TLS, verifying the servers with the CA certificate, key tls-ca.crt of the Secret.
        {"name": "REDIS_TLS", "value": "true" if settings.tls_enabled else "false"},
    ]
