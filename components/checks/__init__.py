"""Post-deploy replication checks: the invariants of a healthy deployment, verified with redis-py.

`observe` reaches the nodes (through an optional NAT map, announced address -> reachable address) and
records what each one says; `evaluate` is pure and turns an Observation into Failures. The in-cluster
Job (components/scripts/check-job.sh) implements the same invariants, under the same names.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

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

HEALTHY, UNHEALTHY, UNREACHABLE = "healthy", "unhealthy", "unreachable"
EXIT_CODES = {HEALTHY: 0, UNHEALTHY: 1, UNREACHABLE: 2}


@dataclass(frozen=True)
class Target:
    """What a deployment should be, and how to reach it."""

    master_name: str
    redis_nodes: tuple[str, ...]  # announced host:port of every Redis node
    sentinels: tuple[str, ...]  # announced host:port of every Sentinel
    redis_password: str
    sentinel_password: str
    nat_map: Mapping[str, str] = field(default_factory=dict)  # announced -> reachable host:port
    timeout: float = 1.0  # seconds per connection attempt and per reply
    max_lag_seconds: int = 10
    canary_timeout: float = 2.0

    def reachable(self, address: str) -> tuple[str, int]:
        host, _, port = self.nat_map.get(address, address).rpartition(":")
        return host, int(port)


@dataclass
class RedisView:
    address: str
    error: str | None = None
    role: str | None = None  # "master" or "slave"
    master: str | None = None  # a replica's master, host:port as it reports it
    link: str | None = None
    connected_slaves: int = 0
    replica_lags: dict[str, int] = field(default_factory=dict)  # on a master: replica address -> seconds


@dataclass
class SentinelView:
    address: str
    error: str | None = None
    master: str | None = None
    num_slaves: int | None = None
    num_other_sentinels: int | None = None
    ckquorum: str | None = None


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

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def summary(self) -> str:
        if self.status == HEALTHY:
            obs = self.observation
            master = next(v.address for v in obs.redis if v.role == "master")
            return (
                f"healthy: master {master}, {len(obs.redis) - 1} replicas linked, "
                f"{len(obs.sentinels)} Sentinels agree, canary replicated"
            )
        return f"{self.status}: " + "; ".join(str(failure) for failure in self.failures)

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "failures": [asdict(f) for f in self.failures],
            "redis": [asdict(v) for v in self.observation.redis],
            "sentinels": [asdict(v) for v in self.observation.sentinels],
            "canary": self.observation.canary,
        }


def check_deployment(target: Target, settle_seconds: float = 0) -> Report:
    """Observe and evaluate once; with settle_seconds, again every second until healthy or time is up
    (right after a deploy or a failover, Sentinels take a few seconds to discover replicas and peers)."""
    deadline = time.monotonic() + settle_seconds
    while True:
        observation = observe(target)
        failures = evaluate(observation, len(target.redis_nodes) - 1, len(target.sentinels), target.max_lag_seconds)
        answered = [v for v in (*observation.redis, *observation.sentinels) if v.error is None]
        status = HEALTHY if not failures else UNHEALTHY if answered else UNREACHABLE
        if status == HEALTHY or time.monotonic() >= deadline:
            return Report(status, failures, observation)
        time.sleep(1)


# --- observing ----------------------------------------------------------------------------------
def _client(target: Target, address: str, password: str) -> redis.Redis:
    host, port = target.reachable(address)
    return redis.Redis(
        host=host,
        port=port,
        password=password,
        socket_timeout=target.timeout,
        socket_connect_timeout=target.timeout,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),  # a dead node costs one timeout, not a backoff series
    )


def _describe(error: Exception) -> str:
    if isinstance(error, redis.AuthenticationError):
        return f"authentication failed ({error})"
    if isinstance(error, redis.TimeoutError):
        return "no answer within the timeout"
    if isinstance(error, redis.ConnectionError):
        return f"unreachable ({error})"
    return f"{type(error).__name__}: {error}"


def observe_redis(target: Target, address: str) -> RedisView:
    view = RedisView(address)
    try:
        info = _client(target, address, target.redis_password).info("replication")
    except redis.RedisError as error:
        view.error = _describe(error)
        return view
    view.role = info.get("role")
    if view.role == "slave":
        view.master = f"{info.get('master_host')}:{info.get('master_port')}"
        view.link = info.get("master_link_status")
    view.connected_slaves = int(info.get("connected_slaves", 0))
    for key, value in info.items():
        # redis-py parses "slaveN:ip=...,port=...,lag=..." into a dict
        if key.startswith("slave") and key[5:].isdigit() and isinstance(value, dict):
            view.replica_lags[f"{value.get('ip')}:{value.get('port')}"] = int(value.get("lag", 0))
    return view


def observe_sentinel(target: Target, address: str) -> SentinelView:
    view = SentinelView(address)
    client = _client(target, address, target.sentinel_password)
    try:
        addr = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", target.master_name)
        view.master = f"{addr[0]}:{addr[1]}" if addr else None
        state = client.execute_command("SENTINEL", "MASTER", target.master_name)
        state = dict(zip(state[::2], state[1::2], strict=True)) if isinstance(state, list) else state
        view.num_slaves = int(state.get("num-slaves", 0))
        view.num_other_sentinels = int(state.get("num-other-sentinels", 0))
    except redis.RedisError as error:
        view.error = _describe(error)
        return view
    try:
        view.ckquorum = str(client.execute_command("SENTINEL", "CKQUORUM", target.master_name))
    except redis.ResponseError as error:
        view.ckquorum = str(error)
    except redis.RedisError as error:
        view.error = _describe(error)
    return view


def write_canary(target: Target, master: str, replicas: list[str]) -> dict[str, str]:
    """SET an expiring key on the master; see it on every replica within canary_timeout."""
    key, value = f"festival:canary:{uuid.uuid4().hex}", str(time.time())
    try:
        _client(target, master, target.redis_password).set(key, value, ex=60)
    except redis.RedisError as error:
        return {master: f"write refused: {_describe(error)}"}
    results = {}
    deadline = time.monotonic() + target.canary_timeout
    for replica in replicas:
        client = _client(target, replica, target.redis_password)
        seen = None
        while seen != value and time.monotonic() < deadline:
            try:
                seen = client.get(key)
            except redis.RedisError as error:
                seen = _describe(error)
            if seen != value:
                time.sleep(0.05)
        results[replica] = "ok" if seen == value else f"not replicated within {target.canary_timeout}s"
    return results


def observe(target: Target) -> Observation:
    redis_views = [observe_redis(target, address) for address in target.redis_nodes]
    sentinel_views = [observe_sentinel(target, address) for address in target.sentinels]
    observation = Observation(redis_views, sentinel_views)
    masters = [v for v in redis_views if v.role == "master"]
    if len(masters) == 1:
        replicas = [v.address for v in redis_views if v.role == "slave"]
        observation.canary = write_canary(target, masters[0].address, replicas)
    return observation


# --- evaluating (pure) ----------------------------------------------------------------------------
def evaluate(observation: Observation, expected_replicas: int, expected_sentinels: int, max_lag: int) -> list[Failure]:
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
        if masters[0].connected_slaves != expected_replicas:
            failures.append(
                Failure(
                    REPLICA_COUNT, master, f"{expected_replicas} connected replicas", str(masters[0].connected_slaves)
                )
            )

    answered = [v for v in observation.sentinels if v.error is None]
    named = master or (Counter(v.master for v in answered).most_common(1) or [(None, 0)])[0][0]
    for view in observation.sentinels:
        if view.error is not None:
            failures.append(Failure(SENTINEL_REACHABLE, view.address, "answers", view.error))
            continue
        if view.master != named:
            failures.append(Failure(SENTINEL_AGREEMENT, view.address, f"master {named}", f"master {view.master}"))
        if view.num_slaves != expected_replicas:
            failures.append(
                Failure(SENTINEL_REPLICAS, view.address, f"{expected_replicas} replicas", str(view.num_slaves))
            )
        if view.num_other_sentinels != expected_sentinels - 1:
            failures.append(
                Failure(
                    SENTINEL_PEERS,
                    view.address,
                    f"{expected_sentinels - 1} other Sentinels",
                    str(view.num_other_sentinels),
                )
            )
        if not (view.ckquorum or "").startswith("OK"):
            failures.append(Failure(SENTINEL_QUORUM, view.address, "CKQUORUM OK", str(view.ckquorum)))

    for node, result in observation.canary.items():
        if result != "ok":
            failures.append(Failure(CANARY, node, "canary write replicated", result))
    return failures
