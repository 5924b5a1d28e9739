"""RedisRollout's plan and loop (components/kubernetes/rollout.py) against a model of the pods: an unready outdated
pod first while the master, min-replicas-to-write replicas and a Sentinel quorum are healthy; then replicas, the
master last, one pod at a time, never while a pod is unready; evictions the disruption budget refuses asked again;
and a stop that names what it saw and the command that unblocks it."""

from __future__ import annotations

import pytest

from components.kubernetes import rollout
from components.kubernetes.rollout import (
    Keep,
    PodState,
    RolloutStuck,
    next_pod,
    plan,
    quorum_problem,
    roll,
    roll_deployment,
)

REDIS = ["redis-master-0", "redis-replica-0", "redis-replica-1"]
SENTINELS = ["redis-sentinel-0", "redis-sentinel-1", "redis-sentinel-2"]
KUBECTL = "kubectl --context festival-prod -n festival"


class ModelPods:
    """Pods that take `boot_polls` list() calls to get ready after an eviction; evicting the master hands its role
    to the first ready, up-to-date replica (else any ready replica), as prestop.sh and Sentinel do. A pod in
    `crashing` is not ready while it runs the outdated template (it crash-loops until it gets the fix). `refusals`:
    how many times the disruption budget refuses an eviction before it takes one."""

    def __init__(self, names, master, boot_polls=2, crashing=(), refusals=0):
        self.pods = {name: {"up_to_date": False, "ready": True, "uid": 0, "booting": 0} for name in names}
        self.master, self.boot_polls, self.refusals = master, boot_polls, refusals
        self.crashing = set(crashing)
        for name in self.crashing:
            self.pods[name]["ready"] = False
        self.evicted: list[str] = []
        self.down_at_eviction: list[list[str]] = []  # the unready pods besides the one evicted, at each eviction
        self.refused: list[str] = []
        self.failovers = 0

    def list(self):
        for pod in self.pods.values():
            if pod["booting"]:
                pod["booting"] -= 1
                pod["ready"] = pod["booting"] == 0
        return [PodState(n, p["up_to_date"], p["ready"], str(p["uid"])) for n, p in self.pods.items()]

    def role(self, pod):
        return "master" if pod == self.master else "slave"

    def evict(self, pod):
        if self.refusals:
            self.refusals -= 1
            self.refused.append(pod)
            return "Cannot evict pod as it would violate the pod's disruption budget."
        self.down_at_eviction.append([n for n, p in self.pods.items() if not p["ready"] and n != pod])
        self.evicted.append(pod)
        if pod == self.master:
            candidates = [n for n, p in self.pods.items() if n != pod and p["ready"]]
            self.master = sorted(candidates, key=lambda n: not self.pods[n]["up_to_date"])[0]
            self.failovers += 1
        state = self.pods[pod]
        state.update(up_to_date=True, ready=False, uid=state["uid"] + 1, booting=self.boot_polls)
        return None

    def kubectl(self, args):
        return f"{KUBECTL} {args}"


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(rollout, "POLL_SECONDS", 0)


def states(ready=(), up_to_date=(), names=REDIS):
    return [PodState(n, n in up_to_date, n in ready, n) for n in names]


# --- the plan --------------------------------------------------------------------------------------------------
def test_next_pod_takes_outdated_replicas_before_the_master():
    pods = [PodState("redis-master-0", False, True, "1"), PodState("redis-replica-0", False, True, "2")]
    assert next_pod(pods, master="redis-replica-0") == "redis-master-0"
    assert next_pod(pods, master="redis-master-0") == "redis-replica-0"
    assert next_pod([PodState("redis-master-0", False, True, "1")], master="redis-master-0") == "redis-master-0"
    assert next_pod([PodState("redis-master-0", True, True, "1")], master="redis-master-0") is None


def test_the_plan_replaces_an_unready_outdated_pod_first_while_what_serves_is_healthy():
    pods = states(ready=["redis-master-0", "redis-replica-1"])
    step = plan(pods, ["redis-master-0"], 3, keep=Keep(replicas=1))
    assert step.pod == "redis-replica-0" and not step.done
    assert "unready and outdated" in step.why
    # An up-to-date pod that is not ready (the new template fails, or it is still booting) is waited for.
    waiting = plan(states(["redis-master-0", "redis-replica-1"], ["redis-replica-0"]), ["redis-master-0"], 3)
    assert waiting.pod is None and not waiting.done


