"""Runs the prod stack's pods for real: every container of the declared StatefulSets' pod specs (and the check
Job's) as Docker containers, under the pod spec's security context, for tests/pods and bench/pods.py.

`__main__.py` runs under Pulumi mocks with the real Pulumi.prod.yaml plus overrides (local images, a unique
namespace); the declared StatefulSets, Services, ConfigMaps, Secrets and the Job are then run the way the
kubelet and the controllers would run them on one node (docs/prod-pods.md says what is modelled and what not):

- a pod is a holder container (the Redis image running `sleep infinity`, under the pod's security context) that
  owns the network namespace, on one labelled network, with the pod's DNS name through its headless Service
  (`<pod>.<service>.<namespace>.svc.cluster.local`) as an alias from the moment it exists
  (`publishNotReadyAddresses`); every container of the spec joins it (`network_mode=container:<holder>`);
- ConfigMap and Secret volumes are labelled volumes holding the files with the declared modes, owned
  root:fsGroup, mounted read-only; `emptyDir` with `medium: Memory` is a tmpfs of `sizeLimit`; the
  `volumeClaimTemplates` volume is a labelled volume per pod (kept when the pod is deleted), given to fsGroup as
  the kubelet does (group fsGroup, g+rwX, setgid directories);
- the container's user and group, fsGroup as a supplementary group, a read-only root filesystem, the dropped
  capabilities, no-new-privileges; memory and CPU limits;
- env with `valueFrom` (`fieldRef` metadata.name / metadata.namespace, `secretKeyRef`) and Kubernetes' `$(VAR)`
  expansion in env values, command and args; `command` replaces the image's entrypoint, `args` its CMD;
- probes as the kubelet runs them: exec in the container and httpGet to the pod's port, at their period, with
  their timeout and thresholds, liveness and readiness only once the startup probe passed; a failed liveness or
  startup probe restarts the container (preStop, SIGTERM, SIGKILL after the grace period, start);
- deleting a pod as the kubelet does: preStop, then SIGTERM, SIGKILL once terminationGracePeriodSeconds is spent.

A field the runner does not implement (anywhere in a StatefulSet or Job spec) is an error naming its path.
Every port a pod's containers declare is published on 127.0.0.1 (the host reaches the pods only that way).
Everything created carries the label festival-redis.test=<run id> and is removed by teardown(); an object of the
same name without that label is never touched.
"""

from __future__ import annotations

import concurrent.futures
import io
import re
import secrets
import tarfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import docker
import redis
from docker.errors import NotFound
from redis.backoff import NoBackoff
from redis.retry import Retry

from components import passwords, passwords_resource, tls, users
from components.checks import Report
from components.checks.observe import Target, check_deployment, nat_addresses
from components.kubernetes import rollout as redis_rollout
from components.kubernetes.names import NODES_SECRET_NAME, SECRET_NAME
from harness.docker_runner import POD_PORTS, free_port_run
from harness.engine import EXPORTER_IMAGE, LABEL, REDIS_IMAGE, leftovers, remove_labelled
from harness.program import Program, as_ints, run_program
from harness.runtime import Observer, wait_until
from harness.writer import NatSentinel, Writer, sentinel_client

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
DYNAMIC = "pulumi-python:dynamic:Resource"
ROLLOUT_SUFFIX = "-redis-rollout"  # components/kubernetes/platform.py's RedisRollout
PASSWORDS_SUFFIX = "-redis-passwords"  # components/platform.py's RedisPasswords
JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
BUDGET = "kubernetes:policy/v1:PodDisruptionBudget"
CHECK_SCRIPT = "check-job.sh"  # the check Job's script in its ConfigMap
NO_RETRY = Retry(NoBackoff(), 0)
DEFAULT_GRACE = 30  # terminationGracePeriodSeconds when a spec has none
IMAGE_VOLUMES_OF_HOLDER = ("/data",)  # the Redis image's VOLUME, covered by a tmpfs in holders and helpers
MIN_GRACE_AFTER_PRESTOP = 2  # the kubelet's minimum for SIGTERM after a preStop hook used the grace period up

# --- what the runner implements ----------------------------------------------------------------------------
# Nested field specs: ANY takes the value as is, a dict is an object's fields, a one-element list a list of them.
ANY = True
_PROBE = {
    "exec": {"command": ANY},
    "httpGet": {"path": ANY, "port": ANY},
    "periodSeconds": ANY,
    "timeoutSeconds": ANY,
    "failureThreshold": ANY,
    "successThreshold": ANY,
    "initialDelaySeconds": ANY,
}
_CONTAINER = {
    "name": ANY,
    "image": ANY,
    "command": ANY,
    "args": ANY,
    "env": [
        {
            "name": ANY,
            "value": ANY,
            "valueFrom": {"fieldRef": {"fieldPath": ANY}, "secretKeyRef": {"name": ANY, "key": ANY}},
        }
    ],
    "ports": [{"name": ANY, "containerPort": ANY, "protocol": ANY}],
    "resources": {"requests": ANY, "limits": {"cpu": ANY, "memory": ANY}},  # requests: scheduling only
    "securityContext": {
        "allowPrivilegeEscalation": ANY,
        "readOnlyRootFilesystem": ANY,
        "runAsNonRoot": ANY,
        "runAsUser": ANY,
        "runAsGroup": ANY,
        "capabilities": {"drop": ANY},
    },
    "volumeMounts": [{"name": ANY, "mountPath": ANY, "readOnly": ANY}],
    "startupProbe": _PROBE,
    "livenessProbe": _PROBE,
    "readinessProbe": _PROBE,
    "lifecycle": {"preStop": {"exec": {"command": ANY}}},
}
_ITEMS = [{"key": ANY, "path": ANY, "mode": ANY}]
_POD_SPEC = {
    "containers": [_CONTAINER],
    "volumes": [
        {
            "name": ANY,
            "configMap": {"name": ANY, "defaultMode": ANY, "items": _ITEMS},
            "secret": {"secretName": ANY, "defaultMode": ANY, "items": _ITEMS},
            "emptyDir": {"medium": ANY, "sizeLimit": ANY},
        }
    ],
    "securityContext": {
        "runAsNonRoot": ANY,
        "runAsUser": ANY,
        "runAsGroup": ANY,
        "fsGroup": ANY,
        "fsGroupChangePolicy": ANY,
        "seccompProfile": {"type": ANY},
    },
    "terminationGracePeriodSeconds": ANY,
    "automountServiceAccountToken": ANY,
    "enableServiceLinks": ANY,
    "restartPolicy": ANY,
    # Scheduling only: one Docker host has one node and no zone, so spreading has nothing to choose from.
    "affinity": ANY,
    "topologySpreadConstraints": ANY,
}
_TEMPLATE = {"metadata": {"labels": ANY, "annotations": ANY}, "spec": _POD_SPEC}
STATEFULSET_SPEC = {
    "serviceName": ANY,
    "replicas": ANY,
    "podManagementPolicy": ANY,
    "updateStrategy": {"type": ANY},
    "selector": {"matchLabels": ANY},
    "template": _TEMPLATE,
    # Storage class, size and access modes: a local volume has none of them (docs/prod-pods.md).
    "volumeClaimTemplates": [{"metadata": {"name": ANY, "labels": ANY}, "spec": ANY}],
}
JOB_SPEC = {"backoffLimit": ANY, "activeDeadlineSeconds": ANY, "template": _TEMPLATE}
# Values the runner implements only in one form: (path pattern, allowed values).
REQUIRED_VALUES = [
    (r".*\.automountServiceAccountToken", {False}),  # no API server: no token to mount
    (r".*\.enableServiceLinks", {False}),  # no Service environment variables are injected
    (r".*\.seccompProfile\.type", {"RuntimeDefault"}),  # Docker's default profile
    (r".*\.emptyDir\.medium", {"Memory"}),
    (r".*\.updateStrategy\.type", {"OnDelete"}),  # pods are replaced by the RedisRollout the program declares
    (r".*\.podManagementPolicy", {"Parallel"}),
    (r".*\.ports\[\d+\]\.protocol", {"TCP"}),
    (r".*\.fsGroupChangePolicy", {"Always", "OnRootMismatch"}),
]


