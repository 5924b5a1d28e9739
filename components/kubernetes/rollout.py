"""RedisRollout: replaces the Sentinel and Redis pods after a change of their pod template, one failover per
change.

Every StatefulSet updates with `OnDelete`: the controller replaces a pod only when it is deleted (with `Parallel`
pod management its own rolling update would delete the next pod while another is still unready), so the order is
chosen here. The Sentinels first, one at a time, each only when every Sentinel is ready (answers and names a
master) and has stayed so for `settle_seconds`. Then the Redis pods, chosen from what they are now, not from
which StatefulSet made them (after any failover the master can be any pod): replicas first, the master last, so
only the master's deletion hands over (its preStop asks Sentinel for a failover) and it goes to a replica already
on the new template. A Redis pod is deleted only when every Redis pod is ready (master, or a replica whose link is
up: a full sync has finished) and has stayed so for `settle_seconds`, so Sentinels see the replaced replica
before the master hands over. A set that does not get healthy within the timeout stops the rollout with what it
saw.

The plan (`next_pod`) and the loop (`roll`) work on a `Pods` view; `KubernetesPods` is the cluster's, through
the API with the stack's kube context, once it has checked its access (components/kubernetes/access.py);
harness/pod_runner.py has one for the pods it runs on Docker.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from components import render, tls, users
from components.kubernetes import access
from components.topology import REDIS_PORT

SETTLE_SECONDS = 10  # all Redis pods ready for this long before the next one goes (Sentinel's INFO period)
POLL_SECONDS = 1.0
REDIS_CONTAINER = "redis"
# ROLE of the pod's own server, as the admin user with the mounted password (never on argv), in the redis container;
# over TLS when the pod has the deployment's CA certificate (the tls setting).
_SECRETS = render.SECRETS_DIR
ROLE_COMMAND = [
    "sh",
    "-c",
    f'tls=""; if [ -f {_SECRETS}/{tls.CA_FILE} ]; then tls="--tls --cacert {_SECRETS}/{tls.CA_FILE}"; fi; '
    f'REDISCLI_AUTH="$(cat {_SECRETS}/{users.ADMIN.key})" '
    f"timeout 5 redis-cli $tls --no-auth-warning --user {users.ADMIN.name} -p {REDIS_PORT} ROLE | head -n 1",
]


@dataclass(frozen=True)
class PodState:
    name: str
    up_to_date: bool  # made from its StatefulSet's current template
    ready: bool
    uid: str


class Pods(Protocol):
    def list(self) -> list[PodState]:
        """The Redis pods that exist now."""

    def role(self, pod: str) -> str:
        """`master` or `slave`, as the pod's server says (ROLE_COMMAND); "" when it does not answer."""

    def delete(self, pod: str) -> None:
        """Delete the pod; its StatefulSet recreates it from the current template."""


class RolloutStuck(RuntimeError):
    pass


def next_pod(pods: Sequence[PodState], master: str) -> str | None:
    """The next pod to replace: an outdated replica (lowest name first), else the outdated master, else none."""
    outdated = sorted(p.name for p in pods if not p.up_to_date)
    replicas = [name for name in outdated if name != master]
    return (replicas or outdated or [None])[0]


def wait_healthy(pods: Pods, expected: int, timeout: float, settle: float, kind: str = "Redis") -> str:
    """Wait until `expected` pods are ready (Redis pods: exactly one of them master) for `settle` seconds in a row;
    returns the master's pod name ("" for Sentinels)."""
    deadline = time.monotonic() + timeout
    healthy_since, seen = None, "no observation"
    while True:
        ready = [p.name for p in pods.list() if p.ready]
        if len(ready) == expected and kind != "Redis":
            masters = [""]
        else:
            masters = [name for name in ready if pods.role(name) == "master"] if len(ready) == expected else []
        if len(masters) == 1:
            healthy_since = healthy_since or time.monotonic()
            if time.monotonic() - healthy_since >= settle:
                return masters[0]
        else:
            healthy_since = None
            seen = f"{len(ready)} of {expected} {kind} pods ready ({', '.join(sorted(ready)) or 'none'})"
            seen += f", masters among them: {masters}" if len(ready) == expected else ""
        if time.monotonic() > deadline:
            raise RolloutStuck(f"rollout stopped: the {kind} pods did not get healthy within {timeout:.0f} s: {seen}")
        time.sleep(POLL_SECONDS)


