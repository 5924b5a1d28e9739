"""RedisRollout: replaces the Sentinel and Redis pods after a change of their pod template, one failover per
change, and repairs a degraded set instead of waiting for it.

Every StatefulSet updates with `OnDelete`: the controller replaces a pod only when it is deleted (with `Parallel`
pod management its own rolling update would delete the next pod while another is still unready), so the order is
chosen here (`plan`), the Sentinels first, then the Redis pods:

1. An outdated pod that is not ready serves nothing: it goes first, as long as what must stay up is healthy
   (Redis: exactly one master and `min-replicas-to-write` ready replicas, and a Sentinel quorum ready; Sentinels: a
   quorum ready). So a pod crash-looping on the old template (OOM-killed, a bad setting) gets the fix meant for it,
   and no pod that serves is taken down for it.
2. Then the usual order, only when every pod is ready (Redis: exactly one master): Sentinels one at a time; Redis
   pods chosen from what they are now, not from which StatefulSet made them (after any failover the master can be
   any pod): replicas first, the master last, so only the master's deletion hands over (its preStop asks Sentinel
   for a failover) and it goes to a replica already on the new template.

A step is taken once it has been the plan for `settle_seconds` in a row (Sentinels see a replaced replica before
the master hands over). A pod goes through the Eviction API, so the PodDisruptionBudget arbitrates with a
concurrent drain: a refusal (HTTP 429) is asked again until the timeout. At most one pod is taken down at a time,
beyond those already down. A set that does not get there within the timeout stops the rollout with what it saw
and the kubectl commands that unblock it.

The plan (`plan`) and the loop (`roll`) work on a `Pods` view; `KubernetesPods` is the cluster's, through the API
with the stack's kube context, once it has checked its access (components/kubernetes/access.py), every call
bounded in time and retried on 429 and 5xx; harness/pod_runner.py has one for the pods it runs on Docker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import pulumi
from pulumi.dynamic import Resource

from components import render, tls, users
from components.dynamic import ActionProvider
from components.kubernetes import access
from components.settings import IN_CLUSTER
from components.topology import REDIS_PORT

STEP_STEADY_SECONDS = 10  # a step stays the plan this long before it is taken (Sentinel's INFO period)
POLL_SECONDS = 1.0
CONTAINERS = {"Redis": "redis", "Sentinel": "sentinel"}  # the server container of each kind's pods
REDIS_CONTAINER = CONTAINERS["Redis"]
# How often an API call (bounded by access.API_TIMEOUT) is tried on a 429, a 5xx or a broken connection.
API_TRIES = 5
API_BACKOFF_SECONDS = 0.5  # doubled after each try
EXEC_TIMEOUT = 15  # seconds for one ROLE exec (the command itself gives up after 5)
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
        """The pods that exist now."""

    def role(self, pod: str) -> str:
        """`master` or `slave`, as the pod's server says (ROLE_COMMAND); "" when it does not answer."""

    def evict(self, pod: str) -> str | None:
        """Evict the pod (its StatefulSet recreates it from the current template): None when the API server took
        it, else why its disruption budget refuses it now (HTTP 429)."""

    def kubectl(self, args: str) -> str:
        """The kubectl command line that runs `args` against these pods' cluster and namespace."""


class RolloutStuck(RuntimeError):
    pass


@dataclass(frozen=True)
class Keep:
    """What must stay healthy while an unready outdated pod is replaced ahead of the usual order."""

    replicas: int = 0  # Redis: ready replicas beside the master (min-replicas-to-write)
    ready: int = 0  # Sentinels: ready Sentinels (the quorum)


@dataclass(frozen=True)
class Step:
    pod: str | None  # the pod to replace now; None: none (done, or waiting)
    done: bool = False  # every pod is up to date and healthy
    why: str = ""  # why this pod, or what was seen instead
    missing: tuple[str, ...] = ()  # what keeps an unready outdated pod from being replaced


def next_pod(pods: Sequence[PodState], master: str) -> str | None:
    """The next pod to replace in the usual order: an outdated replica (lowest name first), else the outdated
    master, else none."""
    outdated = sorted(p.name for p in pods if not p.up_to_date)
    replicas = [name for name in outdated if name != master]
    return (replicas or outdated or [None])[0]


