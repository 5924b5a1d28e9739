"""The pod runner's eviction (harness/pod_runner.py RunnerPods.evict) decides as the API server's eviction
subresource does over the declared disruption budgets: a ready pod only while the budget allows a disruption, an
unready one always under `unhealthyPodEvictionPolicy: AlwaysAllow` and, without it, only while the budget is met.
No engine: the runner's pods are stand-ins here, the budgets and StatefulSets those a prod run declares."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness.pod_runner import Declared, PodCluster, RunnerPods
from harness.program import run_program

REDIS = ["redis-master-0", "redis-replica-0", "redis-replica-1"]


class Cluster:
    """What RunnerPods reads of a PodCluster: the declared objects and the pods, each ready or not."""

    pod_names = PodCluster.pod_names

    def __init__(self, declared: Declared):
        self.declared, self.recreated = declared, []
        self.pods = {
            name: SimpleNamespace(ready=True, workload=w, template=w.template, holder_id=name)
            for w in declared.statefulsets
            for name in self.pod_names(w)
        }

    def delete_pod(self, name):
        self.pods.pop(name)

    def recreate_pod(self, name):
        workload = next(w for w in self.declared.statefulsets if name in self.pod_names(w))
        self.pods[name] = SimpleNamespace(ready=False, workload=workload, template=workload.template, holder_id="new")
        self.recreated.append(name)


@pytest.fixture(scope="module")
def declared():
    return {version: Declared.of(run_program("prod", {"kubernetesVersion": version})) for version in ("1.29", "1.26")}


def view(declared: Declared, unready=()) -> tuple[Cluster, RunnerPods]:
    cluster = Cluster(declared)
    for name in unready:
        cluster.pods[name].ready = False
    return cluster, RunnerPods(cluster, ["redis-master", "redis-replica"], [])


def test_a_ready_pod_is_evicted_while_the_budget_allows_one_disruption(declared):
    cluster, pods = view(declared["1.29"])
    assert pods.evict("redis-replica-0") is None
    assert cluster.recreated == ["redis-replica-0"] and not cluster.pods["redis-replica-0"].ready


def test_a_ready_pod_is_refused_while_another_is_down(declared):
    """A drain's pod (or the rollout's own, booting) is down: the budget refuses a second, as a 429."""
    cluster, pods = view(declared["1.29"], unready=["redis-replica-1"])
    refusal = pods.evict("redis-replica-0")
    assert refusal and "The disruption budget redis needs 2 healthy pods and has 2 currently" in refusal
    assert cluster.recreated == []
    sentinels = RunnerPods(cluster, ["redis-sentinel"], [])
    assert sentinels.evict("redis-sentinel-0") is None  # another budget


@pytest.mark.parametrize(("version", "evicted"), [("1.29", True), ("1.26", False)])
def test_an_unready_pod_is_evicted_under_always_allow_also_while_another_is_down(declared, version, evicted):
    cluster, pods = view(declared[version], unready=["redis-replica-0", "redis-replica-1"])
    assert (pods.evict("redis-replica-0") is None) == evicted
    assert cluster.recreated == (["redis-replica-0"] if evicted else [])


def test_an_unready_pod_is_evicted_by_default_while_the_budget_is_met(declared):
    cluster, pods = view(declared["1.26"], unready=["redis-replica-0"])
    assert pods.evict("redis-replica-0") is None
    assert pods.kubectl("get pdb") == f"kubectl -n {declared['1.26'].namespace} get pdb"