def roll(
    pods: Pods,
    expected: int,
    pod_timeout: float,
    settle: float = SETTLE_SECONDS,
    log: Callable[[str], None] = lambda _: None,
    kind: str = "Redis",
) -> list[str]:
    """Replace every outdated pod of `pods`, one at a time (Redis pods: replicas first and the master last);
    returns the pods replaced, in order."""
    replaced: list[str] = []
    while True:
        master = wait_healthy(pods, expected, pod_timeout, settle, kind)
        pod = next_pod(pods.list(), master)
        if pod is None:
            return replaced
        log(f"replacing {pod} ({kind if kind != 'Redis' else 'master: hands over' if pod == master else 'replica'})")
        (old,) = [p.uid for p in pods.list() if p.name == pod]
        pods.delete(pod)
        replaced.append(pod)
        deadline = time.monotonic() + pod_timeout
        while not any(p.name == pod and p.uid != old for p in pods.list()):
            if time.monotonic() > deadline:
                raise RolloutStuck(f"rollout stopped: {pod} was not recreated within {pod_timeout:.0f} s")
            time.sleep(POLL_SECONDS)


def roll_deployment(
    props: Mapping, pods_of: Callable[[Sequence[str]], Pods], log: Callable[[str], None] = lambda _: None
) -> list[str]:
    """RedisRollout's update (`props`: its inputs): the Sentinels, then the Redis pods; `pods_of(statefulsets)`
    gives the view of their pods. Returns the pods replaced, in order."""
    timeout, settle = float(props["pod_timeout_seconds"]), float(props["settle_seconds"])
    replaced = []
    for kind, statefulsets, count in (
        ("Sentinel", props["sentinel_statefulsets"], props["sentinel_pods"]),
        ("Redis", props["statefulsets"], props["pods"]),
    ):
        replaced += roll(pods_of(statefulsets), int(count), timeout, settle, log, kind)
    return replaced


class KubernetesPods:
    """The Redis pods of a namespace's StatefulSets, through the Kubernetes API."""

    def __init__(self, context: str, namespace: str, statefulsets: Sequence[str]):
        from kubernetes import client

        access.load_config(context)
        access.require(namespace, access.ROLLOUT_NEEDS, "RedisRollout")
        self.core, self.apps = client.CoreV1Api(), client.AppsV1Api()
        self.namespace, self.statefulsets = namespace, list(statefulsets)

    def list(self) -> list[PodState]:
        states = []
        for name in self.statefulsets:
            sts = self.apps.read_namespaced_stateful_set(name, self.namespace)
            selector = ",".join(f"{k}={v}" for k, v in sts.spec.selector.match_labels.items())
            for pod in self.core.list_namespaced_pod(self.namespace, label_selector=selector).items:
                conditions = pod.status.conditions or []
                ready = pod.metadata.deletion_timestamp is None and any(
                    c.type == "Ready" and c.status == "True" for c in conditions
                )
                up_to_date = (pod.metadata.labels or {}).get("controller-revision-hash") == sts.status.update_revision
                states.append(PodState(pod.metadata.name, up_to_date, ready, pod.metadata.uid))
        return states

    def role(self, pod: str) -> str:
        from kubernetes.stream import stream

        reply = stream(
            self.core.connect_get_namespaced_pod_exec,
            pod,
            self.namespace,
            container=REDIS_CONTAINER,
            command=ROLE_COMMAND,
            stderr=False,
            stdin=False,
            stdout=True,
            tty=False,
        )
        return reply.strip()

    def delete(self, pod: str) -> None:
        self.core.delete_namespaced_pod(pod, self.namespace)


class RedisRolloutProvider(ResourceProvider):
    """Pickled into the state by reference (see components/checks/resource.py)."""

    def run(self, props: dict) -> dict:
        replaced = roll_deployment(props, lambda sets: KubernetesPods(props["context"], props["namespace"], sets))
        return {**props, "replaced": replaced}

    def create(self, props: dict) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=self.run(props))

    def diff(self, _id: str, _olds: dict, _news: dict) -> DiffResult:
        return DiffResult(changes=True)  # look for outdated pods on every update (an earlier one may have stopped)

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self.run(news))


class RedisRollout(Resource):
    replaced: pulumi.Output[list]

    def __init__(
        self,
        name: str,
        context: str,
        namespace: str,
        statefulsets: Sequence[str],
        pods: int,
        sentinel_statefulsets: Sequence[str],
        sentinel_pods: int,
        pod_timeout_seconds: float,
        revision: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`statefulsets`/`pods`: the Redis ones and how many pods they have; `revision`: a digest of the pod
        templates, shown in a preview's diff when they change."""
        props = {
            "context": context,
            "namespace": namespace,
            "statefulsets": list(statefulsets),
            "pods": pods,
            "sentinel_statefulsets": list(sentinel_statefulsets),
            "sentinel_pods": sentinel_pods,
            "pod_timeout_seconds": pod_timeout_seconds,
            "settle_seconds": SETTLE_SECONDS,
            "revision": revision,
            "replaced": None,
        }
        super().__init__(RedisRolloutProvider(), name, props, opts)