def plan(
    pods: Sequence[PodState],
    masters: Sequence[str],
    expected: int,
    kind: str = "Redis",
    keep: Keep = Keep(),
    elsewhere: str = "",
) -> Step:
    """The next step for `pods` (Redis: `masters`, the ready pods that answer `master`; `elsewhere`: what is missing
    outside this set, the Redis phase's Sentinel quorum)."""
    ready = sorted(p.name for p in pods if p.ready)
    broken = sorted(p.name for p in pods if not p.ready and not p.up_to_date)
    seen = f"{len(ready)} of {expected} {kind} pods ready ({', '.join(ready) or 'none'})"
    missing = [elsewhere] if elsewhere else []
    if kind == "Redis":
        seen += f", masters among them: {sorted(masters)}"
        if len(masters) != 1:
            missing.append(f"{len(masters)} masters among the ready pods, not exactly one")
        elif len(ready) - 1 < keep.replicas:
            missing.append(f"{len(ready) - 1} ready replicas, min-replicas-to-write needs {keep.replicas}")
    elif len(ready) < keep.ready:
        missing.append(f"{len(ready)} ready Sentinels, the quorum needs {keep.ready}")
    if broken and not missing:
        return Step(broken[0], why=f"unready and outdated, it serves nothing; {seen}")
    if len(ready) == expected and not missing:
        pod = next_pod(pods, masters[0] if masters else "")
        what = "master: hands over" if masters and pod == masters[0] else "replica" if kind == "Redis" else kind
        return Step(pod, done=pod is None, why=what)
    return Step(None, why=seen + "".join(f"; {m}" for m in missing), missing=tuple(missing))


def quorum_problem(sentinels: Pods, quorum: int) -> str:
    """What is missing for a Sentinel quorum among `sentinels` ("" when it is there)."""
    ready = [p.name for p in sentinels.list() if p.ready]
    return f"{len(ready)} ready Sentinels, the quorum needs {quorum}" if len(ready) < quorum else ""


def _masters(pods: Pods, states: Sequence[PodState], kind: str) -> list[str]:
    return [p.name for p in states if p.ready and pods.role(p.name) == "master"] if kind == "Redis" else []


def stuck(pods: Pods, states: Sequence[PodState], step: Step, kind: str, timeout: float, refused: str) -> str:
    """The stop message: what was seen, and for each pod in the way the command that unblocks it."""
    container = CONTAINERS[kind]
    lines = [f"rollout stopped: the {kind} pods did not get healthy within {timeout:.0f} s: {step.why}"]
    if refused:
        lines.append(
            f"- the disruption budget refused evicting {refused}: a node drain or another disruption holds it; see "
            f"`{pods.kubectl('get pdb')}`, and run pulumi up again once it is over"
        )
    for pod in sorted(p.name for p in states if not p.ready):
        logs = f"`{pods.kubectl(f'logs {pod} -c {container} --previous')}`"
        if any(p.name == pod and p.up_to_date for p in states):
            lines.append(
                f"- {pod} runs the new template and is not ready: the change itself does not work there; see {logs} "
                f"and `{pods.kubectl(f'describe pod {pod}')}`, correct the setting and run pulumi up again"
            )
        else:
            reason = "; ".join(step.missing) or "the rollout waits for the set to get healthy first"
            lines.append(
                f"- {pod} is unready and outdated, and is not replaced while {reason}. Check {logs} and what is "
                f"missing; a pod that serves nothing can be replaced by hand: `{pods.kubectl(f'delete pod {pod}')}`, "
                "then run pulumi up again"
            )
    return "\n".join(lines)


