"""`python -m components.checks --stack prod` (the runbook's prod health check): without port-forwards it says
what it cannot do and what to run; with --port-forward it starts one kubectl port-forward per pod, checks through
them and stops them. kubectl and pulumi are stand-ins here: kubectl forwards to loopback processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from components.checks.cli import UsageError, port_forwards, target_from_outputs
from components.settings import Settings
from tests.docs.markdown import ROOT

PROD = Settings(platform="kubernetes", kube_context="festival-prod")

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

FAKE_PULUMI = """#!{python}
import json, os, sys
args = sys.argv[1:]
data = json.load(open(os.environ["FAKE_PULUMI_DATA"]))
print(json.dumps(data["config"] if args[0] == "config" else data["outputs"]))
"""


def test_without_port_forwards_it_says_what_to_run():
    with pytest.raises(UsageError) as error:
        target_from_outputs({"redisAdminPassword": "r", "sentinelAdminPassword": "s"}, PROD, timeout=1.0)
    message = str(error.value)
    assert "--port-forward" in message and "check Job" in message
    assert (
        "kubectl --context festival-prod --namespace festival port-forward --address 127.0.0.1 pod/redis-master-0"
        in message
    )


def test_with_port_forwards_every_announced_name_maps_to_a_local_port():
    target = target_from_outputs(
        {"redisAdminPassword": "r", "sentinelAdminPassword": "s"}, PROD, 1.0, local_port_base=16379
    )
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


@pytest.fixture
def loopback(tmp_path):
    from harness.local import LocalDeployment, require_binaries

    require_binaries()
    deployment = LocalDeployment(Settings(down_after_milliseconds=1000, failover_timeout=5000), tmp_path / "nodes")
    try:
        deployment.start_all()
        yield deployment
    finally:
        deployment.stop_all()


def test_port_forward_reaches_every_pod_and_stops_the_forwards(loopback, tmp_path):
    from harness.docker_runner import free_port_run

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("kubectl", FAKE_KUBECTL), ("pulumi", FAKE_PULUMI)):
        (bin_dir / name).write_text(text.format(python=sys.executable))
        (bin_dir / name).chmod(stat.S_IRWXU)
    local = {
        "redis-master-0": "redis-master",
        "redis-replica-0": "redis-replica-1",
        "redis-replica-1": "redis-replica-2",
    }
    local |= {f"redis-sentinel-{i}": f"sentinel-{i + 1}" for i in range(3)}
    (tmp_path / "pods.json").write_text(json.dumps({pod: loopback.nodes[n].port for pod, n in local.items()}))
    data = {
        "config": {
            "festival-redis:platform": {"value": "kubernetes"},
            "festival-redis:kubeContext": {"value": "festival-prod"},
        },
        "outputs": {
            "redisAdminPassword": loopback.redis_admin_password,
            "sentinelAdminPassword": loopback.sentinel_admin_password,
        },
    }
    (tmp_path / "pulumi.json").write_text(json.dumps(data))
    log = tmp_path / "kubectl.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_KUBECTL_PODS": str(tmp_path / "pods.json"),
        "FAKE_KUBECTL_LOG": str(log),
        "FAKE_PULUMI_DATA": str(tmp_path / "pulumi.json"),
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
