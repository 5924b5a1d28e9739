"""Kubernetes NetworkPolicy (networking.k8s.io/v1) semantics: whether a connection is allowed by a set of policies.

The pod runner does not enforce NetworkPolicy (every pod reaches every other), so who may reach whom is decided
here, on the objects the program declares. Every rule follows the API's own definition, read in:

- the concept page, https://kubernetes.io/docs/concepts/services-networking/network-policies/ (kubernetes/website
  content/en/docs/concepts/services-networking/network-policies.md): "The Two Sorts of Pod Isolation" (a pod is
  isolated for a direction only if a policy that selects it has that direction in `policyTypes`; then only what some
  such policy's rules allow passes, and the rules of all of them add together), "For a connection from a source pod
  to a destination pod to be allowed, both the egress policy on the source pod and the ingress policy on the
  destination pod need to allow the connection", "a pod cannot block access to itself", "Behavior of to and from
  selectors" (podSelector alone: the policy's namespace; namespaceSelector alone: every pod of the namespaces; both
  in one peer: those pods in those namespaces), "Targeting a range of ports" (endPort) and "Targeting a Namespace by
  its name" (the control plane labels every namespace `kubernetes.io/metadata.name=<name>`).
- the API types, kubernetes/api networking/v1/types.go: NetworkPolicySpec (`podSelector` absent = empty = every pod
  of the namespace), NetworkPolicyIngressRule / NetworkPolicyEgressRule (`from`/`to` and `ports` empty or missing
  match everything; a rule needs both to match), NetworkPolicyPort (protocol defaults to TCP; `port` a number or a
  pod's named port; no port = every port of that protocol; `endPort` a numeric range), IPBlock (`cidr` minus
  `except`), NetworkPolicyPeer (ipBlock excludes the selectors).
- kubernetes/kubernetes pkg/apis/networking/v1/defaults.go `SetDefaults_NetworkPolicy`: without `policyTypes`, Ingress,
  plus Egress when `egress` has at least one rule; pkg/apis/networking/validation/validation.go
  `ValidateNetworkPolicyPeer`, `ValidateNetworkPolicyPort`, `ValidateIPBlock`: what the API server refuses
  (raised here as InvalidPolicy, so a test cannot evaluate a policy a cluster would never store).
- kubernetes/apimachinery pkg/labels/selector.go `Requirement.Matches`: In, NotIn (true when the key is absent),
  Exists, DoesNotExist; matchLabels are In with one value; every requirement must hold.
- kubernetes-sigs/network-policy-api cmd/policy-assistant/pkg/matcher (the SIG Network policy evaluator, formerly
  cyclonus): builder.go `BuildPeerMatcher` / `BuildSinglePortMatcher` (the same rules as above), ippeermatcher.go (an
  ipBlock is matched against the peer's IP, a pod's as well), portmatcher.go and traffic.go (a named port is the
  name the destination pod gives the connection's port and protocol).

Not modelled, because only the network plugin decides them: address rewriting (a Service's ClusterIP is taken as
already translated to the pod behind it; whether `ipBlock` sees a Service IP, a node IP or the pod's, before or after
NAT, is undefined by the API), traffic from the pod's own node (always allowed: probes, `kubectl port-forward`),
hostNetwork pods (given here as plain addresses), and plugins that ignore `endPort` or
egress rules. docs/development.md says what only a real network plugin shows.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


class InvalidPolicy(ValueError):
    """A NetworkPolicy the API server would refuse (pkg/apis/networking/validation)."""


@dataclass(frozen=True)
class Port:
    """A container port: what a named port in a policy resolves to."""

    number: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()
    ip: str = ""  # only ipBlock peers look at it

    def __str__(self) -> str:
        return f"pod {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Address:
    """An endpoint that is no pod: a node-local DNS cache, a metadata server, anything outside the cluster."""

    ip: str

    def __str__(self) -> str:
        return f"address {self.ip}"


Endpoint = Pod | Address


@dataclass(frozen=True)
class Verdict:
    """Whether each side lets the connection through, and the policies that isolate each side (empty: not isolated)."""

    egress: bool
    ingress: bool
    egress_policies: tuple[str, ...]
    ingress_policies: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return self.egress and self.ingress

    def __str__(self) -> str:
        def side(name: str, ok: bool, policies: tuple[str, ...]) -> str:
            if not policies:
                return f"{name} not isolated"
            return f"{name} {'allowed' if ok else 'refused'} by {', '.join(policies)}"

        return f"{side('egress', self.egress, self.egress_policies)}; " + side(
            "ingress", self.ingress, self.ingress_policies
        )


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector against labels: every matchLabels pair and every matchExpressions requirement must
    hold; an empty selector selects everything (apimachinery labels/selector.go Requirement.Matches)."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator, values = requirement["key"], requirement["operator"], requirement.get("values") or []
        holds = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(operator)
        if holds is None:
            raise InvalidPolicy(f"label selector operator {operator!r} is not one of In, NotIn, Exists, DoesNotExist")
        if not holds:
            return False
    return True


def policy_types(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """`policyTypes`, or its default: Ingress, and Egress when there is an egress rule (SetDefaults_NetworkPolicy)."""
    declared = spec.get("policyTypes")
    if declared:
        return tuple(declared)
    return ("Ingress", "Egress") if spec.get("egress") else ("Ingress",)


class Cluster:
    """Namespaces (name -> labels) and the NetworkPolicies in them; answers whether a connection is allowed."""

    def __init__(self, namespaces: Mapping[str, Mapping[str, str]] | Iterable[str], policies: Iterable[dict]):
        given = namespaces if isinstance(namespaces, Mapping) else {name: {} for name in namespaces}
        # The control plane sets this label on every namespace (GA in 1.22), whatever the namespace declares.
        self.namespaces = {name: {**labels, NAMESPACE_NAME_LABEL: name} for name, labels in given.items()}
        self.policies = list(policies)
        for policy in self.policies:
            validate(policy)
            if policy["metadata"]["namespace"] not in self.namespaces:
                raise ValueError(f"policy {_name(policy)}: its namespace is not in the cluster")

    def verdict(self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> Verdict:
        """Whether `source` may open a connection to `destination`'s `port`/`protocol`: the source's egress and the
        destination's ingress must both allow it; a side that is no pod (an Address) is no policy's concern."""
        egress = self._applying(source, "Egress")
        ingress = self._applying(destination, "Ingress")
        if source == destination:  # "a pod cannot block access to itself"
            return Verdict(True, True, tuple(map(_name, egress)), tuple(map(_name, ingress)))
        egress_ok = not egress or any(
            self._rule_allows(policy, rule, "to", destination, destination, port, protocol)
            for policy in egress
            for rule in policy["spec"].get("egress") or []
        )
        ingress_ok = not ingress or any(
            self._rule_allows(policy, rule, "from", source, destination, port, protocol)
            for policy in ingress
            for rule in policy["spec"].get("ingress") or []
        )
        return Verdict(egress_ok, ingress_ok, tuple(map(_name, egress)), tuple(map(_name, ingress)))

    def allows(self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return self.verdict(source, destination, port, protocol).allowed

    def _applying(self, endpoint: Endpoint, direction: str) -> list[dict]:
        """The policies that select this pod and have this direction: it is isolated for it if there is any."""
        if not isinstance(endpoint, Pod):
            return []
        return [
            policy
            for policy in self.policies
            if policy["metadata"]["namespace"] == endpoint.namespace
            and direction in policy_types(policy["spec"])
            and selects(policy["spec"].get("podSelector") or {}, endpoint.labels)
        ]

    def _rule_allows(
        self, policy: dict, rule: dict, peers_key: str, peer: Endpoint, target: Endpoint, port: int, protocol: str
    ) -> bool:
        """One rule: its peers (`from` or `to`, none = any) and its ports (none = any) must both match. Named ports
        are the target's: the destination pod of the connection, for ingress and egress alike."""
        peers = rule.get(peers_key) or []
        ports = rule.get("ports") or []
        peer_ok = not peers or any(self._peer_matches(policy, entry, peer) for entry in peers)
        port_ok = not ports or any(_port_matches(entry, target, port, protocol) for entry in ports)
        return peer_ok and port_ok

    def _peer_matches(self, policy: dict, peer: dict, endpoint: Endpoint) -> bool:
        if "ipBlock" in peer:
            return bool(endpoint.ip) and _in_block(peer["ipBlock"], endpoint.ip)
        if not isinstance(endpoint, Pod):
            return False  # selectors select pods only
        if "namespaceSelector" in peer:
            namespace_ok = selects(peer["namespaceSelector"], self.namespaces.get(endpoint.namespace, {}))
        else:
            namespace_ok = endpoint.namespace == policy["metadata"]["namespace"]
        return namespace_ok and selects(peer.get("podSelector") or {}, endpoint.labels)


