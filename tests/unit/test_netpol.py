"""The NetworkPolicy evaluator (harness/netpol.py), one rule of the Kubernetes semantics per test, on small
hand-written policies. The deployment's own policy is held against the connections it needs in
tests/program/test_network_policy.py."""

from __future__ import annotations

import pytest

from harness.netpol import Address, Cluster, InvalidPolicy, Pod, Port, policy_types, selects

WEB = Pod("web", "shop", {"app": "web"}, ip="10.0.0.5")
DB = Pod("db", "shop", {"app": "db"}, (Port(5432, "TCP", "postgres"), Port(9187, "TCP", "metrics")), ip="10.0.0.6")
CACHE = Pod("cache", "shop", {"app": "cache"}, ip="10.0.0.7")
WEB_ELSEWHERE = Pod("web", "other", {"app": "web"}, ip="10.0.1.5")
ANY_ELSEWHERE = Pod("job", "other", {"app": "job"}, ip="10.0.1.6")
NAMESPACES = {"shop": {"team": "shop"}, "other": {"team": "other"}}


def policy(name: str, spec: dict, namespace: str = "shop") -> dict:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def cluster(*policies: dict) -> Cluster:
    return Cluster(NAMESPACES, policies)


def app(name: str) -> dict:
    return {"matchLabels": {"app": name}}


def db_admitting(*rules: dict) -> Cluster:
    """One policy: the db pod admits what `rules` allow."""
    return cluster(policy("db", {"podSelector": app("db"), "ingress": list(rules)}))


