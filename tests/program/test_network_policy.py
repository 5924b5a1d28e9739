"""The prod stack's NetworkPolicy held against every connection the deployment needs, evaluated with Kubernetes'
semantics (harness/netpol.py) on the objects a mocked run declares: the pods of its StatefulSets and check Job, its
policies, and around them the pods a cluster has (applications, Prometheus, the cluster DNS) in settings that move
the namespaces, the counts, TLS, monitoring and the DNS egress.

The pod runner lets every pod reach every other; this is where "who may reach whom" is decided."""

from __future__ import annotations

import pytest

from harness.netpol import Address, Pod, Port
from harness.prod_network import CLIENT_LABEL, UNLISTED, Deployment, deploy

NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
EXPORTER_PORT = 9121

# The cluster DNS as common clusters run it, and where a pod's resolv.conf sends its lookups:
# - kube-dns / CoreDNS (kubeadm, EKS, AKS, GKE without Cloud DNS): pods k8s-app=kube-dns in kube-system, ports dns
#   53/UDP and dns-tcp 53/TCP (kubernetes/kubernetes cluster/addons/dns/coredns); the Service's ClusterIP is taken
#   as already translated to such a pod (see harness/netpol.py).
# - NodeLocal DNSCache (GKE Autopilot's default, an add-on elsewhere): a hostNetwork cache on every node at the
#   link-local 169.254.20.10 (kubernetes/kubernetes cluster/addons/dns/nodelocaldns); no pod to select.
# - GKE Cloud DNS: the node's metadata server 169.254.169.254 answers.
# - OpenShift: pods dns.operator.openshift.io/daemonset-dns=default in openshift-dns, ports 5353 UDP and TCP behind
#   the Service's 53 (openshift/cluster-dns-operator assets/dns/daemonset.yaml).
KUBE_DNS = Pod(
    "coredns-0", "kube-system", {"k8s-app": "kube-dns"}, (Port(53, "UDP", "dns"), Port(53, "TCP", "dns-tcp"))
)
OPENSHIFT_DNS = Pod(
    "dns-default-0",
    "openshift-dns",
    {"dns.operator.openshift.io/daemonset-dns": "default"},
    (Port(5353, "UDP", "dns"), Port(5353, "TCP", "dns-tcp")),
)
NODE_LOCAL_DNS = Address("169.254.20.10")
CLOUD_DNS = Address("169.254.169.254")
RESOLVERS = {  # name -> (endpoint, port)
    "kube-dns": (KUBE_DNS, 53),
    "NodeLocal DNSCache": (NODE_LOCAL_DNS, 53),
    "GKE Cloud DNS": (CLOUD_DNS, 53),
    "OpenShift DNS": (OPENSHIFT_DNS, 5353),
}

# Settings combinations: the prod stack as configured, and what moves the policy or the pods around it.
COMBINATIONS = {
    "prod as configured": {},
    "tls and monitoring off": {"tls": "false", "prometheusOperator": False},
    "clients elsewhere only": {"clientNamespaces": "apps,web"},  # docs/workflow.md, the app-stack test
    "clients here and elsewhere": {"clientNamespaces": "festival,apps"},
    "another namespace, more nodes": {
        "namespace": "cache",
        "clientNamespaces": "apps",
        "monitoringNamespace": "observability",
        "replicaCount": 3,
        "sentinelCount": 5,
        "quorum": 3,
        "minReplicasToWrite": 1,
        "prometheusPodSelector": "prometheus=k8s",
    },
}


