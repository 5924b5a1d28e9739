"""What the product's own code drives the runner's pods through: the password steps' ScriptRunner and the
rollout's pod API, with the eviction the API server would decide (harness/pod_runner.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from components import passwords_resource
from components.kubernetes import rollout as redis_rollout

if TYPE_CHECKING:
    from harness.pod_cluster import PodCluster


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