def evict_next(
    pods: Pods,
    expected: int,
    timeout: float,
    settle: float,
    kind: str = "Redis",
    keep: Keep = Keep(),
    elsewhere: Callable[[], str] = lambda: "",
) -> tuple[Step, str]:
    """Wait until a step has been the plan for `settle` seconds, and take it: the pod evicted (the budget's
    refusals asked again), or `done`. Returns the step and the evicted pod's uid."""
    deadline = time.monotonic() + timeout
    chosen, since, refused = None, time.monotonic(), ""
    while True:
        states = pods.list()
        step = plan(states, _masters(pods, states, kind), expected, kind, keep, elsewhere())
        now = time.monotonic()
        if (step.pod, step.done) != chosen:
            chosen, since = (step.pod, step.done), now
        if (step.pod or step.done) and now - since >= settle:
            if step.pod is None:
                return step, ""
            uid = next((p.uid for p in states if p.name == step.pod), "")
            refusal = pods.evict(step.pod)
            if refusal is None:
                return step, uid
            refused, since = f"{step.pod} ({refusal})", now  # asked again after another settle period
        if now > deadline:
            raise RolloutStuck(stuck(pods, states, step, kind, timeout, refused))
        time.sleep(POLL_SECONDS)


def roll(
    pods: Pods,
    expected: int,
    pod_timeout: float,
    settle: float = STEP_STEADY_SECONDS,
    log: Callable[[str], None] = lambda _: None,
    kind: str = "Redis",
    keep: Keep = Keep(),
    elsewhere: Callable[[], str] = lambda: "",
) -> list[str]:
    """Replace every outdated pod of `pods`, one at a time, as `plan` orders them; returns the pods replaced, in
    order."""
    replaced: list[str] = []
    while True:
        step, old = evict_next(pods, expected, pod_timeout, settle, kind, keep, elsewhere)
        if step.pod is None:
            return replaced
        log(f"replaced {step.pod} ({step.why})")
        replaced.append(step.pod)
        deadline = time.monotonic() + pod_timeout
        while not any(p.name == step.pod and p.uid != old for p in pods.list()):
            if time.monotonic() > deadline:
                events = pods.kubectl(f"get events --field-selector involvedObject.name={step.pod}")
                raise RolloutStuck(
                    f"rollout stopped: {step.pod} was not recreated within {pod_timeout:.0f} s; see `{events}`"
                )
            time.sleep(POLL_SECONDS)


def roll_deployment(
    props: Mapping, pods_of: Callable[[Sequence[str]], Pods], log: Callable[[str], None] = lambda _: None
) -> list[str]:
    """RedisRollout's update (`props`: its inputs): the Sentinels, then the Redis pods; `pods_of(statefulsets)`
    gives the view of their pods. Returns the pods replaced, in order."""
    timeout, settle = float(props["pod_timeout_seconds"]), float(props["settle_seconds"])
    quorum = int(props["quorum"])
    sentinels = pods_of(props["sentinel_statefulsets"])
    replaced = roll(sentinels, int(props["sentinel_pods"]), timeout, settle, log, "Sentinel", Keep(ready=quorum))
    keep = Keep(replicas=int(props["min_replicas_to_write"]))
    return replaced + roll(
        pods_of(props["statefulsets"]),
        int(props["pods"]),
        timeout,
        settle,
        log,
        "Redis",
        keep,
        lambda: quorum_problem(sentinels, quorum),
    )