@pytest.mark.parametrize(
    ("ready", "masters", "keep", "elsewhere", "missing"),
    [
        (["redis-replica-1"], [], Keep(), "", "0 masters among the ready pods"),
        (["redis-master-0", "redis-replica-1"], ["redis-master-0", "redis-replica-1"], Keep(), "", "2 masters"),
        (["redis-master-0"], ["redis-master-0"], Keep(replicas=1), "", "min-replicas-to-write needs 1"),
        (["redis-master-0", "redis-replica-1"], ["redis-master-0"], Keep(replicas=1), "1 ready Sentinels", "Sentinel"),
    ],
    ids=["no master", "two masters", "too few replicas", "no Sentinel quorum"],
)
def test_an_unready_outdated_pod_is_not_replaced_while_the_rest_is_not_healthy(
    ready, masters, keep, elsewhere, missing
):
    step = plan(states(ready), masters, 3, keep=keep, elsewhere=elsewhere)
    assert step.pod is None and not step.done
    assert any(missing in m for m in step.missing), step


def test_sentinels_keep_a_quorum():
    crashed = states(ready=SENTINELS[1:], names=SENTINELS)
    assert plan(crashed, [], 3, "Sentinel", Keep(ready=2)).pod == "redis-sentinel-0"
    two_down = states(ready=SENTINELS[2:], names=SENTINELS)
    assert plan(two_down, [], 3, "Sentinel", Keep(ready=2)).pod is None


# --- the loop --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("master", REDIS)
def test_a_rollout_replaces_every_pod_once_with_one_failover_wherever_the_master_is(master):
    pods = ModelPods(REDIS, master)
    replaced = roll(pods, expected=3, pod_timeout=5, settle=0)
    assert replaced == pods.evicted and sorted(replaced) == sorted(pods.pods)
    assert replaced[-1] == master
    assert pods.failovers == 1 and pods.down_at_eviction == [[], [], []]
    assert all(p["up_to_date"] for p in pods.pods.values())


@pytest.mark.parametrize("crashing", ["redis-replica-0", "redis-replica-1"])
def test_a_crash_looping_outdated_replica_is_replaced_first_and_the_rest_as_usual(crashing):
    pods = ModelPods(REDIS, "redis-master-0", crashing=[crashing])
    replaced = roll(pods, expected=3, pod_timeout=5, settle=0, keep=Keep(replicas=1))
    assert replaced[0] == crashing
    assert replaced == [crashing, *[p for p in ["redis-replica-0", "redis-replica-1"] if p != crashing], REDIS[0]]
    assert pods.failovers == 1
    # Only the crash-looping pod was down when it went; every later pod only when all were up again.
    assert pods.down_at_eviction == [[], [], []]


def test_a_crash_looping_replica_is_not_replaced_when_min_replicas_to_write_needs_every_replica():
    pods = ModelPods(REDIS, "redis-master-0", crashing=["redis-replica-0"])
    with pytest.raises(RolloutStuck):
        roll(pods, expected=3, pod_timeout=0.05, settle=0, keep=Keep(replicas=2))  # two replicas must stay up
    assert pods.evicted == []


def test_a_rollout_with_a_crashed_replica_and_no_quorum_refuses_and_names_the_command():
    pods = ModelPods(REDIS, "redis-master-0", crashing=["redis-replica-0"])
    with pytest.raises(RolloutStuck) as stopped:
        roll(
            pods,
            3,
            pod_timeout=0.05,
            settle=0,
            keep=Keep(replicas=1),
            elsewhere=lambda: "1 ready Sentinels, the quorum needs 2",
        )
    assert pods.evicted == []
    message = str(stopped.value)
    assert "2 of 3 Redis pods ready" in message
    assert "redis-replica-0 is unready and outdated" in message and "the quorum needs 2" in message
    assert f"`{KUBECTL} delete pod redis-replica-0`" in message
    assert f"`{KUBECTL} logs redis-replica-0 -c redis --previous`" in message


def test_a_new_template_that_does_not_get_ready_stops_with_its_logs_command():
    pods = ModelPods(REDIS, "redis-master-0")
    pods.pods["redis-replica-0"].update(up_to_date=True, ready=False)  # replaced, and it does not come up
    with pytest.raises(RolloutStuck) as stopped:
        roll(pods, 3, pod_timeout=0.05, settle=0)
    message = str(stopped.value)
    assert "redis-replica-0 runs the new template and is not ready" in message
    assert f"`{KUBECTL} logs redis-replica-0 -c redis --previous`" in message
    assert f"`{KUBECTL} describe pod redis-replica-0`" in message
    assert "delete pod" not in message
    assert pods.evicted == []


@pytest.mark.parametrize("refusals", [1, 3])
def test_evictions_the_budget_refuses_are_asked_again(refusals):
    pods = ModelPods(REDIS, "redis-master-0", refusals=refusals)
    replaced = roll(pods, 3, pod_timeout=5, settle=0)
    assert pods.refused == ["redis-replica-0"] * refusals
    assert replaced == ["redis-replica-0", "redis-replica-1", "redis-master-0"] and pods.failovers == 1