class UnimplementedField(Exception):
    """A pod spec uses something this runner does not run: the message names the field path."""


class NotOurs(Exception):
    """A Docker object this runner did not create: never touched."""


def check_fields(value: Any, spec: Any, path: str) -> None:
    """Raise UnimplementedField for the first field of `value` that `spec` does not list (or a value it does not
    implement)."""
    for pattern, allowed in REQUIRED_VALUES:
        if re.fullmatch(pattern, path) and value not in allowed:
            raise UnimplementedField(f"{path} = {value!r}: only {sorted(allowed, key=str)} is implemented")
    if spec is ANY:
        return
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise UnimplementedField(f"{path}: expected a list")
        for i, item in enumerate(value):
            check_fields(item, spec[0], f"{path}[{i}]")
        return
    if not isinstance(value, dict):
        raise UnimplementedField(f"{path}: expected an object")
    for key, item in value.items():
        if key not in spec:
            raise UnimplementedField(f"{path}.{key}: field not implemented by harness/pod_runner.py")
        check_fields(item, spec[key], f"{path}.{key}")


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: a defined variable is replaced, an undefined reference stays as written,
    `$$` is a literal `$` (so `$$(VAR)` gives `$(VAR)`)."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


def quantity_bytes(text: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", str(text))
    if not match or (match.group(2) and match.group(2) not in units):
        raise UnimplementedField(f"quantity {text!r} not implemented")
    return int(match.group(1)) * units.get(match.group(2), 1)


def cpu_nanos(text: str) -> int:
    text = str(text)
    return int(text[:-1]) * 10**6 if text.endswith("m") else int(float(text) * 10**9)


@dataclass
class Workload:
    kind: str  # StatefulSet or Job
    name: str
    spec: dict
    labels: dict

    @property
    def template(self) -> dict:
        return self.spec["template"]


@dataclass
class Declared:
    """What one run of the program declares, as the API server would hold it."""

    namespace: str
    statefulsets: list[Workload]
    job: Workload
    config_maps: dict[str, dict[str, str]]
    secrets: dict[str, dict[str, str]]
    services: dict[str, dict]
    budgets: dict[str, dict]  # PodDisruptionBudget name -> spec
    rollout: dict | None  # RedisRollout's inputs

    @classmethod
    def of(cls, program: Program) -> Declared:
        objects = {
            kind: [as_ints(r.plain) for r in program.resources if r.type == kind]
            for kind in (STATEFULSET, JOB, CONFIG_MAP, SECRET, SERVICE, BUDGET)
        }
        statefulsets = [
            Workload("StatefulSet", o["metadata"]["name"], o["spec"], o["spec"]["template"]["metadata"]["labels"])
            for o in objects[STATEFULSET]
        ]
        (job,) = [Workload("Job", o["metadata"]["name"], o["spec"], {}) for o in objects[JOB]]
        for workload in [*statefulsets, job]:
            check_fields(workload.spec, STATEFULSET_SPEC if workload.kind == "StatefulSet" else JOB_SPEC, workload.name)
        (namespace,) = {o["metadata"]["namespace"] for kind in objects.values() for o in kind}
        return cls(
            namespace=namespace,
            statefulsets=statefulsets,
            job=job,
            config_maps={o["metadata"]["name"]: o["data"] for o in objects[CONFIG_MAP]},
            secrets={o["metadata"]["name"]: o["stringData"] for o in objects[SECRET]},
            services={o["metadata"]["name"]: o["spec"] for o in objects[SERVICE]},
            budgets={o["metadata"]["name"]: o["spec"] for o in objects[BUDGET]},
            rollout=next(
                (as_ints(r.plain) for r in program.resources if r.type == DYNAMIC and r.name.endswith(ROLLOUT_SUFFIX)),
                None,
            ),
        )

    def statefulset(self, name: str) -> Workload:
        (found,) = [s for s in self.statefulsets if s.name == name]
        return found


def _tar(files: dict[str, tuple[bytes, int, int, int]]) -> bytes:
    """Files (path -> (content, mode, uid, gid)) as a tar archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, (data, mode, uid, gid) in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class ProbeResult:
    ok: bool
    detail: str


class Pod:
    """One pod of a StatefulSet or of the Job: a holder with the network namespace, then the spec's containers."""

    def __init__(self, cluster: PodCluster, name: str, workload: Workload, aliases: list[str], claims: list[str]):
        self.cluster, self.name, self.workload = cluster, name, workload
        self.template = workload.template
        self.spec = self.template["spec"]
        self.aliases, self.claims = aliases, claims
        self.containers: dict[str, Any] = {}
        self.image_volumes: list[str] = []
        self.started: dict[str, bool] = {}
        self.ready_flags: dict[str, bool] = {}
        self.restarts: dict[str, int] = {}
        self.probe_log: list[str] = []
        self.prestop: dict[str, tuple[int, str, float]] = {}  # container -> (exit code, output, seconds)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=8)
        self.created_at = self.ready_at = 0.0
        self.holder = None

    # --- names ------------------------------------------------------------------------------------------------
    @property
    def holder_id(self) -> str:
        """Unique to this pod (a recreated pod of the same name has another), as a pod's uid."""
        return self.holder.id if self.holder is not None else ""

    @property
    def holder_name(self) -> str:
        return f"{self.cluster.run_id}-{self.name}"

    def container_name(self, container: str) -> str:
        return f"{self.holder_name}-{container}"

    def volume_name(self, volume: str) -> str:
        if volume in self.claims:  # a claim from volumeClaimTemplates: <claim>-<pod>, kept across pod deletion
            return f"{self.cluster.run_id}-{volume}-{self.name}"
        return f"{self.holder_name}-{volume}"

    # --- creation ---------------------------------------------------------------------------------------------
    @property
    def security(self) -> dict:
        return self.spec.get("securityContext", {})

    def _user(self, container: dict) -> tuple[int, int]:
        context = {**self.security, **container.get("securityContext", {})}
        uid, gid = context.get("runAsUser"), context.get("runAsGroup")
        if uid is None or gid is None:
            raise UnimplementedField(f"{self.name}: containers without runAsUser/runAsGroup (the image's user)")
        if context.get("runAsNonRoot") and uid == 0:
            raise RuntimeError(f"{self.name}/{container['name']}: runAsNonRoot with runAsUser 0 (the kubelet refuses)")
        return uid, gid

    def _host_config_common(self, container: dict) -> dict:
        context = container.get("securityContext", {})
        limits = container.get("resources", {}).get("limits", {})
        return dict(
            read_only=bool(context.get("readOnlyRootFilesystem")),
            cap_drop=list(context.get("capabilities", {}).get("drop", [])),
            security_opt=["no-new-privileges"] if context.get("allowPrivilegeEscalation") is False else [],
            group_add=[str(self.security["fsGroup"])] if "fsGroup" in self.security else [],
            mem_limit=quantity_bytes(limits["memory"]) if "memory" in limits else None,
            nano_cpus=cpu_nanos(limits["cpu"]) if "cpu" in limits else None,
        )

    def create(self) -> None:
        """Volumes, holder, then every container in spec order (the kubelet starts them in order, without
        waiting for one to be ready); then the probes."""
        self.created_at = time.monotonic()
        self._volumes()
        self._holder()
        for container in self.spec["containers"]:
            self._container(container)
        for container in self.spec["containers"]:
            self._start_probes(container)

    def _volumes(self) -> None:
        """ConfigMap / Secret files (mode as declared, owner root, group fsGroup), the claims (created once, then
        kept), and fsGroup applied to them, through one root helper container, as the kubelet does."""
        fs_group = self.security.get("fsGroup", 0)
        binds, files = {}, {}
        for volume in self.spec.get("volumes", []):
            source = volume.get("configMap") or volume.get("secret")
            if source is None:
                continue  # emptyDir: a tmpfs per container (see _container)
            name = self.volume_name(volume["name"])
            self.cluster.new_volume(name)
            binds[name] = {"bind": f"/v/{volume['name']}", "mode": "rw"}
            if "configMap" in volume:
                data = self.cluster.declared.config_maps[source["name"]]
            else:
                data = self.cluster.declared.secrets[source["secretName"]]
            items = source.get("items") or [{"key": key, "path": key} for key in data]
            for item in items:
                mode = item.get("mode", source.get("defaultMode", 0o644))
                files[f"v/{volume['name']}/{item['path']}"] = (data[item["key"]].encode(), mode, 0, fs_group)
        for claim in self.claims:
            name = self.volume_name(claim)
            if not self.cluster.volume_exists(name):
                self.cluster.new_volume(name)
            binds[name] = {"bind": f"/claims/{claim}", "mode": "rw"}
        # fsGroup on the claims: group fsGroup, g+rwX, setgid directories; with fsGroupChangePolicy
        # OnRootMismatch only when the volume's root is not so already.
        skip = ""
        if self.security.get("fsGroupChangePolicy") == "OnRootMismatch":
            skip = f'[ "$(stat -c %g:%A "$d")" = "{fs_group}:drwxrwsr-x" ] && continue; '
        script = f'set -e; for d in /claims/*; do [ -d "$d" ] || continue; {skip}'
        script += f'chgrp -R {fs_group} "$d"; chmod -R g+rwX "$d"; find "$d" -type d -exec chmod g+s {{}} +; done'
        api = self.cluster.engine.api
        helper = api.create_container(
            REDIS_IMAGE,
            command=["sh", "-c", script],
            user="0:0",
            labels=self.cluster.labels,
            host_config=api.create_host_config(
                binds={k: {**v, "mode": "rw,nocopy"} for k, v in binds.items()},
                tmpfs={path: "size=1m" for path in IMAGE_VOLUMES_OF_HOLDER},  # no anonymous volume
            ),
        )
        try:
            if files:
                api.put_archive(helper["Id"], "/", _tar(files))
            api.start(helper["Id"])
            result = api.wait(helper["Id"], timeout=60)
            if result["StatusCode"] != 0:
                raise RuntimeError(f"{self.name}: volume set-up failed: {api.logs(helper['Id']).decode()}")
        finally:
            api.remove_container(helper["Id"], force=True, v=True)

    def refresh_secrets(self) -> None:
        """The kubelet's update of the pod's Secret volumes after a Secret changed: every file written again from
        the declared Secret, in place (the containers keep running)."""
        fs_group = self.security.get("fsGroup", 0)
        binds, files = {}, {}
        for volume in self.spec.get("volumes", []):
            source = volume.get("secret")
            if source is None:
                continue
            binds[self.volume_name(volume["name"])] = {"bind": f"/v/{volume['name']}", "mode": "rw,nocopy"}
            data = self.cluster.declared.secrets[source["secretName"]]
            for item in source.get("items") or [{"key": key, "path": key} for key in data]:
                mode = item.get("mode", source.get("defaultMode", 0o644))
                files[f"v/{volume['name']}/{item['path']}"] = (data[item["key"]].encode(), mode, 0, fs_group)
        api = self.cluster.engine.api
        helper = api.create_container(
            REDIS_IMAGE,
            command=["true"],
            user="0:0",
            labels=self.cluster.labels,
            host_config=api.create_host_config(
                binds=binds, tmpfs={path: "size=1m" for path in IMAGE_VOLUMES_OF_HOLDER}
            ),
        )
        try:
            api.put_archive(helper["Id"], "/", _tar(files))
        finally:
            api.remove_container(helper["Id"], force=True, v=True)

    def _holder(self) -> None:
        """The pod's network namespace: its DNS names as aliases, every declared port published on 127.0.0.1."""
        engine = self.cluster.engine
        ports = [p["containerPort"] for c in self.spec["containers"] for p in c.get("ports", [])]
        # A recreated pod keeps its host ports (its address in the NAT map). Docker's own choice would come from the
        # ephemeral range, where a loopback node or a client's connection may take it while the pod is gone.
        known = self.cluster.host_ports.setdefault(self.name, {})
        taken = {port for pod in self.cluster.host_ports.values() for port in pod.values()}
        for port in ports:
            if port not in known:
                known[port] = free_port_run(1, avoid=taken, within=POD_PORTS)
                taken.add(known[port])
        uid, gid = self._user(self.spec["containers"][0])
        api = engine.api
        created = api.create_container(
            REDIS_IMAGE,
            name=self.holder_name,
            hostname=self.name,
            command=["sleep", "infinity"],
            user=f"{uid}:{gid}",
            labels={**self.cluster.labels, f"{LABEL}.pod": self.name},
            ports=[(p, "tcp") for p in ports],
            host_config=api.create_host_config(
                port_bindings={f"{p}/tcp": ("127.0.0.1", known[p]) for p in ports},
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                tmpfs={path: "size=1m" for path in IMAGE_VOLUMES_OF_HOLDER},  # no anonymous volume
            ),
            networking_config=api.create_networking_config(
                {self.cluster.network_name: api.create_endpoint_config(aliases=self.aliases)}
            ),
        )
        api.start(created["Id"])
        self.holder = engine.containers.get(created["Id"])

    def env_of(self, container: dict) -> dict[str, str]:
        env: dict[str, str] = {}
        for item in container.get("env", []):
            if "valueFrom" in item:
                source = item["valueFrom"]
                if "fieldRef" in source:
                    path = source["fieldRef"]["fieldPath"]
                    fields = {"metadata.name": self.name, "metadata.namespace": self.cluster.declared.namespace}
                    if path not in fields:
                        raise UnimplementedField(f"{self.name}: env {item['name']} fieldRef {path} not implemented")
                    env[item["name"]] = fields[path]
                else:
                    ref = source["secretKeyRef"]
                    env[item["name"]] = self.cluster.declared.secrets[ref["name"]][ref["key"]]
            else:
                env[item["name"]] = expand(item.get("value", ""), env)
        return env

    def _container(self, container: dict) -> None:
        api = self.cluster.engine.api
        env = self.env_of(container)
        uid, gid = self._user(container)
        volumes = {v["name"]: v for v in self.spec.get("volumes", [])}
        binds, tmpfs = {}, {}
        for mount in container.get("volumeMounts", []):
            volume = volumes.get(mount["name"])
            if mount["name"] in self.claims:
                mode = "ro" if mount.get("readOnly") else "rw"
                binds[self.volume_name(mount["name"])] = {"bind": mount["mountPath"], "mode": f"{mode},nocopy"}
            elif volume is None:
                raise UnimplementedField(f"{self.name}/{container['name']}: volumeMount {mount['name']} has no volume")
            elif "emptyDir" in volume:
                users = [
                    c["name"]
                    for c in self.spec["containers"]
                    for m in c.get("volumeMounts", [])
                    if m["name"] == mount["name"]
                ]
                if len(users) > 1:
                    raise UnimplementedField(f"{self.name}: emptyDir {mount['name']} shared by {users}")
                size = quantity_bytes(volume["emptyDir"].get("sizeLimit", "64Mi"))
                fs_group = self.security.get("fsGroup", 0)
                tmpfs[mount["mountPath"]] = f"size={size},mode=1777,gid={fs_group}"
            else:
                if not mount.get("readOnly"):
                    raise UnimplementedField(f"{self.name}: ConfigMap/Secret volume {mount['name']} mounted writable")
                binds[self.volume_name(mount["name"])] = {"bind": mount["mountPath"], "mode": "ro,nocopy"}
        # A VOLUME of the image that no mount covers (the Redis image's /data in the check Job): a labelled volume
        # of its own, as containerd gives such a path a writable directory per container (docs/prod-pods.md).
        image_volumes = self.cluster.engine.images.get(container["image"]).attrs["Config"].get("Volumes") or {}
        for path in sorted(set(image_volumes) - {m["mountPath"] for m in container.get("volumeMounts", [])}):
            name = f"{self.container_name(container['name'])}{path.replace('/', '-')}"
            self.cluster.new_volume(name)
            self.image_volumes.append(name)
            binds[name] = {"bind": path, "mode": "rw"}
        created = api.create_container(
            container["image"],
            name=self.container_name(container["name"]),
            entrypoint=[expand(a, env) for a in container["command"]] if "command" in container else None,
            command=[expand(a, env) for a in container.get("args", [])] or None,
            environment=env,
            user=f"{uid}:{gid}",
            labels={**self.cluster.labels, f"{LABEL}.pod": self.name},
            host_config=api.create_host_config(
                network_mode=f"container:{self.holder.id}",
                binds=binds,
                tmpfs=tmpfs,
                **self._host_config_common(container),
            ),
        )
        api.start(created["Id"])
        self.containers[container["name"]] = self.cluster.engine.containers.get(created["Id"])
        self.restarts.setdefault(container["name"], 0)
        self.started[container["name"]] = "startupProbe" not in container
        self.ready_flags[container["name"]] = False

    # --- probes -----------------------------------------------------------------------------------------------
    def _start_probes(self, container: dict) -> None:
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            if kind in container:
                thread = threading.Thread(target=self._probe_loop, args=(container, kind), daemon=True)
                thread.start()
                self._threads.append(thread)
        if "readinessProbe" not in container:
            self.ready_flags[container["name"]] = True  # ready once running (and started)

    def exec(self, container: str, command: list[str], timeout: float) -> tuple[int | None, str]:
        """Exec in a container as its user; (None, ...) when it did not finish within `timeout` seconds or the
        container is not running (exited, or being restarted): a failed probe, as for the kubelet."""
        future = self._executor.submit(self.containers[container].exec_run, command)
        try:
            result = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            return None, f"timed out after {timeout}s"
        except docker.errors.APIError as error:
            # 409: the container is not running; 404: it (or the exec) went while the exec ran (a restart). A raise
            # here would end the probe thread, and the pod would never be counted ready again.
            if error.status_code not in (404, 409):
                raise
            return None, f"not running: {error.explanation}"
        return result.exit_code, result.output.decode(errors="replace")

    def run_probe(self, container: dict, probe: dict) -> ProbeResult:
        timeout = probe.get("timeoutSeconds", 1)
        if "exec" in probe:
            code, output = self.exec(container["name"], probe["exec"]["command"], timeout)
            return ProbeResult(code == 0, f"exit {code}: {output.strip()[-200:]}")
        http = probe["httpGet"]
        port = http["port"]
        if isinstance(port, str):
            port = next(p["containerPort"] for p in container.get("ports", []) if p.get("name") == port)
        url = f"http://127.0.0.1:{self.cluster.host_ports[self.name][port]}{http.get('path', '/')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return ProbeResult(200 <= response.status < 400, f"HTTP {response.status}")
        except OSError as error:
            return ProbeResult(False, f"{type(error).__name__}: {error}")

    def _probe_loop(self, container: dict, kind: str) -> None:
        name, probe = container["name"], container[kind]
        period = probe.get("periodSeconds", 10)
        failures_allowed = probe.get("failureThreshold", 3)
        successes_needed = probe.get("successThreshold", 1)
        failures = successes = 0
        if self._stop.wait(probe.get("initialDelaySeconds", 0)):
            return
        while not self._stop.is_set():
            if kind == "startupProbe" and self.started[name]:
                return
            if kind != "startupProbe" and not self.started[name]:
                failures = successes = 0
                self._stop.wait(period)
                continue
            result = self.run_probe(container, probe)
            if self._stop.is_set():
                return
            if result.ok:
                failures, successes = 0, successes + 1
                if kind == "startupProbe":
                    self.started[name] = True
                elif kind == "readinessProbe" and successes >= successes_needed:
                    self.ready_flags[name] = True
            else:
                successes, failures = 0, failures + 1
                self.probe_log.append(f"{time.monotonic():.1f} {name} {kind} failed ({failures}): {result.detail}")
                if kind == "readinessProbe" and failures >= failures_allowed:
                    self.ready_flags[name] = False
                if kind in ("livenessProbe", "startupProbe") and failures >= failures_allowed:
                    self.restart_container(container, f"{kind} failed {failures} times")
                    failures = 0
            self._stop.wait(period)

    def restart_container(self, container: dict, reason: str) -> None:
        """What the kubelet does on a failed liveness or startup probe: kill (preStop, SIGTERM, SIGKILL) and
        start the same container again; it is not ready and not started until its probes say so."""
        name = container["name"]
        self.probe_log.append(f"{time.monotonic():.1f} {name} restarted: {reason}")
        self.ready_flags[name] = False
        self.started[name] = "startupProbe" not in container
        self._kill(container, time.monotonic() + self.spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE))
        self.containers[name].start()
        self.restarts[name] += 1

    @property
    def ready(self) -> bool:
        return bool(self.containers) and all(self.ready_flags.values())

    def wait_ready(self, timeout: float) -> float:
        """Seconds from the pod's creation until every container is ready."""
        try:
            wait_until(lambda: self.ready, timeout, interval=0.1, what=f"pod {self.name} to be ready")
        except TimeoutError as error:
            raise TimeoutError(f"{error}; probes: {self.probe_log[-6:]}\n{self.logs()}") from error
        if not self.ready_at:
            self.ready_at = time.monotonic()
        return self.ready_at - self.created_at

    # --- deletion ---------------------------------------------------------------------------------------------
    def _kill(self, container: dict, deadline: float) -> None:
        """preStop (bounded by the grace period), SIGTERM, SIGKILL when the grace period is spent."""
        docker_container = self.containers[container["name"]]
        hook = container.get("lifecycle", {}).get("preStop")
        if hook:
            started = time.monotonic()
            code, output = self.exec(container["name"], hook["exec"]["command"], max(deadline - started, 0))
            self.prestop[container["name"]] = (code, output, time.monotonic() - started)
        remaining = max(deadline - time.monotonic(), MIN_GRACE_AFTER_PRESTOP if hook else 0)
        try:
            docker_container.kill(signal="SIGTERM")
            docker_container.wait(timeout=remaining)
        except docker.errors.APIError:
            return  # not running
        except Exception:  # the wait timed out: the grace period is spent
            docker_container.kill(signal="SIGKILL")
            docker_container.wait(timeout=30)

    def delete(self) -> float:
        """As the kubelet deletes a pod: probes stop, every container is killed at once (preStop, SIGTERM,
        SIGKILL at the end of terminationGracePeriodSeconds), then the holder; the claims stay. Seconds taken."""
        started = time.monotonic()
        self._stop.set()
        deadline = started + self.spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
        threads = [
            threading.Thread(target=self._kill, args=(container, deadline)) for container in self.spec["containers"]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for container in self.containers.values():
            container.remove(force=True, v=True)  # v: the anonymous volume of the image's VOLUME /data
        self.holder.remove(force=True, v=True)
        for volume in self.spec.get("volumes", []):
            if volume["name"] not in self.claims and "emptyDir" not in volume:
                self.cluster.remove_volume(self.volume_name(volume["name"]))
        for name in self.image_volumes:
            self.cluster.remove_volume(name)
        self._executor.shutdown(wait=False, cancel_futures=True)
        return time.monotonic() - started

    def logs(self, tail: int = 30) -> str:
        parts = []
        for name, container in self.containers.items():
            try:
                text = container.logs(tail=tail).decode(errors="replace")
            except NotFound:
                text = "(gone)"
            parts.append(f"--- {self.name}/{name} ---\n{text}")
        return "\n".join(parts)


@dataclass
class JobRun:
    exit_code: int
    output: str
    seconds: float
    attempts: int
    pod: str
    inspect: dict  # the check container as the engine ran it (docker inspect)


@dataclass
class Rollout:
    """What a rolling update did: pods in the order they were replaced, and the seconds each took."""

    pods: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)  # pods a scale-up created
    removed: list[str] = field(default_factory=list)  # pods a scale-down deleted


