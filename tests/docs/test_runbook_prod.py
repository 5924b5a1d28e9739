"""The prod runbook works as written against the prod stack's pods, TLS-only as the default prod stack is.

- One deployment of the prod stack's pods by the pod runner (harness/pod_runner.py, the default Pulumi.prod.yaml
  with its local images and a namespace of its own: `tls` on). Every line of the `prod` blocks of docs/operations.md
  and docs/prod.md runs, in page order, except those tests/docs/test_runbook.py's NOT_RUN names (listing and
  describing objects, `logs --previous`, the health check, each tested there or elsewhere); then the `prod-drill`
  blocks of operations.md, which move the master twice: a hand-over (the master pod deleted), then a failure
  (`DEBUG SLEEP` on the master).
- `kubectl` on PATH is the stand-in of tests/docs/kubectl_cli.py: `exec` through the runner's exec in the pod's
  container, `get secret` from the declared Secrets the pods mount, `logs`, `delete pod`, `wait`, `port-forward`,
  and a refusal of anything else. The host `redis-cli` lines run the host's redis-cli through the port-forwards.
- Substitutions, all explicit: the namespace `festival` (`-n festival`, and `.festival.svc.` in pod DNS names)
  becomes the runner's; each local port of `kubectl port-forward ... LOCAL:PORT`, and the same port in a host
  `redis-cli ... -h 127.0.0.1 -p LOCAL`, becomes a free port.
- Lines run in a scratch directory (the CA file the runbook writes lands there), each as test_runbook.run_block
  runs them: it fails on a non-zero exit and on any redis-cli error reply.
"""

from __future__ import annotations

import os
import re

import pytest

from components.checks import HEALTHY
from harness.docker_runner import free_port_run
from tests.docs import kubectl_cli
from tests.docs.markdown import blocks
from tests.docs.runbook import HOST_PORT, NOT_RUN, OPERATIONS, PROD_PAGES, run_block, tagged

pytestmark = pytest.mark.pods

FORWARD = re.compile(r"(port-forward .*? )(\d+)(:\d+)")
READY_SECONDS = 180  # a recreated pod's boot allowance under load (tests/pods/conftest.py deploys within 120 s)


@pytest.fixture(scope="module")
def pods():
    from harness.engine import engine_or_skip, ensure_images
    from harness.pod_runner import EXPORTER_IMAGE, REDIS_IMAGE
    from harness.pod_session import running_cluster

    ensure_images(engine_or_skip("pods tests"), {REDIS_IMAGE: "redis", EXPORTER_IMAGE: "exporter"})
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def env(pods, tmp_path_factory):
    installed = kubectl_cli.install(tmp_path_factory.mktemp("runbook-kubectl"), pods)
    try:
        yield {**{k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}, **installed.env}
    finally:
        installed.close()


@pytest.fixture(scope="module")
def substitute(pods):
    namespace = pods.declared.namespace
    local_ports: dict[int, int] = {}

    def local(match: re.Match) -> str:
        port = int(match.group(2))
        if port not in local_ports:
            local_ports[port] = free_port_run(1, avoid=set(local_ports.values()))
        return match.group(1) + str(local_ports[port]) + (match.group(3) if match.lastindex == 3 else "")

    def substitute(command: str) -> str:
        command = command.replace("-n festival ", f"-n {namespace} ").replace(".festival.svc.", f".{namespace}.svc.")
        return HOST_PORT.sub(local, FORWARD.sub(local, command))

    return substitute


def test_every_prod_line_runs_on_the_pods(pods, env, substitute, tmp_path):
    assert pods.outputs.get("tlsCaCert"), "the pods under test must be TLS-only, as the default prod stack"
    ran, redis_cli_lines = [], 0
    for path in PROD_PAGES:
        for block in (b for b in blocks(path) if b.tag == "prod"):
            commands = [(line, c) for line, c in block.commands() if not NOT_RUN.search(c)]
            redis_cli_lines += sum("redis-cli" in c and not c.startswith("export ") for _, c in commands)
            ran += run_block(commands, env, f"{path.name}:{block.line}", substitute, cwd=tmp_path)
    assert sum("redis-cli" in command for _, command, _ in ran) == redis_cli_lines >= 15
    assert sum(command.startswith("kubectl exec ") for _, command, _ in ran) >= 15

    # What the runbook says healthy answers look like, on these pods.
    def output_of(*needles: str) -> str:
        """The output of the first line that has every one of `needles`."""
        return next((o for _, c, o in ran if all(n in c for n in needles)), "")

    assert "OK 3 usable Sentinels" in output_of("SENTINEL ckquorum")
    master_name = f"redis-master-0.redis-master-headless.{pods.declared.namespace}.svc.cluster.local"
    assert output_of("get-master-addr-by-name").split() == [master_name, "6379"]
    master = output_of("kubectl exec", "redis-master-0 -c redis", "INFO replication")
    assert "role:master" in master and "connected_slaves:2" in master
    forwarded = output_of("redis-cli --tls --cacert festival-ca.crt", "INFO replication")
    assert "role:master" in forwarded, "the host redis-cli through the port-forward reaches redis-master-0"
    assert "PONG" in output_of("PING")


def test_the_failover_drills_run_on_the_pods(pods, env, substitute, tmp_path):
    for pod in pods.pods.values():  # the lines above deleted a replica pod: back and linked first
        pod.wait_ready(READY_SECONDS)
    report = pods.check(settle_seconds=30)
    assert report.status == HEALTHY, report.summary()
    first = pods.master()
    ran = []
    for block in tagged(OPERATIONS, "prod-drill"):
        ran += run_block(block.commands(), env, f"operations.md:{block.line}", substitute, cwd=tmp_path)
    answers = [o.split(".")[0] for _, c, o in ran if "get-master-addr-by-name" in c]
    # step 1, step 3 (after the hand-over), step 5 (after DEBUG SLEEP on the master step 3 named)
    assert len(answers) == 3, answers
    assert answers[0] == first == "redis-master-0", answers
    assert answers[1] != answers[0], f"deleting the master pod did not move the master: {answers}"
    assert answers[2] != answers[1], f"DEBUG SLEEP on the master did not fail over: {answers}"
    (log,) = [o for _, c, o in ran if c.startswith("kubectl logs ")]
    assert "+switch-master" in log, log
    replicas = [o for _, c, o in ran if c.endswith("INFO replication'")]
    assert len(replicas) == 2 and all("role:slave" in o for o in replicas), replicas
    report = pods.check(settle_seconds=30)
    assert report.status == HEALTHY, report.summary()
