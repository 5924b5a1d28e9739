"""RedisRollout's plan and loop (components/kubernetes/rollout.py) against a model of the Redis pods: replicas
first, the master last, one pod at a time, never while a pod is unready, and a clear stop when the set does not
get healthy."""

from __future__ import annotations

import pytest

from components.kubernetes import rollout
from components.kubernetes.rollout import PodState, RolloutStuck, next_pod, roll


class ModelPods:
    """Pods that take `boot_polls` list() calls to get ready after a deletion; deleting the master hands its role
    to the first ready, up-to-date replica (else any ready replica), as prestop.sh and Sentinel do."""

    def __init__(self, names, master, boot_polls=2):
        self.pods = {name: {"up_to_date": False, "ready": True, "uid": 0, "booting": 0} for name in names}
        self.master, self.boot_polls = master, boot_polls
        self.deleted: list[str] = []
        self.unready_at_deletion: list[str] = []
        self.failovers = 0

    def list(self):
        for pod in self.pods.values():
            if pod["booting"]:
                pod["booting"] -= 1
                pod["ready"] = pod["booting"] == 0
        return [PodState(n, p["up_to_date"], p["ready"], str(p["uid"])) for n, p in self.pods.items()]

    def role(self, pod):
        return "master" if pod == self.master else "slave"

    def delete(self, pod):
        self.unready_at_deletion += [n for n, p in self.pods.items() if not p["ready"]]
        self.deleted.append(pod)
        if pod == self.master:
            candidates = [n for n, p in self.pods.items() if n != pod and p["ready"]]
            self.master = sorted(candidates, key=lambda n: not self.pods[n]["up_to_date"])[0]
            self.failovers += 1
        state = self.pods[pod]
        state.update(up_to_date=True, ready=False, uid=state["uid"] + 1, booting=self.boot_polls)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(rollout, "POLL_SECONDS", 0)


def test_next_pod_takes_outdated_replicas_before_the_master():
    pods = [PodState("redis-master-0", False, True, "1"), PodState("redis-replica-0", False, True, "2")]
    assert next_pod(pods, master="redis-replica-0") == "redis-master-0"
    assert next_pod(pods, master="redis-master-0") == "redis-replica-0"
    assert next_pod([PodState("redis-master-0", False, True, "1")], master="redis-master-0") == "redis-master-0"
    assert next_pod([PodState("redis-master-0", True, True, "1")], master="redis-master-0") is None


@pytest.mark.parametrize("master", ["redis-master-0", "redis-replica-0", "redis-replica-1"])
def test_a_rollout_replaces_every_pod_once_with_one_failover_wherever_the_master_is(master):
    pods = ModelPods(["redis-master-0", "redis-replica-0", "redis-replica-1"], master)
    replaced = roll(pods, expected=3, pod_timeout=5, settle=0)
    assert replaced == pods.deleted and sorted(replaced) == sorted(pods.pods)
    assert replaced[-1] == master
    assert pods.failovers == 1 and pods.unready_at_deletion == []
    assert all(p["up_to_date"] for p in pods.pods.values())


def test_an_up_to_date_set_is_left_alone():
    pods = ModelPods(["redis-master-0", "redis-replica-0"], "redis-master-0")
    for state in pods.pods.values():
        state["up_to_date"] = True
    assert roll(pods, expected=2, pod_timeout=5, settle=0) == []
    assert pods.deleted == []


def test_a_set_that_does_not_get_healthy_stops_the_rollout_and_says_what_it_saw():
    pods = ModelPods(["redis-master-0", "redis-replica-0"], "redis-master-0")
    pods.pods["redis-replica-0"]["ready"] = False  # a full sync that does not finish
    with pytest.raises(RolloutStuck, match=r"1 of 2 Redis pods ready \(redis-master-0\)"):
        roll(pods, expected=2, pod_timeout=0.05, settle=0)
    assert pods.deleted == []


def test_two_masters_are_not_healthy():
    pods = ModelPods(["redis-master-0", "redis-replica-0"], "redis-master-0")
    pods.role = lambda pod: "master"
    with pytest.raises(RolloutStuck, match="masters among them"):
        roll(pods, expected=2, pod_timeout=0.05, settle=0)


def test_sentinels_are_replaced_one_at_a_time_without_asking_roles():
    pods = ModelPods(["redis-sentinel-0", "redis-sentinel-1", "redis-sentinel-2"], master=None)
    pods.role = lambda pod: pytest.fail("a Sentinel has no role to ask")
    replaced = roll(pods, expected=3, pod_timeout=5, settle=0, kind="Sentinel")
    assert replaced == ["redis-sentinel-0", "redis-sentinel-1", "redis-sentinel-2"]
    assert pods.unready_at_deletion == [] and pods.failovers == 0


def test_the_rollout_reports_a_change_on_every_update():
    # So every preview of prod shows `~ redis-rollout` (docs/workflow.md, "Limits of plans"): an earlier rollout may
    # have stopped, and only a run looks at the pods.
    inputs = {"revision": "r1", "pods": 3}
    assert rollout.RedisRolloutProvider().diff("id", inputs, dict(inputs)).changes