def default_deny(namespace: str) -> dict:
    """What many clusters put in every namespace: nothing in or out unless another policy allows it."""
    return {
        "metadata": {"name": "default-deny-all", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


@pytest.fixture(scope="module", params=list(COMBINATIONS))
def deployment(request) -> Deployment:
    return deploy(COMBINATIONS[request.param])


# --- the deployment itself ----------------------------------------------------------------------------------------
def among_the_nodes(d: Deployment):
    """Replication (a replica to its master; after a failover any Redis pod may be master), the preStop hand-over
    (the master reads its replicas' offsets, asks the Sentinels to fail over) and the entrypoint's watcher (asks the
    Sentinels who is master, REPLICAOF the one they name); Sentinel monitoring every node and gossiping with its
    peers."""
    for source, _ in d.redis:
        for destination, port in d.redis:
            if source != destination:
                yield "replication, preStop, watcher", source, destination, port, "TCP"
        for sentinel, port in d.sentinels:
            yield "node asks a Sentinel", source, sentinel, port, "TCP"
    for sentinel, _ in d.sentinels:
        for destination, port in d.redis:
            yield "Sentinel monitors a node", sentinel, destination, port, "TCP"
        for peer, port in d.sentinels:
            if peer != sentinel:
                yield "Sentinel to Sentinel", sentinel, peer, port, "TCP"


def test_nodes_and_sentinels_reach_each_other(deployment):
    assert deployment.refused(among_the_nodes(deployment)) == []


def test_the_check_job_reaches_every_node_and_sentinel(deployment):
    job = deployment.check_job
    needed = [("check Job", job, pod, port, "TCP") for pod, port in deployment.redis + deployment.sentinels]
    assert deployment.refused(needed) == []


def test_prometheus_of_the_monitoring_namespace_scrapes_every_exporter_and_nothing_else(deployment):
    d = deployment
    scrapes = [("scrape", d.prometheus, pod, EXPORTER_PORT, "TCP") for pod in d.pods.values()]
    assert d.refused(scrapes) == []
    elsewhere = Pod("prometheus-0", UNLISTED, dict(d.prometheus.labels))
    unlabelled = Pod("grafana-0", d.settings.monitoring_namespace, {"app.kubernetes.io/name": "grafana"})
    not_for_prometheus = [
        *(("Prometheus to a server port", d.prometheus, pod, port, "TCP") for pod, port in d.redis + d.sentinels),
        *(("Prometheus of another namespace", elsewhere, pod, EXPORTER_PORT, "TCP") for pod in d.pods.values()),
        *(
            ("another pod of the monitoring namespace", unlabelled, pod, EXPORTER_PORT, "TCP")
            for pod in d.pods.values()
        ),
    ]
    assert d.allowed(not_for_prometheus) == []


def test_applications_of_the_listed_namespaces_only(deployment):
    d = deployment
    assert d.clients and {pod.namespace for pod in d.clients} == set(d.settings.client_namespace_names)
    servers = d.redis + d.sentinels
    needed = [("application", client, pod, port, "TCP") for client in d.clients for pod, port in servers]
    assert d.refused(needed) == []
    intruder = Pod("app", UNLISTED, {"app": "shop", **CLIENT_LABEL})
    unlabelled = [Pod("other", ns, {"app": "shop"}) for ns in d.settings.client_namespace_names]
    not_admitted = [
        *(("an unlisted namespace", intruder, pod, port, "TCP") for pod, port in servers),
        *(("an unlabelled pod", pod_, pod, port, "TCP") for pod_ in unlabelled for pod, port in servers),
        *(
            ("an application to an exporter", c, pod, EXPORTER_PORT, "TCP")
            for c in d.clients
            for pod in d.pods.values()
        ),
    ]
    assert d.allowed(not_admitted) == []


def test_no_pod_of_the_deployment_reaches_anything_else(deployment):
    d = deployment
    elsewhere = [Pod("web", ns, {"app": "web"}) for ns in (*d.settings.client_namespace_names, UNLISTED)]
    outside = Address("203.0.113.10")
    unneeded = [
        *(("to another pod", pod, other, 6379, "TCP") for pod in d.ours for other in elsewhere),
        *(("to the internet", pod, outside, 443, "TCP") for pod in d.ours),
        *(("to kube-dns on another port", pod, KUBE_DNS, 9153, "TCP") for pod in d.ours),
    ]
    assert d.allowed(unneeded) == []


# --- DNS ----------------------------------------------------------------------------------------------------------
def lookups(d: Deployment, resolver: str):
    endpoint, port = RESOLVERS[resolver]
    for pod in d.ours:
        for protocol in ("UDP", "TCP"):  # TCP for answers too large for UDP
            yield f"DNS via {resolver}", pod, endpoint, port, protocol


@pytest.mark.parametrize("resolver", list(RESOLVERS))
def test_every_pod_resolves_names_under_the_common_cluster_dns_set_ups(deployment, resolver):
    assert deployment.refused(lookups(deployment, resolver)) == []


@pytest.mark.parametrize(
    ("dns_egress", "reached"),
    [
        ("kube-dns", {"kube-dns"}),
        ("kube-dns,169.254.20.10/32", {"kube-dns", "NodeLocal DNSCache"}),
        ("169.254.169.254/32", {"GKE Cloud DNS"}),
        ("openshift-dns", {"OpenShift DNS"}),
    ],
)
def test_a_stricter_dns_egress_reaches_only_the_resolvers_it_names(dns_egress, reached):
    d = deploy({"dnsEgress": dns_egress, "clientNamespaces": "apps"})
    for resolver in RESOLVERS:
        if resolver in reached:
            assert d.refused(lookups(d, resolver)) == [], resolver
        else:
            assert d.allowed(lookups(d, resolver)) == [], resolver
    # a look-alike in another namespace is no resolver
    fake = Pod("dns", UNLISTED, dict(KUBE_DNS.labels), KUBE_DNS.ports)
    assert d.allowed(("fake kube-dns", pod, fake, 53, "UDP") for pod in d.ours) == []


def test_the_default_dns_egress_opens_the_dns_ports_to_any_destination_and_no_other_port():
    """The price of working on every common cluster: port 53 and 5353 to anywhere (documented in docs/prod.md)."""
    any_, strict = deploy({}), deploy({"dnsEgress": "kube-dns"})
    outside = Address("203.0.113.10")
    for port in (53, 5353):
        assert strict.allowed((f"to the internet, port {port}", pod, outside, port, "UDP") for pod in strict.ours) == []
        assert any_.refused((f"to the internet, port {port}", pod, outside, port, "UDP") for pod in any_.ours) == []
    assert any_.allowed(("to the internet, port 54", pod, outside, 54, "UDP") for pod in any_.ours) == []


def test_the_prometheus_pod_selector_decides_who_scrapes():
    d = deploy({"prometheusPodSelector": "app.kubernetes.io/instance=observability,prometheus=main"})
    namespace = d.settings.monitoring_namespace
    ours = Pod("prometheus-main-0", namespace, {"app.kubernetes.io/instance": "observability", "prometheus": "main"})
    operator_default = Pod("prometheus-k8s-0", namespace, {"app.kubernetes.io/name": "prometheus"})
    assert d.refused(("scrape", ours, pod, EXPORTER_PORT, "TCP") for pod in d.pods.values()) == []
    assert d.allowed(("scrape", operator_default, pod, EXPORTER_PORT, "TCP") for pod in d.pods.values()) == []


# --- beside the operator's own policies ---------------------------------------------------------------------------
def test_a_default_deny_in_every_namespace_takes_nothing_the_deployment_needs():
    """Policies add together: the deployment's policy lets through what it needs whatever else the namespace denies.
    (The application and monitoring namespaces need their own egress rules then: theirs to write.)"""
    overrides = COMBINATIONS["clients elsewhere only"]
    plain = deploy(overrides)
    d = deploy(overrides, (default_deny(plain.settings.namespace),))
    needed = [
        *among_the_nodes(d),
        *(("check Job", d.check_job, pod, port, "TCP") for pod, port in d.redis + d.sentinels),
        *(("scrape", d.prometheus, pod, EXPORTER_PORT, "TCP") for pod in d.pods.values()),
        *(("application", c, pod, port, "TCP") for c in d.clients for pod, port in d.redis + d.sentinels),
        *(lookup for resolver in RESOLVERS for lookup in lookups(d, resolver)),
    ]
    assert d.refused(needed) == []