class KubernetesPods:
    """The pods of a namespace's StatefulSets, through the Kubernetes API: every call bounded by API_TIMEOUT and
    tried again (API_TRIES, with backoff) on 429, 5xx and a broken connection."""

    def __init__(self, context: str, namespace: str, statefulsets: Sequence[str]):
        from kubernetes import client

        access.load_config(context)
        access.require(namespace, access.ROLLOUT_NEEDS, "RedisRollout")
        self.core, self.apps = client.CoreV1Api(), client.AppsV1Api()
        self.context, self.namespace, self.statefulsets = context, namespace, list(statefulsets)

    @staticmethod
    def _call(call: Callable, *args, retry_429: bool = True, timeout=access.API_TIMEOUT, **kwargs):
        """`call(*args, **kwargs)` within `timeout`, tried again on a transient failure: 5xx, 429 unless told not
        to, no answer at all (status 0: an exec's WebSocket that failed, whatever the cause) or a broken connection."""
        import urllib3
        from kubernetes.client import ApiException

        for attempt in range(API_TRIES):
            try:
                return call(*args, _request_timeout=timeout, **kwargs)
            except ApiException as error:
                transient = error.status == 0 or error.status >= 500 or (error.status == 429 and retry_429)
                if not transient or attempt == API_TRIES - 1:
                    raise
                after = (error.headers or {}).get("Retry-After", "")
                delay = float(after) if after.isdigit() else API_BACKOFF_SECONDS * 2**attempt
            except urllib3.exceptions.HTTPError:  # a timeout or a broken connection
                if attempt == API_TRIES - 1:
                    raise
                delay = API_BACKOFF_SECONDS * 2**attempt
            time.sleep(min(delay, 10))

    def list(self) -> list[PodState]:
        # The StatefulSet's await (manifests.STATEFULSET_AWAIT) returned only once its controller had observed the
        # new template, so updateRevision is the current one.
        states = []
        for name in self.statefulsets:
            sts = self._call(self.apps.read_namespaced_stateful_set, name, self.namespace)
            selector = ",".join(f"{k}={v}" for k, v in sts.spec.selector.match_labels.items())
            pods = self._call(self.core.list_namespaced_pod, self.namespace, label_selector=selector).items
            for pod in pods:
                conditions = pod.status.conditions or []
                ready = pod.metadata.deletion_timestamp is None and any(
                    c.type == "Ready" and c.status == "True" for c in conditions
                )
                up_to_date = (pod.metadata.labels or {}).get("controller-revision-hash") == sts.status.update_revision
                states.append(PodState(pod.metadata.name, up_to_date, ready, pod.metadata.uid))
        return states

    def role(self, pod: str) -> str:
        from kubernetes.stream import stream

        # stream() is a WebSocket: its timeout bounds the whole exec.
        reply = self._call(
            stream,
            self.core.connect_get_namespaced_pod_exec,
            pod,
            self.namespace,
            container=REDIS_CONTAINER,
            command=ROLE_COMMAND,
            stderr=False,
            stdin=False,
            stdout=True,
            tty=False,
            timeout=EXEC_TIMEOUT,
        )
        return reply.strip()

    def evict(self, pod: str) -> str | None:
        from kubernetes import client

        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod, namespace=self.namespace))
        try:
            self._call(self.core.create_namespaced_pod_eviction, pod, self.namespace, body, retry_429=False)
        except client.ApiException as error:
            if error.status == 404:
                return None  # gone already: its StatefulSet recreates it
            if error.status != 429:
                raise
            return _status_message(error.body) or "429 Too Many Requests"
        return None

    def kubectl(self, args: str) -> str:
        context = "" if self.context == IN_CLUSTER else f"--context {self.context} "
        return f"kubectl {context}-n {self.namespace} {args}"


def _status_message(body: str | None) -> str:
    """The message of a Kubernetes Status body, and its causes' (the budget's "needs 2 healthy pods and has 1")."""
    import json

    try:
        status = json.loads(body or "")
    except ValueError:
        return ""
    causes = [c.get("message", "") for c in (status.get("details") or {}).get("causes") or []]
    return "; ".join(filter(None, [status.get("message", ""), *causes]))


class RedisRolloutProvider(ActionProvider):
    """Rolls on create and on every update (ActionProvider's default `changed`): it looks for outdated pods every
    time, since an earlier rollout may have stopped."""

    def run(self, props: dict) -> dict:
        replaced = roll_deployment(props, lambda sets: KubernetesPods(props["context"], props["namespace"], sets))
        return {**props, "replaced": replaced}


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
        quorum: int,
        min_replicas_to_write: int,
        pod_timeout_seconds: float,
        revision: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`statefulsets`/`pods`: the Redis ones and how many pods they have; `quorum`, `min_replicas_to_write`: the
        settings, what must stay healthy while an unready pod is replaced first; `revision`: a digest of the pod
        templates, shown in a preview's diff when they change."""
        props = {
            "context": context,
            "namespace": namespace,
            "statefulsets": list(statefulsets),
            "pods": pods,
            "sentinel_statefulsets": list(sentinel_statefulsets),
            "sentinel_pods": sentinel_pods,
            "quorum": quorum,
            "min_replicas_to_write": min_replicas_to_write,
            "pod_timeout_seconds": pod_timeout_seconds,
            "settle_seconds": STEP_STEADY_SECONDS,
            "revision": revision,
            "replaced": None,
        }
        super().__init__(RedisRolloutProvider(), name, props, opts)
