"""The invariants of a healthy deployment, evaluated on plain Observations (no network)."""

from components.checks.invariants import (
    CertificateView,
    Observation,
    RedisView,
    SentinelView,
    evaluate,
    verdict,
)

M, R1, R2 = "m:6379", "r1:6379", "r2:6379"
S = ["s1:26379", "s2:26379", "s3:26379"]


def healthy_observation() -> Observation:
    return Observation(
        redis=[
            RedisView(M, role="master", connected_slaves=2, replica_lags={R1: 0, R2: 1}),
            RedisView(R1, role="slave", master=M, link="up"),
            RedisView(R2, role="slave", master=M, link="up"),
        ],
        sentinels=[SentinelView(s, master=M, num_slaves=2, num_other_sentinels=2, ckquorum="OK 3 usable") for s in S],
        canary={R1: "ok", R2: "ok"},
    )


def found(observation: Observation) -> set[tuple[str, str]]:
    return {(f.invariant, f.node) for f in evaluate(observation, 2, 3, max_lag=10)}


def test_healthy_observation_has_no_failures():
    assert found(healthy_observation()) == set()


def test_two_masters_break_one_master():
    obs = healthy_observation()
    obs.redis[1] = RedisView(R1, role="master", connected_slaves=0)
    assert ("one-master", "deployment") in found(obs)


def test_replica_of_another_master_or_link_down():
    obs = healthy_observation()
    obs.redis[1].master = "elsewhere:6379"
    obs.redis[2].link = "down"
    assert {("replica-linked", R1), ("replica-linked", R2)} <= found(obs)


def test_replica_lag_over_the_bound():
    obs = healthy_observation()
    obs.redis[0].replica_lags[R2] = 11
    assert found(obs) == {("replica-lag", R2)}


def test_connected_replica_count():
    obs = healthy_observation()
    obs.redis[0].connected_slaves = 1
    assert found(obs) == {("replica-count", M)}


def test_sentinel_disagreement_counts_and_quorum():
    obs = healthy_observation()
    obs.sentinels[0].master = R1
    obs.sentinels[1].num_slaves = 1
    obs.sentinels[1].num_other_sentinels = 1
    obs.sentinels[2].ckquorum = "NOQUORUM 1 usable Sentinels"
    assert found(obs) == {
        ("sentinel-agreement", S[0]),
        ("sentinel-replicas", S[1]),
        ("sentinel-peers", S[1]),
        ("sentinel-quorum", S[2]),
    }


def test_unreachable_nodes_and_failed_canary():
    obs = healthy_observation()
    obs.redis[2] = RedisView(R2, error="unreachable")
    obs.sentinels[2] = SentinelView(S[2], error="no answer within the timeout")
    obs.canary = {R1: "not replicated within 2.0s"}
    assert found(obs) == {
        ("redis-reachable", R2),
        ("sentinel-reachable", S[2]),
        ("canary", R1),
    }


def test_failure_names_invariant_node_expected_and_seen():
    obs = healthy_observation()
    obs.redis[0].connected_slaves = 1
    (failure,) = evaluate(obs, 2, 3, 10)
    assert str(failure) == "replica-count m:6379: expected 2 connected replicas, saw 1"


R3, S4 = "r3:6379", "s4:26379"


def scaled_down_observation() -> Observation:
    """replicaCount 3 -> 2 and sentinelCount 5 -> 3, before the removed r3 and s4 are deleted and reset away: the
    master still has r3 connected, and every Sentinel knows r3 and s4 (SENTINEL REPLICAS / SENTINELS)."""
    obs = healthy_observation()
    obs.redis[0].connected_slaves = 3
    obs.redis[0].replica_lags[R3] = 0
    for view in obs.sentinels:
        view.num_slaves, view.num_other_sentinels = 3, 3
        view.replicas = {R1: "slave", R2: "slave", R3: "s_down,slave,disconnected"}
        view.peers = {s: "sentinel" for s in [*S, S4] if s != view.address}
    return obs