def _port_matches(entry: Mapping[str, Any], target: Endpoint, port: int, protocol: str) -> bool:
    if entry.get("protocol", "TCP") != protocol:
        return False
    wanted = entry.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return isinstance(target, Pod) and Port(port, protocol, wanted) in target.ports
    return wanted <= port <= entry.get("endPort", wanted)


def _in_block(block: Mapping[str, Any], ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if address not in ipaddress.ip_network(block["cidr"], strict=False):
        return False
    return not any(address in ipaddress.ip_network(cidr, strict=False) for cidr in block.get("except") or [])


def _name(policy: dict) -> str:
    return f"{policy['metadata']['namespace']}/{policy['metadata']['name']}"


def validate(policy: Mapping[str, Any]) -> None:
    """What the API server refuses of a NetworkPolicy's spec, as far as this evaluator relies on it."""
    spec, name = policy["spec"], _name(policy)
    for kind in spec.get("policyTypes") or []:
        if kind not in POLICY_TYPES:
            raise InvalidPolicy(f"{name}: policyTypes {kind!r} is not Ingress or Egress")
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(spec.get(direction) or []):
            where = f"{name}: {direction}[{index}]"
            for peer in rule.get(peers_key) or []:
                _validate_peer(peer, f"{where}.{peers_key}")
            for entry in rule.get("ports") or []:
                _validate_port(entry, f"{where}.ports")


def _validate_peer(peer: Mapping[str, Any], where: str) -> None:
    kinds = [key for key in ("podSelector", "namespaceSelector", "ipBlock") if key in peer]
    if not kinds:
        raise InvalidPolicy(f"{where}: must specify a peer")
    if "ipBlock" in kinds and len(kinds) > 1:
        raise InvalidPolicy(f"{where}: may not specify both ipBlock and another peer")
    if "ipBlock" in peer:
        cidr = ipaddress.ip_network(peer["ipBlock"]["cidr"], strict=False)
        for excepted in peer["ipBlock"].get("except") or []:
            network = ipaddress.ip_network(excepted, strict=False)
            if network.version != cidr.version or not network.subnet_of(cidr) or network == cidr:
                raise InvalidPolicy(f"{where}: except {excepted} must be a strict subset of {cidr}")


def _validate_port(entry: Mapping[str, Any], where: str) -> None:
    protocol, port, end = entry.get("protocol", "TCP"), entry.get("port"), entry.get("endPort")
    if protocol not in PROTOCOLS:
        raise InvalidPolicy(f"{where}: protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if isinstance(port, int) and not 1 <= port <= 65535:
        raise InvalidPolicy(f"{where}: port {port} is not between 1 and 65535")
    if end is not None and not isinstance(port, int):
        raise InvalidPolicy(f"{where}: endPort needs a numeric port")
    if end is not None and not port <= end <= 65535:
        raise InvalidPolicy(f"{where}: endPort {end} must be between port {port} and 65535")
