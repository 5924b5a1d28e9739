"""The checks' command line: reading a stack's outputs and refusing bad usage (no Redis needed)."""

import os
import subprocess
import sys

import pytest

from components.checks.cli import UsageError, target_from_outputs
from components.settings import Settings
from tests.program.pulumi_program import ROOT


def test_target_from_dev_stack_outputs():
    outputs = {
        "masterName": "festival-master",
        "redisAdminPassword": "p",
        "sentinelAdminPassword": "s",
        "sentinelEndpoints": ["festival-sentinel-1:26379"],
        "natMap": {
            "festival-redis-master:6379": {"host": "127.0.0.1", "port": 6379},
            "festival-sentinel-1:26379": {"host": "127.0.0.1", "port": 26379},
        },
    }
    settings = Settings(replica_count=0, sentinel_count=1, quorum=1, min_replicas_to_write=0, min_replicas_max_lag=7)
    target = target_from_outputs(outputs, settings, timeout=1.0)
    assert target.redis_nodes == ("festival-redis-master:6379",)
    assert target.sentinels == ("festival-sentinel-1:26379",)
    assert target.reachable("festival-redis-master:6379") == ("127.0.0.1", 6379)
    assert target.max_lag_seconds == 7  # the stack's minReplicasMaxLag, not a fixed bound


def test_the_cli_refuses_a_kubernetes_stack_with_what_to_do_instead():
    with pytest.raises(UsageError, match="check Job"):
        target_from_outputs({}, Settings(platform="kubernetes", kube_context="prod"), timeout=1.0)


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