def test_a_removed_replica_or_sentinel_is_tolerated_and_reported():
    report = verdict(scaled_down_observation(), 2, 3, max_lag=10)
    assert report.failures == []
    assert report.removed == {("replica", R3): [M, *S], ("sentinel", S4): S}
    assert report.summary().endswith(
        f"; removed, awaiting reset/deletion: replica {R3} (seen by {M}, {', '.join(S)}), "
        f"sentinel {S4} (seen by {', '.join(S)})"
    )
    assert report.to_dict()["removed"][1] == {"kind": "sentinel", "address": S4, "seen_by": S}


def test_a_missing_declared_replica_or_sentinel_still_fails_beside_a_removed_one():
    obs = scaled_down_observation()
    obs.redis[0].connected_slaves = 2  # r2 dropped off the master; the removed r3 is still connected
    del obs.redis[0].replica_lags[R2]
    del obs.sentinels[0].replicas[R2]  # s1 forgot r2
    del obs.sentinels[1].peers[S[2]]  # s2 does not know s3
    assert found(obs) == {("replica-count", M), ("sentinel-replicas", S[0]), ("sentinel-peers", S[1])}
    (failure,) = [f for f in evaluate(obs, 2, 3, 10) if f.invariant == "replica-count"]
    assert failure.seen == "1"


def with_certificates(days_left: dict[str, float]) -> Observation:
    """A healthy deployment observed over TLS: every node served a certificate with these days left (default 300)."""
    obs = healthy_observation()
    for view in (*obs.redis, *obs.sentinels):
        days = days_left.get(view.address, 300.0)
        view.certificate = CertificateView(not_after=f"expires-in-{days}", days_left=days)
    return obs


def test_a_certificate_expiring_sooner_than_the_threshold_fails_naming_days_and_expiry():
    obs = with_certificates({R1: 13.9, S[2]: 2.0})
    failures = evaluate(obs, 2, 3, 10, certificate_min_days_left=14)
    assert {(f.invariant, f.node) for f in failures} == {("certificate-days-left", R1), ("certificate-days-left", S[2])}
    assert str(failures[0]) == (
        "certificate-days-left r1:6379: expected a certificate valid at least 14 more days, "
        "saw 13.9 days left (expires expires-in-13.9)"
    )
    assert evaluate(with_certificates({R1: 14.0}), 2, 3, 10, certificate_min_days_left=14) == []


def test_the_threshold_defaults_to_none_and_a_healthy_report_names_the_fewest_days_left():
    assert evaluate(with_certificates({R1: 0.5}), 2, 3, 10) == []  # a threshold of 0: reported, never failed
    report = verdict(with_certificates({S[1]: 40.25}), 2, 3, 10, certificate_min_days_left=14)
    assert report.status == "healthy"
    assert report.summary().endswith(", canary replicated, certificates valid 40.2 more days (fewest: s2:26379)")
    assert report.to_dict()["sentinels"][1]["certificate"] == {
        "not_after": "expires-in-40.25",
        "days_left": 40.25,
        "error": None,
    }
    assert "certificates" not in verdict(healthy_observation(), 2, 3, 10).summary()  # no TLS, no certificate


def test_an_unreadable_certificate_fails_and_an_unreachable_node_only_once():
    obs = with_certificates({})
    obs.redis[0].certificate = CertificateView(error="SSLCertVerificationError: certificate has expired")
    obs.sentinels[0] = SentinelView(S[0], error="unreachable", certificate=CertificateView(days_left=1.0))
    failures = evaluate(obs, 2, 3, 10, certificate_min_days_left=14)
    # the unreachable Sentinel fails as unreachable, not again for its certificate
    assert {(f.invariant, f.node) for f in failures} == {("certificate-days-left", M), ("sentinel-reachable", S[0])}
    [unreadable] = [f for f in failures if f.node == M]
    assert unreadable.seen == "unreadable: SSLCertVerificationError: certificate has expired"