# --- label selectors ----------------------------------------------------------------------------------------------
def test_label_selector_operators():
    labels = {"app": "redis", "component": "master"}
    assert selects({}, labels)  # empty: everything
    assert not selects(None, labels)  # absent where a selector is required: nothing
    assert selects({"matchLabels": {"app": "redis"}}, labels)
    assert not selects({"matchLabels": {"app": "redis", "tier": "x"}}, labels)
    assert selects({"matchExpressions": [{"key": "app", "operator": "In", "values": ["x", "redis"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x"]}]}, labels)
    # NotIn holds when the key is absent (apimachinery Requirement.Matches)
    assert selects({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["x"]}]}, labels)
    assert not selects({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["redis"]}]}, labels)
    assert selects({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, labels)
    assert not selects({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, labels)
    # matchLabels and matchExpressions together: both must hold
    both = {
        "matchLabels": {"app": "redis"},
        "matchExpressions": [{"key": "component", "operator": "In", "values": ["x"]}],
    }
    assert not selects(both, labels)
    with pytest.raises(InvalidPolicy, match="Gt"):
        selects({"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]}, labels)


# --- isolation, policy types, union -------------------------------------------------------------------------------
def test_a_pod_no_policy_selects_is_not_isolated():
    assert cluster().allows(WEB, DB, 5432)
    only_cache = cluster(policy("cache", {"podSelector": app("cache"), "policyTypes": ["Ingress", "Egress"]}))
    assert only_cache.allows(WEB, DB, 5432)
    assert not only_cache.allows(WEB, CACHE, 6379)
    assert not only_cache.allows(CACHE, DB, 5432)


def test_isolation_is_per_direction():
    ingress_only = cluster(policy("deny-in", {"podSelector": app("db"), "policyTypes": ["Ingress"]}))
    assert not ingress_only.allows(WEB, DB, 5432)
    assert ingress_only.allows(DB, WEB, 80)  # its egress stays open
    egress_only = cluster(policy("deny-out", {"podSelector": app("db"), "policyTypes": ["Egress"]}))
    assert egress_only.allows(WEB, DB, 5432)
    assert not egress_only.allows(DB, WEB, 80)


def test_policy_types_default_to_ingress_plus_egress_when_there_are_egress_rules():
    assert policy_types({"ingress": [{}]}) == ("Ingress",)
    assert policy_types({"egress": [{"to": [{"podSelector": {}}]}]}) == ("Ingress", "Egress")
    assert policy_types({"egress": []}) == ("Ingress",)  # an empty section is no section (len(Egress) != 0)
    # without policyTypes and without egress rules, egress is not isolated, ingress is
    no_types = cluster(policy("db", {"podSelector": app("db"), "ingress": [{"from": [{"podSelector": app("web")}]}]}))
    assert no_types.allows(WEB, DB, 5432)
    assert not no_types.allows(CACHE, DB, 5432)
    assert no_types.allows(DB, CACHE, 6379)
    with_egress = cluster(policy("db", {"podSelector": app("db"), "egress": [{"to": [{"podSelector": app("web")}]}]}))
    assert with_egress.allows(DB, WEB, 80)
    assert not with_egress.allows(DB, CACHE, 6379)
    assert not with_egress.allows(WEB, DB, 5432)  # isolated for ingress too, and no ingress rule


def test_policies_that_select_the_same_pod_add_together():
    from_web = policy("from-web", {"podSelector": app("db"), "ingress": [{"from": [{"podSelector": app("web")}]}]})
    from_cache = policy(
        "from-cache", {"podSelector": app("db"), "ingress": [{"from": [{"podSelector": app("cache")}]}]}
    )
    deny_all = policy("deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    # deny-all also isolates the sources' egress: their egress must be allowed too
    allow_egress = policy("egress", {"podSelector": {}, "egress": [{}], "policyTypes": ["Egress"]})
    both = cluster(from_web, from_cache, deny_all, allow_egress)
    assert both.allows(WEB, DB, 5432)
    assert both.allows(CACHE, DB, 5432)
    assert not both.allows(Pod("db-2", "shop", {"app": "db"}), DB, 5432)
    assert not both.allows(WEB, CACHE, 6379)  # deny-all, and nothing adds to it for the cache
    assert set(both.verdict(WEB, DB, 5432).ingress_policies) == {"shop/from-web", "shop/from-cache", "shop/deny-all"}


def test_a_connection_needs_the_sources_egress_and_the_destinations_ingress():
    in_to_db = policy("db-in", {"podSelector": app("db"), "ingress": [{"from": [{"podSelector": app("web")}]}]})
    web_out = policy("web-out", {"podSelector": app("web"), "policyTypes": ["Egress"], "egress": []})
    verdict = cluster(in_to_db, web_out).verdict(WEB, DB, 5432)
    assert (verdict.egress, verdict.ingress, verdict.allowed) == (False, True, False)
    assert "egress refused by shop/web-out" in str(verdict)
    web_out_to_db = policy("web-out", {"podSelector": app("web"), "egress": [{"to": [{"podSelector": app("db")}]}]})
    verdict = cluster(web_out_to_db).verdict(WEB, CACHE, 6379)
    assert not verdict.allowed and not verdict.egress and verdict.ingress and verdict.ingress_policies == ()
    db_closed = policy("db-in", {"podSelector": app("db"), "policyTypes": ["Ingress"]})
    verdict = cluster(web_out_to_db, db_closed).verdict(WEB, DB, 5432)
    assert (verdict.egress, verdict.ingress) == (True, False)


def test_a_pod_cannot_block_access_to_itself():
    closed = cluster(policy("deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
    assert closed.allows(DB, DB, 5432)
    assert not closed.allows(DB, Pod("db", "shop", {"app": "db", "copy": "1"}), 5432)


def test_a_rule_with_neither_peers_nor_ports_allows_everything():
    open_db = cluster(policy("db", {"podSelector": app("db"), "ingress": [{}]}))
    assert open_db.allows(ANY_ELSEWHERE, DB, 1, "UDP")
    assert open_db.allows(Address("203.0.113.9"), DB, 5432)


# --- peers --------------------------------------------------------------------------------------------------------
def test_a_pod_selector_alone_means_the_policys_own_namespace():
    db = cluster(policy("db", {"podSelector": app("db"), "ingress": [{"from": [{"podSelector": app("web")}]}]}))
    assert db.allows(WEB, DB, 5432)
    assert not db.allows(WEB_ELSEWHERE, DB, 5432)


def test_a_namespace_selector_alone_means_every_pod_of_those_namespaces():
    rule = {"from": [{"namespaceSelector": {"matchLabels": {"team": "other"}}}]}
    db = cluster(policy("db", {"podSelector": app("db"), "ingress": [rule]}))
    assert db.allows(WEB_ELSEWHERE, DB, 5432) and db.allows(ANY_ELSEWHERE, DB, 5432)
    assert not db.allows(WEB, DB, 5432)
    everywhere = cluster(policy("db", {"podSelector": app("db"), "ingress": [{"from": [{"namespaceSelector": {}}]}]}))
    assert everywhere.allows(WEB, DB, 5432) and everywhere.allows(ANY_ELSEWHERE, DB, 5432)
    assert not everywhere.allows(Address("10.0.1.6"), DB, 5432)  # selectors select pods, never a bare address


def test_namespaces_carry_their_name_label():
    rule = {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}}}]}
    db = cluster(policy("db", {"podSelector": app("db"), "ingress": [rule]}))
    assert db.allows(ANY_ELSEWHERE, DB, 5432)
    assert not db.allows(WEB, DB, 5432)


def test_both_selectors_in_one_peer_mean_those_pods_in_those_namespaces_and_two_peers_mean_either():
    other = {"namespaceSelector": {"matchLabels": {"team": "other"}}}
    one_peer = cluster(
        policy("db", {"podSelector": app("db"), "ingress": [{"from": [{**other, "podSelector": app("web")}]}]})
    )
    assert one_peer.allows(WEB_ELSEWHERE, DB, 5432)
    assert not one_peer.allows(ANY_ELSEWHERE, DB, 5432)  # the right namespace, not the right pod
    assert not one_peer.allows(WEB, DB, 5432)  # the right pod, not the right namespace
    two_peers = cluster(
        policy("db", {"podSelector": app("db"), "ingress": [{"from": [other, {"podSelector": app("web")}]}]})
    )
    assert two_peers.allows(ANY_ELSEWHERE, DB, 5432)
    assert two_peers.allows(WEB, DB, 5432)
    assert not two_peers.allows(CACHE, DB, 5432)


def test_ip_blocks_with_exceptions_match_addresses_and_pod_ips():
    block = {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}}
    db = cluster(policy("db", {"podSelector": app("db"), "ingress": [{"from": [block]}]}))
    assert db.allows(Address("10.0.200.1"), DB, 5432)
    assert not db.allows(Address("10.0.1.200"), DB, 5432)
    assert not db.allows(Address("10.1.0.1"), DB, 5432)
    assert db.allows(WEB, DB, 5432)  # a pod by its IP
    assert not db.allows(WEB_ELSEWHERE, DB, 5432)  # in the exception
    out = cluster(
        policy("web", {"podSelector": app("web"), "egress": [{"to": [{"ipBlock": {"cidr": "169.254.20.10/32"}}]}]})
    )
    assert out.allows(WEB, Address("169.254.20.10"), 53, "UDP")
    assert not out.allows(WEB, Address("169.254.20.11"), 53, "UDP")


# --- ports --------------------------------------------------------------------------------------------------------
def test_ports_numbers_protocols_and_ranges():
    def with_ports(*ports: dict) -> Cluster:
        return cluster(policy("db", {"podSelector": app("db"), "ingress": [{"ports": list(ports)}]}))

    numbered = with_ports({"port": 5432})
    assert numbered.allows(WEB, DB, 5432)
    assert not numbered.allows(WEB, DB, 5432, "UDP")  # protocol defaults to TCP
    assert not numbered.allows(WEB, DB, 5433)
    udp_any = with_ports({"protocol": "UDP"})  # no port: every port of the protocol
    assert udp_any.allows(WEB, DB, 53, "UDP") and udp_any.allows(WEB, DB, 5353, "UDP")
    assert not udp_any.allows(WEB, DB, 53, "TCP")
    ranged = with_ports({"port": 32000, "endPort": 32768})
    assert ranged.allows(WEB, DB, 32000) and ranged.allows(WEB, DB, 32768)
    assert not ranged.allows(WEB, DB, 31999) and not ranged.allows(WEB, DB, 32769)
    either = with_ports({"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53})
    assert either.allows(WEB, DB, 53, "UDP") and either.allows(WEB, DB, 53, "TCP")


def test_named_ports_resolve_against_the_destination_pods_container_ports():
    ingress = cluster(policy("db", {"podSelector": {}, "ingress": [{"ports": [{"port": "postgres"}]}]}))
    assert ingress.allows(WEB, DB, 5432)
    assert not ingress.allows(WEB, DB, 9187)  # DB's other port has another name
    assert not ingress.allows(WEB, CACHE, 5432)  # CACHE has no port of that name
    egress = cluster(policy("web", {"podSelector": app("web"), "egress": [{"ports": [{"port": "metrics"}]}]}))
    assert egress.allows(WEB, DB, 9187)
    assert not egress.allows(WEB, DB, 5432)
    assert not egress.allows(WEB, Address("10.9.9.9"), 9187)  # an address has no named ports
    udp_named = cluster(
        policy("db", {"podSelector": {}, "ingress": [{"ports": [{"port": "postgres", "protocol": "UDP"}]}]})
    )
    assert not udp_named.allows(WEB, DB, 5432, "UDP")  # the name is DB's TCP port


# --- what the API server refuses ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"from": [{}]}, "must specify a peer"),
        ({"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}, "both ipBlock and another peer"),
        ({"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]}, "strict subset"),
        ({"ports": [{"port": "postgres", "endPort": 6000}]}, "endPort needs a numeric port"),
        ({"ports": [{"endPort": 6000}]}, "endPort needs a numeric port"),
        ({"ports": [{"port": 6000, "endPort": 5000}]}, "between port 6000 and 65535"),
        ({"ports": [{"port": 53, "protocol": "ICMP"}]}, "protocol 'ICMP'"),
        ({"ports": [{"port": 70000}]}, "between 1 and 65535"),
    ],
)
def test_policies_the_api_server_refuses_are_refused(rule, message):
    with pytest.raises(InvalidPolicy, match=message):
        cluster(policy("bad", {"podSelector": {}, "ingress": [rule]}))


def test_unknown_policy_types_and_namespaces_are_refused():
    with pytest.raises(InvalidPolicy, match="'Both'"):
        cluster(policy("bad", {"podSelector": {}, "policyTypes": ["Both"]}))
    with pytest.raises(ValueError, match="not in the cluster"):
        cluster(policy("lost", {"podSelector": {}}, namespace="nowhere"))