def default_overrides(**overrides: Any) -> dict[str, Any]:
    """Local images, a namespace of its own (part of every DNS name), a short failover timeout. down-after stays at
    the prod value (5000 ms): a master that went away without handing over costs writers at least that long, so
    the hand-over figures cannot be mistaken for an unplanned failover."""
    return {
        "redisImage": REDIS_IMAGE,
        "exporterImage": EXPORTER_IMAGE,
        "namespace": "frt" + secrets.token_hex(3),
        "failoverTimeout": 10000,
        **overrides,
    }


class PodCluster(Observer):
    """The prod stack's pods on the local Docker engine: one node, the StatefulSet controller's and the kubelet's
    behaviour as far as tests need it."""

    def __init__(self, **overrides: Any):
        self.overrides = default_overrides(**overrides)
        self.run_id = self.overrides["namespace"]
        self.labels = {LABEL: self.run_id}
        self.engine = docker.from_env(timeout=120)
        self.program = run_program("prod", self.overrides)
        self.declared = Declared.of(self.program)
        self.pods: dict[str, Pod] = {}
        self.deleted: list[Pod] = []  # every pod deleted, in order (their preStop outputs)
        self.host_ports: dict[str, dict[int, int]] = {}
        self.nat_map: dict[str, dict] = {}
        self.network_name = f"{self.run_id}-net"
        self.ready_seconds: dict[str, float] = {}
        self.first_templates: dict[str, dict] = {}  # each StatefulSet's template when it was created

    # --- engine objects ---------------------------------------------------------------------------------------
    def _owned(self, obj) -> bool:
        labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
        return labels.get(LABEL) == self.run_id

    def volume_exists(self, name: str) -> bool:
        try:
            volume = self.engine.volumes.get(name)
        except NotFound:
            return False
        if not self._owned(volume):
            raise NotOurs(f"volume {name} exists and is not ours")
        return True

    def new_volume(self, name: str) -> None:
        if self.volume_exists(name):
            raise RuntimeError(f"volume {name} exists already")
        self.engine.volumes.create(name, labels=self.labels)

    def remove_volume(self, name: str) -> None:
        if self.volume_exists(name):
            self.engine.volumes.get(name).remove(force=True)

    # --- the StatefulSet controller -----------------------------------------------------------------------------
    def pod_names(self, workload: Workload) -> list[str]:
        return [f"{workload.name}-{i}" for i in range(workload.spec["replicas"])]

    def _aliases(self, workload: Workload, pod: str) -> list[str]:
        """The pod's DNS name through its headless Service, which must publish not-ready addresses and select it."""
        service_name = workload.spec["serviceName"]
        service = self.declared.services.get(service_name)
        if service is None or service.get("clusterIP") != "None":
            raise UnimplementedField(f"{workload.name}.spec.serviceName: {service_name} is no headless Service")
        if not service.get("publishNotReadyAddresses"):
            raise UnimplementedField(f"Service {service_name}: publishNotReadyAddresses false (ready-only DNS)")
        if any(workload.labels.get(k) != v for k, v in service["selector"].items()):
            raise RuntimeError(f"Service {service_name} does not select the pods of {workload.name}")
        return [f"{pod}.{service_name}.{self.declared.namespace}.svc.cluster.local"]

    def create_pod(self, workload: Workload, pod: str) -> Pod:
        if pod in self.pods:
            raise RuntimeError(f"pod {pod} exists")
        claims = [t["metadata"]["name"] for t in workload.spec.get("volumeClaimTemplates", [])]
        created = Pod(self, pod, workload, self._aliases(workload, pod), claims)
        self.pods[pod] = created
        created.create()
        self._publish(created)
        return created

    def _publish(self, pod: Pod) -> None:
        """The NAT map: every announced name:port of the pod -> its published port on 127.0.0.1."""
        for port, host_port in self.host_ports[pod.name].items():
            for alias in pod.aliases:
                self.nat_map[f"{alias}:{port}"] = {"host": "127.0.0.1", "port": host_port}

    def deploy(self, timeout: float = 120) -> dict[str, float]:
        """The network, then each StatefulSet in declaration order (`pulumi up` awaits each before the next, by
        depends_on: every pod ready on a new set, manifests.statefulset_await), its pods created together
        (podManagementPolicy Parallel); seconds from creation to ready."""
        if self.engine.networks.list(names=[self.network_name]):
            raise NotOurs(f"network {self.network_name} exists already")
        self.engine.networks.create(self.network_name, driver="bridge", labels=self.labels)
        for workload in self.declared.statefulsets:
            self.first_templates[workload.name] = workload.template
            pods = [self.create_pod(workload, name) for name in self.pod_names(workload)]
            for pod in pods:
                self.ready_seconds[pod.name] = pod.wait_ready(timeout)
        return dict(self.ready_seconds)

    def delete_pod(self, name: str) -> float:
        pod = self.pods.pop(name)
        self.deleted.append(pod)
        return pod.delete()

    def recreate_pod(self, name: str) -> Pod:
        """The StatefulSet controller's replacement for a deleted pod: same name, same claim, current template."""
        workload = next(w for w in self.declared.statefulsets if name in self.pod_names(w))
        return self.create_pod(workload, name)

    def rolling_update(self, program: Program, timeout: float = 120) -> Rollout:
        """Apply a new run of the program as `pulumi up` and the controller do: StatefulSets in declaration order,
        each scaled (`Parallel`: pods above the new count deleted together, missing ones created together;
        `OnDelete`: no pod replaced) and awaited as its `pulumi.com/waitFor` says (manifests.statefulset_await:
        every pod ready only while the set's template is still the one it was created with, since OnDelete never
        moves currentRevision), then the RedisRollout declared after them, which replaces the outdated pods as it
        does in `pulumi up`."""
        rollout = Rollout()
        self.program, self.declared = program, Declared.of(program)
        for workload in self.declared.statefulsets:
            wanted = self.pod_names(workload)
            for pod in [p for p, made in self.pods.items() if made.workload.name == workload.name and p not in wanted]:
                self.delete_pod(pod)
                rollout.removed.append(pod)
            for created in [self.create_pod(workload, pod) for pod in wanted if pod not in self.pods]:
                rollout.added.append(created.name)
            if workload.template == self.first_templates[workload.name]:
                for pod in wanted:
                    self.pods[pod].wait_ready(timeout)
        self.redis_rollout(rollout)
        return rollout

    def update_passwords(self, program: Program, late: Sequence[str] = (), delay: float = 0) -> list[str]:
        """A passwordGenerations change as `pulumi up` and the kubelet apply it: the Secrets change (no pod is
        replaced), every pod's Secret volume is rewritten (those of `late` pods `delay` seconds later, as the
        kubelet's sync may lag), and RedisPasswords' update runs passwords.apply through pod exec, with its
        declared inputs (it waits for the late pods' files). What it applied."""
        self.program, self.declared = program, Declared.of(program)
        props = next(as_ints(r.plain) for r in program.resources if r.name.endswith(PASSWORDS_SUFFIX))
        for name in [p for p in props["nodes"] if p not in late]:
            self.pods[name].refresh_secrets()
        timer = threading.Timer(delay, lambda: [self.pods[name].refresh_secrets() for name in late])
        timer.start()
        try:
            return passwords.apply(_PodScripts(self, props["containers"]), props["nodes"], props["fingerprint"])
        finally:
            timer.join()

    def redis_rollout(self, rollout: Rollout) -> None:
        """RedisRollout's update, with its declared inputs, on these pods; adds what it replaced to `rollout` (the
        seconds of a pod: from its deletion to the next deletion, or to the end of the rollout)."""
        deleted_at: list[float] = []
        replaced = redis_rollout.roll_deployment(
            self.declared.rollout, lambda statefulsets: RunnerPods(self, statefulsets, deleted_at), log=print
        )
        ends = [*deleted_at[1:], time.monotonic()]
        rollout.pods.extend(replaced)
        rollout.seconds.update({pod: end - start for pod, start, end in zip(replaced, deleted_at, ends)})

    # --- the check Job ------------------------------------------------------------------------------------------
    def run_job(self) -> JobRun:
        """The Job's pod (restartPolicy Never) to completion, retried up to backoffLimit times, within
        activeDeadlineSeconds."""
        job = self.declared.job
        spec = job.template["spec"]
        if spec.get("restartPolicy") != "Never":
            raise UnimplementedField(f"{job.name}: restartPolicy {spec.get('restartPolicy')!r}")
        started = time.monotonic()
        deadline = started + job.spec.get("activeDeadlineSeconds", 600)
        attempts = 0
        while True:
            attempts += 1
            name = f"{job.name}-{secrets.token_hex(3)[:5]}"
            pod = Pod(self, name, job, [], [])
            self.pods[name] = pod
            pod.create()
            (container,) = pod.containers.values()
            inspect = container.attrs
            try:
                result = container.wait(timeout=max(deadline - time.monotonic(), 1))
                code = result["StatusCode"]
            except Exception:
                code = -1  # activeDeadlineSeconds passed
            output = container.logs().decode(errors="replace")
            self.pods.pop(name)
            pod.delete()
            if code == 0 or attempts > job.spec.get("backoffLimit", 6) or time.monotonic() > deadline:
                return JobRun(code, output, time.monotonic() - started, attempts, name, inspect)

    # --- observing from the host ----------------------------------------------------------------------------------
    @property
    def redis_password(self) -> str:
        """The application user's, from the Secret applications read."""
        return self.declared.secrets[SECRET_NAME][users.APP.key]

    @property
    def sentinel_password(self) -> str:
        return self.declared.secrets[SECRET_NAME][users.SENTINEL_CLIENT.key]

    def admin_password(self, sentinel: bool) -> str:
        """The admin user's, from the Secret the pods mount."""
        return self.declared.secrets[NODES_SECRET_NAME][(users.SENTINEL_ADMIN if sentinel else users.ADMIN).key]

    @property
    def outputs(self) -> dict[str, Any]:
        return self.program.outputs

    def redis_names(self) -> list[str]:
        return [p for w in self.declared.statefulsets if w.labels.get("app") == "redis" for p in self.pod_names(w)]

    def sentinel_names(self) -> list[str]:
        return [p for w in self.declared.statefulsets if w.labels.get("app") != "redis" for p in self.pod_names(w)]

    def host_port(self, pod: str, port: int) -> int:
        return self.host_ports[pod][port]

    def client(self, pod: str, **kwargs) -> redis.Redis:
        sentinel = pod in self.sentinel_names()
        port = 26379 if sentinel else 6379
        options = dict(
            username=users.ADMIN.name,
            password=self.admin_password(sentinel),
            socket_timeout=2,
            socket_connect_timeout=2,
            decode_responses=True,
            **self.tls_options,
        )
        return redis.Redis(host="127.0.0.1", port=self.host_port(pod, port), retry=NO_RETRY, **{**options, **kwargs})

    @property
    def tls_options(self) -> dict:
        """redis-py's TLS options from the tlsCaCert output (none without TLS)."""
        ca = self.outputs.get("tlsCaCert")
        return tls.client_options(ca) if ca else {}

    @property
    def master_name(self) -> str:
        return self.outputs["masterName"]

    def node_of(self, host: str, port: int) -> str:
        return host.split(".", 1)[0]  # the pod's name: each node announces <pod>.<service>.<namespace>...

    def max_lag_seconds(self) -> int:
        """minReplicasMaxLag as the program hands it to the check Job (check-job.sh's MAX_LAG_SECONDS)."""
        (script,) = [data[CHECK_SCRIPT] for data in self.declared.config_maps.values() if CHECK_SCRIPT in data]
        (value,) = re.findall(r"^MAX_LAG_SECONDS='(\d+)'$", script, re.M)
        return int(value)

    def target(self, **overrides: Any) -> Target:
        values = dict(
            master_name=self.outputs["masterName"],
            redis_nodes=tuple(self.outputs["redisEndpoints"]),
            sentinels=tuple(self.outputs["sentinelEndpoints"]),
            redis_password=self.admin_password(sentinel=False),
            sentinel_password=self.admin_password(sentinel=True),
            max_lag_seconds=self.max_lag_seconds(),
            nat_map=nat_addresses(self.nat_map),
            tls_ca_cert=self.outputs.get("tlsCaCert", ""),
        )
        return Target(**{**values, **overrides})

    def check(self, settle_seconds: float = 0) -> Report:
        return check_deployment(self.target(), settle_seconds=settle_seconds)

    def _sentinels(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", self.host_port(p, 26379)) for p in self.sentinel_names()]

    def nat_sentinel(self) -> NatSentinel:
        # self.nat_map by reference: a recreated pod's entries are seen at once
        return sentinel_client(
            self._sentinels(), self.redis_password, self.sentinel_password, nat_map=self.nat_map, tls=self.tls_options
        )

    def client_settings(self) -> dict[str, Any]:
        """What an application connects with from the host (Writer's and switch_to's arguments)."""
        return dict(
            sentinels=self._sentinels(),
            master_name=self.outputs["masterName"],
            redis_password=self.redis_password,
            sentinel_password=self.sentinel_password,
            nat_map=self.nat_map,
            tls=self.tls_options,
        )

    def writer(self, wait_replicas: int = 0, threads: int = 2) -> Writer:
        """harness.writer.Writer (not started), on a NatSentinel from the host (as harness/docker_runner.py does)."""
        return Writer(**self.client_settings(), wait_replicas=wait_replicas, threads=threads)

    def exec(self, pod: str, container: str, command: str, timeout: float = 20) -> tuple[int | None, str]:
        return self.pods[pod].exec(container, ["sh", "-c", command], timeout)

    def metrics(self, pod: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.host_port(pod, 9121)}/metrics", timeout=5) as response:
            return response.read().decode()

    def logs(self) -> str:
        return "\n".join(pod.logs() for pod in self.pods.values())

    # --- teardown -------------------------------------------------------------------------------------------------
    def teardown(self) -> None:
        """Remove every container, volume and network with this run's label (nothing else)."""
        for pod in self.pods.values():
            pod._stop.set()
            pod._executor.shutdown(wait=False, cancel_futures=True)
        remove_labelled(self.engine, self.run_id)

    def leftovers(self) -> list[str]:
        return leftovers(self.engine, self.run_id)


class _PodScripts:
    """passwords.ScriptRunner for the runner's pods: an exec into the pod's server container."""

    def __init__(self, cluster: PodCluster, containers: dict[str, str]):
        self.cluster, self.containers = cluster, containers

    def run(self, node: str, args) -> tuple[int, str]:
        """The command KubernetesScripts sends through the exec API, its exit code read from its output as there."""
        command = passwords_resource.pod_exec_command(args)
        code, output = self.cluster.pods[node].exec(self.containers[node], command, timeout=30)
        return passwords_resource.exit_code_of(output) if code is not None else (1, output)


class RunnerPods:
    """The pods of `statefulsets` as the API server shows them to RedisRollout (rollout.Pods); an evicted pod is
    recreated at once from its StatefulSet's current template, as the controller does."""

    def __init__(self, cluster: PodCluster, statefulsets: list[str], deleted_at: list[float]):
        self.cluster, self.statefulsets = cluster, statefulsets
        self.deleted_at = deleted_at  # when each deletion started, shared by the rollout's views

    def list(self) -> list[redis_rollout.PodState]:
        states = []
        for name in self.statefulsets:
            workload = self.cluster.declared.statefulset(name)
            for pod_name in self.cluster.pod_names(workload):
                pod = self.cluster.pods.get(pod_name)
                if pod is not None:
                    up_to_date = pod.template == workload.template
                    states.append(redis_rollout.PodState(pod_name, up_to_date, pod.ready, pod.holder_id))
        return states

    def role(self, pod: str) -> str:
        code, output = self.cluster.pods[pod].exec(redis_rollout.REDIS_CONTAINER, redis_rollout.ROLE_COMMAND, 10)
        return output.strip() if code == 0 else ""

    def evict(self, pod: str) -> str | None:
        """The API server's eviction subresource over the declared disruption budgets, as
        pkg/registry/core/pod/storage/eviction.go `EvictionREST.Create` decides: no budget selecting the pod, delete;
        more than one, an error (500); the pod not ready, delete if `unhealthyPodEvictionPolicy` is AlwaysAllow, and
        under IfHealthyBudget (the default) if currentHealthy >= desiredHealthy > 0; else `checkAndDecrement`: 429
        while disruptionsAllowed is 0. The budget's status is computed at the moment of the eviction as the
        disruption controller computes it (pkg/controller/disruption: expected = the replicas of the StatefulSets
        whose pods it selects, desiredHealthy = expected - maxUnavailable, currentHealthy = its ready pods,
        disruptionsAllowed = currentHealthy - desiredHealthy, never below 0); the real controller lags by a sync."""
        labels = self.cluster.pods[pod].workload.labels
        budgets = [(n, b) for n, b in self.cluster.declared.budgets.items() if _selects(b["selector"], labels)]
        if len(budgets) > 1:
            raise RuntimeError(f"{pod}: more than one PodDisruptionBudget ({[n for n, _ in budgets]}): HTTP 500")
        if budgets:
            name, budget = budgets[0]
            selected = [w for w in self.cluster.declared.statefulsets if _selects(budget["selector"], w.labels)]
            desired = sum(w.spec["replicas"] for w in selected) - budget["maxUnavailable"]
            pods = [self.cluster.pods.get(p) for w in selected for p in self.cluster.pod_names(w)]
            healthy = sum(1 for p in pods if p is not None and p.ready)
            unready_evictable = not self.cluster.pods[pod].ready and (
                budget.get("unhealthyPodEvictionPolicy") == "AlwaysAllow" or healthy >= desired > 0
            )
            if not unready_evictable and healthy - desired <= 0:
                return (
                    "Cannot evict pod as it would violate the pod's disruption budget.; "
                    f"The disruption budget {name} needs {desired} healthy pods and has {healthy} currently"
                )
        self.deleted_at.append(time.monotonic())
        self.cluster.delete_pod(pod)
        self.cluster.recreate_pod(pod)
        return None

    def kubectl(self, args: str) -> str:
        return f"kubectl -n {self.cluster.declared.namespace} {args}"


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())
