"""The platform team's hand-written Kubernetes setup (the seed's redis-ha-README.md: its k8s/redis-statefulset.yaml,
redis-service.yaml and redis-configmap.yaml), run by the pod runner (harness/pod_runner.py) as it runs the prod
stack's pods: what a move to the prod stack starts from (tests/pods/test_move.py, docs/migration.md).

The seed's YAML files are not in this repository, only its README, so the objects below are written from what the
README says and what the prod stack kept of them (tests/program/test_prod.py
test_objects_are_named_as_the_original_manifests_did): namespace `festival`; the StatefulSets redis-master (1),
redis-replica (2) and redis-sentinel (3), their pods labelled `app: redis` / `app: redis-sentinel`; the Secret
redis-secret (`redis-password`, `sentinel-password`); a ConfigMap with the seed's Redis and Sentinel values; the
password given to the nodes from the Secret (`--requirepass`, `--masterauth`, the Sentinels' `auth-pass`) and none
on the Sentinels, as in the Compose setup. Added because the pod runner needs them, each said where it is: the
headless Services publish not-ready addresses, every container names its user (the official image's `redis`, uid
999), and the pods of a set start together (the seed's OrderedReady starts them one by one). The images are the
local festival-local/redis; the passwords are generated.
"""

from __future__ import annotations

import secrets
from typing import Any

import docker
import redis

from harness.engine import LABEL, REDIS_IMAGE
from harness.pod_runner import NO_RETRY, STATEFULSET_SPEC, Declared, PodCluster, Workload, check_fields

NAMESPACE = "festival"
MASTER_NAME = "festival-master"
CONFIG_DIR = "/etc/redis"
REDIS_UID = 999
SERVICES = {"redis-master": "redis-master-headless", "redis-replica": "redis-replica-headless"}
SENTINEL_SERVICE = "redis-sentinel-headless"
MASTER_POD = "redis-master-0"
MASTER_POD_HOST = f"{MASTER_POD}.redis-master-headless.{NAMESPACE}.svc.cluster.local"

REDIS_CONF = """port 6379
dir /data
maxmemory 512mb
maxmemory-policy allkeys-lru
maxclients 10000
appendonly yes
appendfsync everysec
save 900 1
save 300 10
save 60 10000
"""
SENTINEL_CONF = f"""port 26379
dir /data
protected-mode no
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel monitor {MASTER_NAME} {MASTER_POD_HOST} 6379 2
sentinel down-after-milliseconds {MASTER_NAME} 5000
sentinel failover-timeout {MASTER_NAME} 60000
sentinel parallel-syncs {MASTER_NAME} 1
"""
PASSWORD_ENV = {
    "name": "REDIS_PASSWORD",
    "valueFrom": {"secretKeyRef": {"name": "redis-secret", "key": "redis-password"}},
}


def _statefulset(name: str, replicas: int, app: str, component: str, service: str, container: dict) -> Workload:
    labels = {"app": app, "component": component}
    spec = {
        "serviceName": service,
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                # added for the pod runner: the image's user by number (the official image drops to it)
                "securityContext": {"runAsUser": REDIS_UID, "runAsGroup": REDIS_UID, "fsGroup": REDIS_UID},
                "containers": [
                    {
                        "name": container.pop("name"),
                        "image": REDIS_IMAGE,
                        "env": [PASSWORD_ENV],
                        "volumeMounts": [
                            {"name": "data", "mountPath": "/data"},
                            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                        ],
                        **container,
                    }
                ],
                "volumes": [{"name": "config", "configMap": {"name": "redis-config"}}],
                "automountServiceAccountToken": False,
                "enableServiceLinks": False,
            },
        },
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "fast-ssd"}}],
    }
    check_fields(spec, STATEFULSET_SPEC, name)
    return Workload("StatefulSet", name, spec, labels)


def _exec_probe(command: str) -> dict:
    return {"exec": {"command": ["sh", "-c", command]}, "periodSeconds": 2, "failureThreshold": 30}


