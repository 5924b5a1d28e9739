"""Observing a deployment over the network with redis-py: what each node says, and a canary write.

A Target says what the deployment should be and how to reach its nodes (through an optional NAT map,
announced address -> reachable address); `check_deployment` observes it and gives the verdict of
invariants.py.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from components import tls, users
from components.checks.invariants import (
    AUTH_FAILED,
    CANARY_TIMEOUT_SECONDS,
    HEALTHY,
    NODE_TIMEOUT_SECONDS,
    TIMEOUT,
    UNANSWERED,
    CertificateView,
    Observation,
    RedisView,
    Report,
    SentinelView,
    verdict,
)
from components.settings import Settings
from components.topology import Topology


@dataclass(frozen=True)
class Target:
    """What a deployment should be, and how to reach it."""

    master_name: str
    redis_nodes: tuple[str, ...]  # announced host:port of every Redis node
    sentinels: tuple[str, ...]  # announced host:port of every Sentinel
    redis_password: str  # the admin users' (users.ADMIN, users.SENTINEL_ADMIN): the check runs INFO, ROLE, SENTINEL ...
    sentinel_password: str
    max_lag_seconds: int
    nat_map: Mapping[str, str] = field(default_factory=dict)  # announced -> reachable host:port
    timeout: float = NODE_TIMEOUT_SECONDS
    canary_timeout: float = CANARY_TIMEOUT_SECONDS
    redis_username: str = users.ADMIN.name
    sentinel_username: str = users.SENTINEL_ADMIN.name
    tls_ca_cert: str = ""  # with TLS: the deployment's CA certificate (PEM; may be an Output when declared)
    # with TLS: fail a node whose certificate expires sooner (the certificateMinDaysLeft setting); 0: report only
    certificate_min_days_left: int = 0

    @classmethod
    def for_deployment(
        cls,
        settings: Settings,
        topology: Topology,
        redis_password: Any,
        sentinel_password: Any,
        nat_map: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Target:
        """The one way to say what a deployment should be (the passwords may be Pulumi Outputs when declared)."""
        return cls(
            master_name=topology.master_name,
            redis_nodes=tuple(str(node.address) for node in topology.redis_nodes),
            sentinels=tuple(str(node.address) for node in topology.sentinels),
            redis_password=redis_password,
            sentinel_password=sentinel_password,
            max_lag_seconds=settings.min_replicas_max_lag,
            nat_map=dict(nat_map or {}),
            certificate_min_days_left=settings.certificate_min_days_left,
            **overrides,
        )

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> Target:
        """Back from `props()` (lists where tuples were), e.g. in the post-deploy resource's provider."""
        values = {key: props[key] for key in cls.__dataclass_fields__ if key in props}
        values["redis_nodes"], values["sentinels"] = tuple(values["redis_nodes"]), tuple(values["sentinels"])
        return cls(**values)

    def props(self) -> dict[str, Any]:
        """Plain values for a resource's inputs (no deep copy: the passwords may be Outputs)."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {
            **values,
            "redis_nodes": list(self.redis_nodes),
            "sentinels": list(self.sentinels),
            "nat_map": dict(self.nat_map),
        }

    def reachable(self, address: str) -> tuple[str, int]:
        host, _, port = self.nat_map.get(address, address).rpartition(":")
        return host, int(port)


def nat_addresses(nat_map: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """A natMap in ioredis' shape (announced host:port -> {host, port}: the dev stack's output, the writers' map) as
    Target.nat_map (announced host:port -> reachable host:port)."""
    return {announced: f"{to['host']}:{to['port']}" for announced, to in nat_map.items()}


def check_deployment(target: Target, settle_seconds: float = 0) -> Report:
    """Observe and evaluate once; with settle_seconds, again every second until healthy or time is up
    (right after a deploy or a failover, Sentinels take a few seconds to discover replicas and peers)."""
    deadline = time.monotonic() + settle_seconds
    while True:
        report = verdict(
            observe(target),
            len(target.redis_nodes) - 1,
            len(target.sentinels),
            target.max_lag_seconds,
            target.certificate_min_days_left,
        )
        if report.status == HEALTHY or time.monotonic() >= deadline:
            return report
        time.sleep(1)


def node_client(target: Target, address: str, sentinel: bool = False) -> redis.Redis:
    host, port = target.reachable(address)
    return redis.Redis(
        host=host,
        port=port,
        username=target.sentinel_username if sentinel else target.redis_username,
        password=target.sentinel_password if sentinel else target.redis_password,
        socket_timeout=target.timeout,
        socket_connect_timeout=target.timeout,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),  # a dead node costs one timeout, not a backoff series
        **(tls.client_options(target.tls_ca_cert) if target.tls_ca_cert else {}),
    )


def _describe(error: Exception) -> str:
    """Why a node did not answer: the word check-job.sh uses too, then the details."""
    if isinstance(error, redis.AuthenticationError):
        return f"{AUTH_FAILED} ({error})"
    if isinstance(error, redis.TimeoutError):
        return TIMEOUT
    if isinstance(error, redis.ConnectionError):
        return f"{UNANSWERED} ({error})"
    return f"{type(error).__name__}: {error}"


def observe_certificate(target: Target, address: str, now: datetime.datetime | None = None) -> CertificateView:
    """The certificate the node at `address` presents in a TLS handshake made as the checks' redis-py clients make
    it (the CA, the host name checked against what it is reached at): what clients see, not what was declared."""
    host, port = target.reachable(address)
    context = ssl.create_default_context(cadata=target.tls_ca_cert)
    try:
        with socket.create_connection((host, port), timeout=target.timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as connection:
                served = connection.getpeercert()
    except (OSError, ssl.SSLError) as error:
        return CertificateView(error=f"{type(error).__name__}: {error}")
    not_after = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(served["notAfter"]), datetime.UTC)
    days = tls.days_left(not_after, now or datetime.datetime.now(datetime.UTC))
    return CertificateView(not_after=not_after.strftime("%Y-%m-%dT%H:%M:%SZ"), days_left=round(days, 1))


def observe_redis(target: Target, address: str) -> RedisView:
    view = RedisView(address)
    try:
        info = node_client(target, address).info("replication")
    except redis.RedisError as error:
        view.error = _describe(error)
        return view
    if target.tls_ca_cert:
        view.certificate = observe_certificate(target, address)
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
    client = node_client(target, address, sentinel=True)
    try:
        addr = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", target.master_name)
        view.master = f"{addr[0]}:{addr[1]}" if addr else None
        state = client.execute_command("SENTINEL", "MASTER", target.master_name)
        state = dict(zip(state[::2], state[1::2], strict=True)) if isinstance(state, list) else state
        view.num_slaves = int(state.get("num-slaves", 0))
        view.num_other_sentinels = int(state.get("num-other-sentinels", 0))
        view.replicas = _instances(client.execute_command("SENTINEL", "REPLICAS", target.master_name))
        view.peers = _instances(client.execute_command("SENTINEL", "SENTINELS", target.master_name))
    except redis.RedisError as error:
        view.error = _describe(error)
        return view
    if target.tls_ca_cert:
        view.certificate = observe_certificate(target, address)
    try:
        view.ckquorum = str(client.execute_command("SENTINEL", "CKQUORUM", target.master_name))
    except redis.ResponseError as error:
        view.ckquorum = str(error)
    except redis.RedisError as error:
        view.error = _describe(error)
    return view


def _instances(reply: Any) -> dict[str, str]:
    """SENTINEL REPLICAS / SENTINELS (flat name/value lists, or dicts) -> host:port -> flags."""
    instances = {}
    for item in reply or []:
        fields = item if isinstance(item, dict) else dict(zip(item[::2], item[1::2], strict=True))
        flags = fields.get("flags", "")
        instances[f"{fields['ip']}:{fields['port']}"] = flags if isinstance(flags, str) else ",".join(flags)
    return instances


def write_canary(target: Target, master: str, replicas: list[str]) -> dict[str, str]:
    """SET an expiring key on the master; see it on every replica within canary_timeout."""
    key, value = f"festival:canary:{uuid.uuid4().hex}", str(time.time())
    try:
        node_client(target, master).set(key, value, ex=60)
    except redis.RedisError as error:
        return {master: f"write refused: {_describe(error)}"}
    results = {}
    deadline = time.monotonic() + target.canary_timeout
    for replica in replicas:
        client = node_client(target, replica)
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
