"""The NetworkPolicy docs/migration.md has the operator add for a move on a cluster, held against the prod stack's
own policies with Kubernetes' semantics (harness/netpol.py): with it the new master pod may reach the old master
(namespace `festival`, pods `app: redis`) on 6379, and nothing else is opened; without it the stack's policy refuses.
The pod runner lets every pod reach every other (tests/pods/test_move.py gives the new master the path by a network),
so this is where the policy itself is shown."""

from __future__ import annotations

import re
import textwrap

import yaml

from harness.netpol import Pod, Port
from harness.prod_network import deploy
from tests.docs.markdown import ROOT

# The settings docs/migration.md gives the prod stack beside the old setup: its own namespace, the applications
# staying in the old one.
BESIDE = {"namespace": "festival-redis", "clientNamespaces": "festival"}
# The StatefulSet controller labels every pod with its name (kubernetes/kubernetes
# pkg/controller/statefulset/stateful_set_utils.go, apps.StatefulSetPodNameLabel): the policy selects the master by it.
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
OLD_MASTER = Pod("redis-master-0", "festival", {"app": "redis", "component": "master"}, (Port(6379, "TCP", "redis"),))
OLD_SENTINEL = Pod("redis-sentinel-0", "festival", {"app": "redis-sentinel"}, (Port(26379, "TCP", "sentinel"),))


def move_policy() -> dict:
    text = (ROOT / "docs" / "migration.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kind: NetworkPolicy" in b]
    (block,) = blocks
    return yaml.safe_load(textwrap.dedent(block))


def as_created(pod: Pod) -> Pod:
    return Pod(pod.name, pod.namespace, {**pod.labels, POD_NAME_LABEL: pod.name}, pod.ports)


def test_the_moves_policy_lets_the_new_master_reach_the_old_one_and_opens_nothing_else():
    policy = move_policy()
    assert policy["metadata"]["namespace"] == BESIDE["namespace"]
    with_it = deploy(BESIDE, (policy,))
    without = deploy(BESIDE)
    new = {name: as_created(pod) for name, pod in with_it.pods.items()}
    assert with_it.cluster.allows(new["redis-master-0"], OLD_MASTER, 6379)
    assert not without.cluster.allows(new["redis-master-0"], OLD_MASTER, 6379)
    assert not with_it.cluster.allows(new["redis-master-0"], OLD_SENTINEL, 26379)
    others = [pod for name, pod in new.items() if name != "redis-master-0"]
    assert [str(pod) for pod in others if with_it.cluster.allows(pod, OLD_MASTER, 6379)] == []
    # what the stack's own pods need of each other is unchanged, and the applications in festival reach it
    assert with_it.cluster.allows(new["redis-replica-0"], new["redis-master-0"], 6379)
    [application] = with_it.clients
    assert application.namespace == "festival"
    assert with_it.cluster.allows(application, new["redis-sentinel-0"], 26379)