def seed_objects(password: str) -> Declared:
    """The seed's objects, as the API server would hold them."""
    node_probe = _exec_probe('redis-cli --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG')
    master = {
        "name": "redis",
        "args": [f"{CONFIG_DIR}/redis.conf", "--requirepass", "$(REDIS_PASSWORD)", "--masterauth", "$(REDIS_PASSWORD)"],
        "command": ["redis-server"],
        "ports": [{"name": "redis", "containerPort": 6379, "protocol": "TCP"}],
        "readinessProbe": node_probe,
    }
    replica = {**master, "args": [*master["args"], "--replicaof", MASTER_POD_HOST, "6379"]}
    sentinel = {
        "name": "sentinel",
        "command": ["sh", "-c"],
        "args": [
            f"[ -f /data/sentinel.conf ] || {{ cp {CONFIG_DIR}/sentinel.conf /data/sentinel.conf && "
            f'echo "sentinel auth-pass {MASTER_NAME} $REDIS_PASSWORD" >>/data/sentinel.conf; }}; '
            "exec redis-sentinel /data/sentinel.conf"
        ],
        "ports": [{"name": "sentinel", "containerPort": 26379, "protocol": "TCP"}],
        "readinessProbe": _exec_probe("redis-cli -p 26379 ping | grep -q PONG"),
    }
    headless = {"clusterIP": "None", "publishNotReadyAddresses": True}  # publishNotReadyAddresses: for the runner
    return Declared(
        namespace=NAMESPACE,
        statefulsets=[
            _statefulset("redis-master", 1, "redis", "master", SERVICES["redis-master"], master),
            _statefulset("redis-replica", 2, "redis", "replica", SERVICES["redis-replica"], replica),
            _statefulset("redis-sentinel", 3, "redis-sentinel", "sentinel", SENTINEL_SERVICE, sentinel),
        ],
        job=None,
        config_maps={"redis-config": {"redis.conf": REDIS_CONF, "sentinel.conf": SENTINEL_CONF}},
        secrets={"redis-secret": {"redis-password": password, "sentinel-password": secrets.token_urlsafe(24)}},
        services={
            SERVICES["redis-master"]: {**headless, "selector": {"app": "redis", "component": "master"}},
            SERVICES["redis-replica"]: {**headless, "selector": {"app": "redis", "component": "replica"}},
            SENTINEL_SERVICE: {**headless, "selector": {"app": "redis-sentinel", "component": "sentinel"}},
        },
        budgets={},
        rollout=None,
    )


class SeedCluster(PodCluster):
    """The seed's pods on the local Docker engine, run as PodCluster runs the prod stack's."""

    def __init__(self, **_: Any):  # noqa: D107 -- no program: the seed's objects instead of a declaration
        self.password = secrets.token_urlsafe(24)  # a test password: the seed's is never used
        self.run_id = "seed" + secrets.token_hex(3)
        self.overrides = {"namespace": NAMESPACE}
        self.labels = {LABEL: self.run_id}
        self.engine = docker.from_env(timeout=120)
        self.program = None
        self.declared = seed_objects(self.password)
        self.pods, self.deleted, self.host_ports, self.nat_map = {}, [], {}, {}
        self.network_name = f"{self.run_id}-net"
        self.ready_seconds, self.first_templates = {}, {}

    @property
    def outputs(self) -> dict[str, Any]:
        return {"masterName": MASTER_NAME}

    def client(self, pod: str, **kwargs) -> redis.Redis:
        """A node or Sentinel through its published port: the one password on the nodes, none on the Sentinels."""
        sentinel = pod in self.sentinel_names()
        options = dict(
            password=None if sentinel else self.password,
            socket_timeout=2,
            socket_connect_timeout=2,
            decode_responses=True,
        )
        port = self.host_port(pod, 26379 if sentinel else 6379)
        return redis.Redis(host="127.0.0.1", port=port, retry=NO_RETRY, **{**options, **kwargs})

    def client_settings(self) -> dict:
        """What an application of the old setup connects with (harness.writer.Writer's arguments)."""
        return dict(
            sentinels=self._sentinels(),
            master_name=MASTER_NAME,
            redis_password=self.password,
            sentinel_password=None,
            nat_map=self.nat_map,
            username=None,
            sentinel_username=None,
        )

    def settled(self) -> bool:
        """Whether every Sentinel knows both replicas and both peers (hello every 2 s, replica INFO every 10 s)."""
        try:
            for pod in self.sentinel_names():
                state = self.client(pod).sentinel_master(MASTER_NAME)
                if state["num-slaves"] != 2 or state["num-other-sentinels"] != 2:
                    return False
            return True
        except (redis.RedisError, OSError):
            return False

    def connect(self, holder: Any) -> None:
        """Attach a pod of another cluster (its holder, which owns its network) to this one's network: the path a
        NetworkPolicy opens on a real cluster (docs/migration.md)."""
        self.engine.networks.get(self.network_name).connect(holder)

    def disconnect(self, holder: Any) -> None:
        self.engine.networks.get(self.network_name).disconnect(holder)
