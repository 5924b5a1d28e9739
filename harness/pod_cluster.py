"""PodCluster: the StatefulSet controller, the check Job and the observations from the host, over the pods of
harness/pod_kubelet.py (harness/pod_runner.py)."""

from __future__ import annotations

import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import docker
import redis
from docker.errors import NotFound

from components import passwords, users
from components.checks import Report
from components.checks.observe import Target, check_deployment, nat_addresses
from components.kubernetes import rollout as redis_rollout
from components.kubernetes.names import NODES_SECRET_NAME, SECRET_NAME
from harness.engine import EXPORTER_IMAGE, LABEL, REDIS_IMAGE, leftovers, remove_labelled
from harness.pod_adapters import RunnerPods, _PodScripts
from harness.pod_declared import Declared, Workload
from harness.pod_fields import CHECK_SCRIPT, PASSWORDS_SUFFIX, NotOurs, UnimplementedField
from harness.pod_kubelet import Pod
from harness.program import Program, as_ints, run_program
from harness.runtime import FromOutputs
from harness.writer import NatSentinel, Writer, sentinel_client


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


class PodCluster(FromOutputs):
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
        return self.admin_client("127.0.0.1", self.host_port(pod, port), self.admin_password(sentinel), **kwargs)

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
