"""`python -m components.checks --stack prod` (the runbook's prod health check): without port-forwards it says
what it cannot do and what to run; with --port-forward it starts one kubectl port-forward per pod, checks through
them and stops them. kubectl and pulumi are stand-ins here: kubectl forwards to loopback processes, pulumi answers
from a mocked run of the prod stack (tests/docs/pulumi_cli.py), whose passwords the loopback processes are given."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from components import users
from components.checks.cli import UsageError, port_forwards, target_from_outputs
from components.kubernetes.names import NODES_SECRET_NAME
from components.settings import Settings
from harness.program import run_program
from tests.docs import pulumi_cli
from tests.docs.markdown import ROOT
from tests.docs.pulumi_state import stack_record

PROD = Settings(platform="kubernetes", kube_context="festival-prod")
ADMIN_PASSWORDS = {users.ADMIN.key: "r", users.SENTINEL_ADMIN.key: "s"}

FAKE_KUBECTL = '''#!{python}
"""kubectl --context C --namespace N port-forward --address 127.0.0.1 pod/P LOCAL:REMOTE, to a loopback process."""
import json, os, socket, sys, threading
args = sys.argv[1:]
assert args[:2] == ["--context", "festival-prod"] and "port-forward" in args, args
pod = args[-2].removeprefix("pod/")
local = int(args[-1].split(":")[0])
target = json.load(open(os.environ["FAKE_KUBECTL_PODS"]))[pod]
with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
    log.write(f"{{os.getpid()}} {{pod}}\\n")
server = socket.create_server(("127.0.0.1", local))

def pipe(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

while True:
    client, _ = server.accept()
    upstream = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
'''


def test_without_port_forwards_it_says_what_to_run():
    with pytest.raises(UsageError) as error:
        target_from_outputs({}, ADMIN_PASSWORDS, PROD, timeout=1.0)
    message = str(error.value)
    assert "--port-forward" in message and "check Job" in message
    assert (
        "kubectl --context festival-prod --namespace festival port-forward --address 127.0.0.1 pod/redis-master-0"
        in message
    )


def test_with_port_forwards_every_announced_name_maps_to_a_local_port():
    target = target_from_outputs({}, ADMIN_PASSWORDS, PROD, 1.0, local_port_base=16379)
    assert target.reachable("redis-master-0.redis-master-headless.festival.svc.cluster.local:6379") == (
        "127.0.0.1",
        16379,
    )
    assert target.reachable("redis-sentinel-2.redis-sentinel-headless.festival.svc.cluster.local:26379") == (
        "127.0.0.1",
        16384,
    )
    commands = [" ".join(c) for _, c in port_forwards(PROD, 16379)]
    assert commands[0].endswith("pod/redis-master-0 16379:6379") and commands[-1].endswith(
        "pod/redis-sentinel-2 16384:26379"
    )


# The prod stack without TLS (the loopback processes run without it), its admin passwords at generation 2.
PROD_RUN = {"tls": False, "passwordGenerations": "redis-admin-password=2,sentinel-admin-password=1+2"}


@pytest.fixture(scope="module")
def prod_program():
    return run_program("prod", PROD_RUN)


def declared_passwords(program) -> dict[str, str]:
    """Every user's password as the pods get it: the keys of the Secret they mount."""
    (secret,) = [
        r.plain
        for r in program.of_type("kubernetes:core/v1:Secret")
        if r.plain["metadata"]["name"] == NODES_SECRET_NAME
    ]
    return {user.key: secret["stringData"][user.key] for user in users.USERS}


@pytest.fixture
def loopback(tmp_path, prod_program):
    from harness.local import LocalDeployment, require_binaries

    require_binaries()
    deployment = LocalDeployment(
        Settings(down_after_milliseconds=1000, failover_timeout=5000),
        tmp_path / "nodes",
        passwords=declared_passwords(prod_program),
    )
    try:
        deployment.start_all()
        yield deployment
    finally:
        deployment.stop_all()


def test_port_forward_reaches_every_pod_and_stops_the_forwards(loopback, prod_program, tmp_path):
    from harness.docker_runner import free_port_run

    bin_dir = tmp_path / "bin"
    tools = pulumi_cli.install(bin_dir, {"prod": stack_record(prod_program)})
    (bin_dir / "kubectl").write_text(FAKE_KUBECTL.format(python=sys.executable))
    (bin_dir / "kubectl").chmod(stat.S_IRWXU)
    local = {
        "redis-master-0": "redis-master",
        "redis-replica-0": "redis-replica-1",
        "redis-replica-1": "redis-replica-2",
    }
    local |= {f"redis-sentinel-{i}": f"sentinel-{i + 1}" for i in range(3)}
    (tmp_path / "pods.json").write_text(json.dumps({pod: loopback.nodes[n].port for pod, n in local.items()}))
    log = tmp_path / "kubectl.log"
    env = {
        **os.environ,
        **tools,
        "FAKE_KUBECTL_PODS": str(tmp_path / "pods.json"),
        "FAKE_KUBECTL_LOG": str(log),
    }
    base = free_port_run(6)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "components.checks",
            "--stack",
            "prod",
            "--port-forward",
            "--local-port",
            str(base),
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stdout)
    failures = " ".join(str(f) for f in report["failures"])
    # Every pod answered through its forward with the stack's passwords. (The loopback Sentinels name the master by
    # its loopback address, not its pod DNS name, so agreement can't hold here: that is the stand-in, not the tool.)
    assert "redis-reachable" not in failures and "sentinel-reachable" not in failures, result.stdout + result.stderr
    assert "auth-failed" not in failures
    assert [v["error"] for v in report["redis"] + report["sentinels"]] == [None] * 6
    assert sorted(v["role"] for v in report["redis"]) == ["master", "slave", "slave"]
    started = [line.split() for line in log.read_text().splitlines()]
    assert sorted(pod for _, pod in started) == sorted(local)
    for pid, _ in started:  # every port-forward was stopped
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