def test_a_budget_that_keeps_refusing_stops_the_rollout_and_names_it():
    pods = ModelPods(REDIS, "redis-master-0", refusals=10**9)
    with pytest.raises(RolloutStuck) as stopped:
        roll(pods, 3, pod_timeout=0.05, settle=0)
    assert "the disruption budget refused evicting redis-replica-0" in str(stopped.value)
    assert f"`{KUBECTL} get pdb`" in str(stopped.value)
    assert pods.evicted == []


def test_an_up_to_date_set_is_left_alone():
    pods = ModelPods(["redis-master-0", "redis-replica-0"], "redis-master-0")
    for state in pods.pods.values():
        state["up_to_date"] = True
    assert roll(pods, expected=2, pod_timeout=5, settle=0) == []
    assert pods.evicted == []


def test_a_set_that_does_not_get_healthy_stops_the_rollout_and_says_what_it_saw():
    pods = ModelPods(["redis-master-0", "redis-replica-0"], "redis-master-0")
    pods.pods["redis-replica-0"].update(up_to_date=True, ready=False)  # a full sync that does not finish
    with pytest.raises(RolloutStuck, match=r"1 of 2 Redis pods ready \(redis-master-0\)"):
        roll(pods, expected=2, pod_timeout=0.05, settle=0)
    assert pods.evicted == []


def test_two_masters_are_not_healthy():
    pods = ModelPods(["redis-master-0", "redis-replica-0"], "redis-master-0")
    pods.role = lambda pod: "master"
    with pytest.raises(RolloutStuck, match="masters among them"):
        roll(pods, expected=2, pod_timeout=0.05, settle=0)


def test_sentinels_are_replaced_one_at_a_time_without_asking_roles():
    pods = ModelPods(SENTINELS, master=None)
    pods.role = lambda pod: pytest.fail("a Sentinel has no role to ask")
    replaced = roll(pods, expected=3, pod_timeout=5, settle=0, kind="Sentinel", keep=Keep(ready=2))
    assert replaced == SENTINELS
    assert pods.down_at_eviction == [[], [], []] and pods.failovers == 0


def test_a_crash_looping_sentinel_is_replaced_first_and_its_logs_are_the_sentinel_containers():
    pods = ModelPods(SENTINELS, master=None, crashing=["redis-sentinel-2"])
    assert roll(pods, 3, 5, settle=0, kind="Sentinel", keep=Keep(ready=2))[0] == "redis-sentinel-2"
    stuck = ModelPods(SENTINELS, master=None, crashing=["redis-sentinel-1", "redis-sentinel-2"])
    with pytest.raises(RolloutStuck) as stopped:
        roll(stuck, 3, 0.05, settle=0, kind="Sentinel", keep=Keep(ready=2))
    assert f"`{KUBECTL} logs redis-sentinel-1 -c sentinel --previous`" in str(stopped.value)
    assert stuck.evicted == []


def test_the_deployment_rolls_the_sentinels_then_the_redis_pods_and_guards_the_redis_phase_with_the_quorum():
    sentinels = ModelPods(SENTINELS, master=None)
    redis = ModelPods(REDIS, "redis-master-0", crashing=["redis-replica-1"])
    props = {
        "statefulsets": ["redis-master", "redis-replica"],
        "pods": 3,
        "sentinel_statefulsets": ["redis-sentinel"],
        "sentinel_pods": 3,
        "quorum": 2,
        "min_replicas_to_write": 1,
        "pod_timeout_seconds": 5,
        "settle_seconds": 0,
    }
    views = {"redis-sentinel": sentinels, "redis-master": redis}
    replaced = roll_deployment(props, lambda sets: views[sets[0]])
    assert replaced == [*SENTINELS, "redis-replica-1", "redis-replica-0", "redis-master-0"]
    # Sentinels that lose their quorum during the Redis phase hold its repair.
    sentinels = ModelPods(SENTINELS, master=None, crashing=SENTINELS[:2])
    redis = ModelPods(REDIS, "redis-master-0", crashing=["redis-replica-1"])
    with pytest.raises(RolloutStuck) as stopped:
        roll(redis, 3, 0.05, settle=0, keep=Keep(replicas=1), elsewhere=lambda: quorum_problem(sentinels, 2))
    assert (
        "redis-replica-1 is unready and outdated, and is not replaced while 1 ready Sentinels, the quorum needs 2"
        in (str(stopped.value))
    )
    assert redis.evicted == []


def test_the_rollout_reports_a_change_on_every_update():
    # So every preview of prod shows `~ redis-rollout` (docs/workflow.md, "Limits of plans"): an earlier rollout may
    # have stopped, and only a run looks at the pods.
    inputs = {"revision": "r1", "pods": 3}
    assert rollout.RedisRolloutProvider().diff("id", inputs, dict(inputs)).changes
