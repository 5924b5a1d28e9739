"""prestop.sh's time bounds, with no Redis: a `redis-cli` put first on PATH answers as a master with two replicas,
one of which hangs (it never answers, as a replica on a partitioned or frozen node does, so every question to it
takes CLI_TIMEOUT). Whether the hand-over itself works against real servers is tests/live/test_prestop_sh.py's."""

from __future__ import annotations

import os
import subprocess
import time

from components import render, users
from components.docker import topology as docker_topology
from components.settings import Settings

SETTINGS = Settings()
TOPOLOGY = docker_topology(SETTINGS)

# The master's INFO replication lists both replicas as online at offset 100; the good one answers at that offset,
# the hung one sleeps until `timeout` kills it; every Sentinel accepts the failover and names the good replica.
FAKE_REDIS_CLI = r"""#!/bin/sh
while [ $# -gt 0 ]; do
  case $1 in
  -h) host=$2; shift 2 ;;
  -p) port=$2; shift 2 ;;
  --user) shift 2 ;;
  --*) shift ;;
  *) break ;;
  esac
done
echo "$host:$port $*" >>"$CALLS"
case "$host $*" in
"127.0.0.1 INFO replication")
  printf 'role:master\r\nconnected_slaves:2\r\n'
  printf 'slave0:ip=hung-replica,port=6379,state=online,offset=100,lag=0\r\n'
  printf 'slave1:ip=good-replica,port=6379,state=online,offset=100,lag=0\r\n'
  printf 'master_repl_offset:100\r\n' ;;
"hung-replica "*) exec sleep 600 ;;
"good-replica INFO replication") printf 'role:slave\r\nslave_repl_offset:100\r\n' ;;
*"SENTINEL get-master-addr-by-name"*) printf 'good-replica\n6379\n' ;;
*) echo OK ;;
esac
"""


def test_a_hung_replica_delays_the_masters_hand_over_by_the_catch_up_bound_only(tmp_path):
    """Before, the catch-up counted 250 tries of 20 ms; a hung replica made each try CLI_TIMEOUT (2 s) long, so the
    preStop ran ~500 s, past the 60 s grace period: the master was killed without handing over."""
    bin_dir, secrets = tmp_path / "bin", tmp_path / "secrets"
    bin_dir.mkdir()
    secrets.mkdir()
    fake = bin_dir / "redis-cli"
    fake.write_text(FAKE_REDIS_CLI)
    fake.chmod(0o755)
    for user in (users.ADMIN, users.SENTINEL_ADMIN):
        (secrets / user.key).write_text("not-a-real-password")
    script = tmp_path / "prestop.sh"
    script.write_text(render.redis_files(SETTINGS, TOPOLOGY)["prestop.sh"])
    calls = tmp_path / "calls"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "FESTIVAL_SECRETS_DIR": str(secrets),
        "FESTIVAL_NODE_HOST": "the-master",
        "FESTIVAL_NODE_PORT": "6379",
    }

    started = time.monotonic()
    result = subprocess.run(
        ["sh", str(script)], env=env, capture_output=True, text=True, timeout=render.REDIS_STOP_GRACE_SECONDS
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    assert "handed the master role over to good-replica:6379" in result.stderr
    asked = calls.read_text().splitlines()
    assert "hung-replica:6379 INFO replication" in asked  # it was waited for, and left behind
    assert "127.0.0.1:6379 REPLICAOF good-replica 6379" in asked
    # The catch-up window, plus the question under way when it closed, plus the hand-over's quick steps.
    assert elapsed < render.PRESTOP_CATCHUP_SECONDS + render.CLI_TIMEOUT_SECONDS + 3, elapsed
    assert render.PRESTOP_MAX_SECONDS + 30 <= render.REDIS_STOP_GRACE_SECONDS
