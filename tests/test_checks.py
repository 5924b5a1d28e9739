"""The replication checks: pure evaluation of observations, the command-line tool, and the post-deploy
resource's provider run against a real deployment."""

import json
import os
import subprocess
import sys

import pytest

from components import checks
from components.checks import Observation, RedisView, SentinelView, evaluate
from components.checks.__main__ import target_from_outputs
from components.checks.resource import ReplicationCheckProvider
from tests.pulumi_program import ROOT

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


def test_target_from_dev_stack_outputs():
    outputs = {
        "masterName": "festival-master",
        "redisPassword": "p",
        "sentinelPassword": "s",
        "sentinelEndpoints": ["festival-sentinel-1:26379"],
        "natMap": {
            "festival-redis-master:6379": {"host": "127.0.0.1", "port": 6379},
            "festival-sentinel-1:26379": {"host": "127.0.0.1", "port": 26379},
        },
    }
    target = target_from_outputs(outputs, timeout=1.0)
    assert target.redis_nodes == ("festival-redis-master:6379",)
    assert target.sentinels == ("festival-sentinel-1:26379",)
    assert target.reachable("festival-redis-master:6379") == ("127.0.0.1", 6379)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "components.checks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**{k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}, **(env or {})},
    )


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "give --stack, or at least one --redis and one --sentinel"),
        (("--redis", "nohost", "--sentinel", "127.0.0.1:1"), "--redis 'nohost': expected HOST:PORT"),
        (("--redis", "127.0.0.1:1", "--sentinel", "127.0.0.1:2"), "no password: set $REDIS_PASSWORD"),
    ],
)
def test_cli_bad_usage_exits_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr


def cli_args(deployment) -> list[str]:
    args = ["--master-name", deployment.topology.master_name, "--timeout", "0.5"]
    for node in deployment.topology.redis_nodes:
        args += ["--redis", str(node.address)]
    for node in deployment.topology.sentinels:
        args += ["--sentinel", str(node.address)]
    return args


def passwords(deployment) -> dict:
    return {"REDIS_PASSWORD": deployment.redis_password, "SENTINEL_PASSWORD": deployment.sentinel_password}


@pytest.mark.integration
def test_cli_healthy_degraded_and_unreachable(deployment):
    healthy = run_cli(*cli_args(deployment), env=passwords(deployment))
    assert healthy.returncode == 0, healthy.stdout
    assert healthy.stdout.strip().endswith("HEALTHY")
    assert deployment.redis_password not in healthy.stdout + healthy.stderr

    deployment.kill("redis-replica-1")
    degraded = run_cli(*cli_args(deployment), "--json", env=passwords(deployment))
    assert degraded.returncode == 1
    report = json.loads(degraded.stdout)
    replica = str(deployment.nodes["redis-replica-1"].node.address)
    assert report["status"] == "unhealthy"
    assert {"invariant": "redis-reachable", "node": replica} in [
        {"invariant": f["invariant"], "node": f["node"]} for f in report["failures"]
    ]

    deployment.stop_all()
    unreachable = run_cli(*cli_args(deployment), env=passwords(deployment))
    assert unreachable.returncode == 2
    assert unreachable.stdout.strip().endswith("UNREACHABLE")


@pytest.mark.integration
def test_post_deploy_provider_passes_a_healthy_deployment_and_fails_a_degraded_one(deployment):
    provider = ReplicationCheckProvider()
    target = deployment.target()
    props = {
        "master_name": target.master_name,
        "redis_nodes": list(target.redis_nodes),
        "sentinels": list(target.sentinels),
        "nat_map": {},
        "redis_password": target.redis_password,
        "sentinel_password": target.sentinel_password,
        "settle_seconds": 5,
    }
    created = provider.create(props)
    assert created.outs["summary"].startswith("healthy: master ")
    assert provider.diff(created.id, props, props).changes  # verified again on every update

    deployment.kill("redis-replica-2")
    with pytest.raises(RuntimeError, match="replication check failed: unhealthy: redis-reachable"):
        provider.update(created.id, props, props)


@pytest.mark.integration
def test_checks_reach_nodes_through_the_nat_map(deployment):
    """Announced names that don't resolve here, translated like the dev stack's natMap."""
    nat_map = {f"node-{n.name}:{n.address.port}": str(n.address) for n in deployment.topology.nodes}
    announced = {str(n.address): f"node-{n.name}:{n.address.port}" for n in deployment.topology.nodes}
    target = deployment.target(
        redis_nodes=tuple(announced[str(n.address)] for n in deployment.topology.redis_nodes),
        sentinels=tuple(announced[str(n.address)] for n in deployment.topology.sentinels),
        nat_map=nat_map,
    )
    report = checks.check_deployment(target)
    # every node answered through the map; only the Sentinels' view (real addresses) differs from the names
    assert all(view.error is None for view in (*report.observation.redis, *report.observation.sentinels))
