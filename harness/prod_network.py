"""A mocked prod run as a cluster for the NetworkPolicy evaluator (harness/netpol.py): the pods of its StatefulSets
and check Job, its policies, and around them the pods a cluster has (applications, Prometheus)."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from components.contract import CONTRACT
from components.kubernetes import names
from components.settings import Settings
from harness.netpol import Cluster, Pod, Port
from harness.program import as_ints, run_program

CLIENT_LABEL = yaml.safe_load(CONTRACT.read_text())["clientPodLabel"]  # what application stacks put on their pods
UNLISTED = "intruders"  # a namespace no setting lists


def settings_of(program) -> Settings:
    return Settings.from_config({key.partition(":")[2]: value for key, value in program.config.items()})


def pods_of(template: dict, namespace: str, names_: list[str]) -> list[Pod]:
    ports = tuple(
        Port(port["containerPort"], port.get("protocol", "TCP"), port.get("name", ""))
        for container in template["spec"]["containers"]
        for port in container.get("ports", [])
    )
    return [Pod(name, namespace, template["metadata"]["labels"], ports) for name in names_]


@dataclass
class Deployment:
    """A mocked prod run, as a cluster: its pods and policies, and the pods and namespaces around them."""

    settings: Settings
    cluster: Cluster
    pods: dict[str, Pod]  # the StatefulSets' pods by name
    check_job: Pod
    prometheus: Pod
    clients: list[Pod]  # a labelled application pod in each namespace clientNamespaces lists

    @property
    def redis(self) -> list[tuple[Pod, int]]:
        return [(self.pods[node.name], node.address.port) for node in names.topology(self.settings).redis_nodes]

    @property
    def sentinels(self) -> list[tuple[Pod, int]]:
        return [(self.pods[node.name], node.address.port) for node in names.topology(self.settings).sentinels]

    @property
    def ours(self) -> list[Pod]:
        return [*self.pods.values(), self.check_job]

    def refused(self, connections) -> list[str]:
        """Of (what, source, destination, port, protocol), those the policies refuse, with why."""
        verdicts = [(connection, self.cluster.verdict(*connection[1:])) for connection in connections]
        return [f"{described(connection)}: {verdict}" for connection, verdict in verdicts if not verdict.allowed]

    def allowed(self, connections) -> list[str]:
        return [described(connection) for connection in connections if self.cluster.allows(*connection[1:])]


def described(connection) -> str:
    what, source, destination, port, protocol = connection
    return f"{what}: {source} -> {destination}:{port}/{protocol}"


def deploy(overrides: dict, extra_policies: tuple[dict, ...] = ()) -> Deployment:
    program = run_program("prod", overrides)
    settings = settings_of(program)
    objects = [as_ints(r.plain) for r in program.resources if r.type.startswith("kubernetes:")]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert policies, "the prod stack declares its NetworkPolicy"
    pods: dict[str, Pod] = {}
    for sts in (o for o in objects if o["kind"] == "StatefulSet"):
        name, namespace = sts["metadata"]["name"], sts["metadata"]["namespace"]
        ordinals = [f"{name}-{i}" for i in range(sts["spec"]["replicas"])]
        pods.update({pod.name: pod for pod in pods_of(sts["spec"]["template"], namespace, ordinals)})
    [job] = [o for o in objects if o["kind"] == "Job"]
    [check_job] = pods_of(job["spec"]["template"], job["metadata"]["namespace"], [f"{job['metadata']['name']}-x"])
    client_namespaces = settings.client_namespace_names
    namespaces = {settings.namespace, *client_namespaces, settings.monitoring_namespace, UNLISTED}
    namespaces |= {"kube-system", "openshift-dns"}
    prometheus_labels = {
        "app.kubernetes.io/name": "prometheus",
        "prometheus": "k8s",
        "operator.prometheus.io/name": "k8s",
    }
    return Deployment(
        settings=settings,
        cluster=Cluster(sorted(namespaces), [*policies, *extra_policies]),
        pods=pods,
        check_job=check_job,
        prometheus=Pod("prometheus-k8s-0", settings.monitoring_namespace, prometheus_labels),
        clients=[Pod(f"app-{ns}", ns, {"app": "shop", **CLIENT_LABEL}) for ns in client_namespaces],
    )
