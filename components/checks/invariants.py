"""The invariants of a healthy deployment, their parameters, and the verdict: pure, no I/O.

`observe.py` records what each node says into an Observation; `evaluate` turns it into Failures. The in-cluster
Job (components/scripts/check-job.sh) implements the same invariants under the same names, with the same
parameters rendered into it from here (tests/live/test_check_job_sh.py keeps the two in agreement), except
certificate-days-left: the Job has only sh and redis-cli, which cannot show a server's certificate (docs/security.md,
"Watching the certificates").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

# Invariant names, shared with check-job.sh.
REDIS_REACHABLE = "redis-reachable"
ONE_MASTER = "one-master"
REPLICA_LINKED = "replica-linked"
REPLICA_LAG = "replica-lag"
REPLICA_COUNT = "replica-count"
SENTINEL_REACHABLE = "sentinel-reachable"
SENTINEL_AGREEMENT = "sentinel-agreement"
SENTINEL_REPLICAS = "sentinel-replicas"
SENTINEL_PEERS = "sentinel-peers"
SENTINEL_QUORUM = "sentinel-quorum"
CANARY = "canary"
# With TLS: the certificate a node serves in the handshake (what clients see) expires in fewer days than the
# certificateMinDaysLeft setting, or could not be read.
CERTIFICATE_DAYS_LEFT = "certificate-days-left"

# A node that Sentinels or the master still know but that is not declared (a replica or Sentinel removed by a scale
# down): tolerated, and reported in these words, until the Sentinels reset (sentinel-entrypoint.sh) and the platform
# deletes it. check-job.sh prints "REMOVED <kind> <address> seen-by=<nodes>".
REMOVED_NOTE = "removed, awaiting reset/deletion"

# Why a node did not answer, in the words check-job.sh uses too.
TIMEOUT, UNANSWERED, AUTH_FAILED = "timeout", "unreachable", "auth-failed"

HEALTHY, UNHEALTHY, UNREACHABLE = "healthy", "unhealthy", "unreachable"
EXIT_CODES = {HEALTHY: 0, UNHEALTHY: 1, UNREACHABLE: 2}

# Parameters, one definition each (the replica lag bound is the minReplicasMaxLag setting).
# After a deploy, new Sentinels take a few seconds (INFO every 1 s, hellos every 2 s) to discover every
# replica and peer; the checks re-check until healthy for up to this long.
SETTLE_SECONDS = 90
CANARY_TIMEOUT_SECONDS = 2  # how long a canary write may take to reach every replica
NODE_TIMEOUT_SECONDS = 1.0  # per connection attempt and per reply


@dataclass
class RedisView:
    address: str
    error: str | None = None
    role: str | None = None  # "master" or "slave"
    master: str | None = None  # a replica's master, host:port as it reports it
    link: str | None = None
    connected_slaves: int = 0
    replica_lags: dict[str, int] = field(default_factory=dict)  # on a master: replica address -> seconds
    certificate: CertificateView | None = None  # with TLS: the certificate it served


@dataclass
class SentinelView:
    address: str
    error: str | None = None
    master: str | None = None
    num_slaves: int | None = None
    num_other_sentinels: int | None = None
    ckquorum: str | None = None
    # SENTINEL REPLICAS / SENTINEL SENTINELS: host:port -> flags. None when not asked (then the counts above count).
    replicas: dict[str, str] | None = None
    peers: dict[str, str] | None = None
    certificate: CertificateView | None = None  # with TLS: the certificate it served


@dataclass
class CertificateView:
    """The certificate a node presented in a TLS handshake: its NotAfter (RFC 3339) and the days left when it was
    observed, or why it could not be read."""

    not_after: str | None = None
    days_left: float | None = None
    error: str | None = None


@dataclass
class Observation:
    redis: list[RedisView]
    sentinels: list[SentinelView]
    canary: dict[str, str] = field(default_factory=dict)  # node -> "ok" or what went wrong


@dataclass(frozen=True)
class Failure:
    invariant: str
    node: str
    expected: str
    seen: str

    def __str__(self) -> str:
        return f"{self.invariant} {self.node}: expected {self.expected}, saw {self.seen}"


@dataclass
class Report:
    status: str
    failures: list[Failure]
    observation: Observation
    removed: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (kind, address) -> seen by

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def failed(self) -> set[tuple[str, str]]:
        """(invariant, node) of every failure."""
        return {(failure.invariant, failure.node) for failure in self.failures}

    def removed_text(self) -> str:
        """'; removed, awaiting reset/deletion: replica h:p (seen by a, b), ...', or '' when there is none."""
        if not self.removed:
            return ""
        nodes = ", ".join(
            f"{kind} {address} (seen by {', '.join(seen)})" for (kind, address), seen in self.removed.items()
        )
        return f"; {REMOVED_NOTE}: {nodes}"

    def summary(self) -> str:
        if self.status == HEALTHY:
            obs = self.observation
            master = next(v.address for v in obs.redis if v.role == "master")
            return (
                f"healthy: master {master}, {len(obs.redis) - 1} replicas linked, "
                f"{len(obs.sentinels)} Sentinels agree, canary replicated"
                + self.certificates_text()
                + self.removed_text()
            )
        return f"{self.status}: " + "; ".join(str(failure) for failure in self.failures) + self.removed_text()

    def certificates_text(self) -> str:
        """', certificates valid 364.2 more days (fewest: <node>)', or '' when no certificate was read (no TLS)."""
        views = [v for v in (*self.observation.redis, *self.observation.sentinels) if v.certificate]
        read = [v for v in views if v.certificate.days_left is not None]
        if not read:
            return ""
        fewest = min(read, key=lambda v: v.certificate.days_left)
        return f", certificates valid {fewest.certificate.days_left:.1f} more days (fewest: {fewest.address})"

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "failures": [asdict(f) for f in self.failures],
            "redis": [asdict(v) for v in self.observation.redis],
            "sentinels": [asdict(v) for v in self.observation.sentinels],
            "canary": self.observation.canary,
            "removed": [
                {"kind": kind, "address": address, "seen_by": seen} for (kind, address), seen in self.removed.items()
            ],
        }


def verdict(
    observation: Observation,
    expected_replicas: int,
    expected_sentinels: int,
    max_lag: int,
    certificate_min_days_left: float = 0,
) -> Report:
    failures = evaluate(observation, expected_replicas, expected_sentinels, max_lag, certificate_min_days_left)
    answered = [v for v in (*observation.redis, *observation.sentinels) if v.error is None]
    status = HEALTHY if not failures else UNHEALTHY if answered else UNREACHABLE
    return Report(status, failures, observation, removed_nodes(observation))


def removed_nodes(observation: Observation) -> dict[tuple[str, str], list[str]]:
    """Replicas and Sentinels that the master or a Sentinel knows but the deployment does not declare (the observed
    nodes are the declared ones): (kind, address) -> the nodes that know it, sorted."""
    declared_redis = {v.address for v in observation.redis}
    declared_sentinels = {v.address for v in observation.sentinels}
    seen: dict[tuple[str, str], set[str]] = {}
    for view in observation.redis:
        if view.error is None and view.role == "master":
            for address in set(view.replica_lags) - declared_redis:
                seen.setdefault(("replica", address), set()).add(view.address)
    for view in observation.sentinels:
        if view.error is None:
            for address in set(view.replicas or {}) - declared_redis:
                seen.setdefault(("replica", address), set()).add(view.address)
            for address in set(view.peers or {}) - declared_sentinels:
                seen.setdefault(("sentinel", address), set()).add(view.address)
    return {key: sorted(seen[key]) for key in sorted(seen)}


def evaluate(
    observation: Observation,
    expected_replicas: int,
    expected_sentinels: int,
    max_lag: int,
    certificate_min_days_left: float = 0,
) -> list[Failure]:
    """Every failed invariant. `certificate_min_days_left`: the days a served certificate must still be valid."""
    failures = []
    reachable = [v for v in observation.redis if v.error is None]
    for view in observation.redis:
        if view.error is not None:
            failures.append(
                Failure(REDIS_REACHABLE, view.address, "answers with the deployment's password", view.error)
            )

    masters = [v for v in reachable if v.role == "master"]
    master = masters[0].address if len(masters) == 1 else None
    if master is None:
        seen = ", ".join(v.address for v in masters) or "none"
        failures.append(Failure(ONE_MASTER, "deployment", "exactly 1 node with role master", f"{len(masters)}: {seen}"))
    else:
        for view in reachable:
            if view.address == master:
                continue
            if view.role != "slave" or view.master != master or view.link != "up":
                failures.append(
                    Failure(
                        REPLICA_LINKED,
                        view.address,
                        f"replica of {master} with link up",
                        f"role {view.role}, master {view.master}, link {view.link}",
                    )
                )
            elif masters[0].replica_lags.get(view.address, 0) > max_lag:
                lag = masters[0].replica_lags[view.address]
                failures.append(Failure(REPLICA_LAG, view.address, f"lag at most {max_lag}s", f"{lag}s"))
        # Replicas removed from the declaration but still connected (deleted at the end of the update) do not count.
        undeclared = set(masters[0].replica_lags) - {v.address for v in observation.redis}
        connected = masters[0].connected_slaves - len(undeclared)
        if connected != expected_replicas:
            failures.append(Failure(REPLICA_COUNT, master, f"{expected_replicas} connected replicas", str(connected)))

    declared_redis = {v.address for v in observation.redis}
    declared_sentinels = {v.address for v in observation.sentinels}
    answered = [v for v in observation.sentinels if v.error is None]
    named = master or (Counter(v.master for v in answered).most_common(1) or [(None, 0)])[0][0]
    for view in observation.sentinels:
        if view.error is not None:
            failures.append(Failure(SENTINEL_REACHABLE, view.address, "answers", view.error))
            continue
        if view.master != named:
            failures.append(Failure(SENTINEL_AGREEMENT, view.address, f"master {named}", f"master {view.master}"))
        # Only declared replicas and peers count: a removed one is known until this Sentinel resets.
        replicas = view.num_slaves if view.replicas is None else len(set(view.replicas) & declared_redis)
        peers = view.num_other_sentinels if view.peers is None else len(set(view.peers) & declared_sentinels)
        if replicas != expected_replicas:
            failures.append(Failure(SENTINEL_REPLICAS, view.address, f"{expected_replicas} replicas", str(replicas)))
        if peers != expected_sentinels - 1:
            failures.append(
                Failure(SENTINEL_PEERS, view.address, f"{expected_sentinels - 1} other Sentinels", str(peers))
            )
        if not (view.ckquorum or "").startswith("OK"):
            failures.append(Failure(SENTINEL_QUORUM, view.address, "CKQUORUM OK", str(view.ckquorum)))

    for node, result in observation.canary.items():
        if result != "ok":
            failures.append(Failure(CANARY, node, "canary write replicated", result))
    return failures + certificate_failures(observation, certificate_min_days_left)


def certificate_failures(observation: Observation, min_days_left: float) -> list[Failure]:
    """certificate-days-left for every node that answered over TLS."""
    failures = []
    expected = f"a certificate valid at least {min_days_left:g} more days"
    for view in (*observation.redis, *observation.sentinels):
        seen = view.certificate
        if view.error is not None or seen is None:
            continue
        if seen.error is not None or seen.days_left is None:
            failures.append(Failure(CERTIFICATE_DAYS_LEFT, view.address, expected, f"unreadable: {seen.error}"))
        elif seen.days_left < min_days_left:
            failures.append(
                Failure(
                    CERTIFICATE_DAYS_LEFT,
                    view.address,
                    expected,
                    f"{seen.days_left:.1f} days left (expires {seen.not_after})",
                )
            )
    return failures
