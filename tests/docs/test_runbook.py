"""The runbook (docs/operations.md, and the lifecycle one-liners of docs/dev.md) works as written.

- Every `dev` block runs, line by line in order, against a deployment of the dev stack's declaration on Docker,
  then every `dev-drill` block (they move the master), then the `dev-lifecycle` block (stop and start, keeping the
  data). Three substitutions, all explicit: container names get the test deployment's namePrefix
  (`festival-redis-master` -> `<prefix>-redis-master`), the host ports of `-h 127.0.0.1 -p <port>` become the
  test deployment's published ports, and `venv/bin/python` the test's Python. `pulumi` on PATH is the stand-in
  CLI (tests/docs/pulumi_cli.py), answering `stack output`, `stack export` and `config` as the real one does from
  the test deployment's mocked run (its outputs, state and config), and refusing anything it does not model. The
  admin passwords are read from the containers' secret files (`docker exec <node> cat /etc/festival-secrets/...`),
  as written, or from the stack's state by `python -m components.checks --stack dev`.
- The host `redis-cli` lines of the `dev` blocks also run against loopback redis-server / redis-sentinel processes;
  there a stand-in `docker` on PATH answers only `docker exec <node> cat /etc/festival-secrets/<key>`, from the
  loopback deployment's password files.
- A line fails on a non-zero exit (bash -e -o pipefail) and, when it runs redis-cli, on any error reply in its output.
  An `export` line is evaluated once, where it stands.
- The `prod` and `prod-drill` blocks (of operations.md and prod.md) run against the pod runner's TLS-only pods in
  tests/docs/test_runbook_prod.py; here every one of their `redis-cli` uses TLS, and the `kubectl` lines that do not
  run there (listing and describing objects, `--previous` logs) name a namespace, pods, containers and labels that
  the prod stack declares.
- Every `redis-cli` line logs in as `admin`.
"""

from __future__ import annotations

import re
import shlex
import sys

import pytest

from harness.program import KubernetesObjects
from tests.docs.markdown import blocks
from tests.docs.runbook import (
    DEFAULT_PORTS,
    DEV,
    HOST_PORT,
    NODE_NAME,
    NOT_RUN,
    OPERATIONS,
    PROD_PAGES,
    make_tools,
    run_block,
    tagged,
)


# --- dev, on Docker ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def docker_env(docker_stack, tmp_path_factory):
    return make_tools(tmp_path_factory.mktemp("runbook-docker"), docker_stack.program)


def docker_substitution(deployment):
    """namePrefix into container names; the published host ports into `-h 127.0.0.1 -p <port>`; the test's Python
    for the project's venv."""
    prefix = deployment.prefix
    nat = deployment.outputs["natMap"]
    by_node = {}
    for announced, mapped in nat.items():
        name = announced.rsplit(":", 1)[0]
        by_node[name[len(prefix) + 1 :]] = mapped["port"]
    ports = {default: by_node[node] for default, node in DEFAULT_PORTS.items()}

    def substitute(command: str) -> str:
        command = NODE_NAME.sub(f"{prefix}-", command).replace("venv/bin/python ", f"{sys.executable} ")
        return HOST_PORT.sub(lambda m: m.group(1) + str(ports[int(m.group(2))]), command)

    return substitute


def test_the_runbook_has_dev_prod_and_drill_blocks():
    assert len(tagged(OPERATIONS, "dev")) >= 10
    assert len(tagged(OPERATIONS, "prod")) >= 10
    assert tagged(OPERATIONS, "dev-drill") and tagged(OPERATIONS, "prod-drill") and tagged(DEV, "dev-lifecycle")
    every_cli = [c for b in tagged(OPERATIONS, "dev") for _, c in b.commands() if "redis-cli" in c]
    assert all("-a " not in c for c in every_cli), "passwords go through REDISCLI_AUTH, never -a"
    every_line = [c for tag in ("dev", "dev-drill") for b in tagged(OPERATIONS, tag) for _, c in b.commands()]
    every_line += [c for _, c in prod_lines()]
    for command in every_line:
        # every redis-cli of a line (a pipeline's too) logs in as admin, and no password comes from the outputs
        logins = len(re.findall(r"redis-cli (--tls --cacert \S+ )?--user admin ", command))
        assert command.count("redis-cli ") == logins, f"not as admin: {command}"
        assert "redisPassword" not in command and "sentinelPassword" not in command, f"an app password: {command}"
    for seed_command in (
        "SENTINEL master",
        "SENTINEL replicas",
        "SENTINEL sentinels",
        "INFO persistence",
        "SLOWLOG GET 10",
        "CLIENT LIST",
        "CONFIG GET maxmemory",
        "DBSIZE",
        "INFO keyspace",
        "MEMORY DOCTOR",
        "--bigkeys",
        "MEMORY PURGE",
        "--scan",
    ):
        assert any(seed_command in c for c in every_cli), f"the runbook lost {seed_command!r}"


def test_every_dev_command_of_the_runbook_runs_on_docker(docker_stack, docker_env):
    substitute = docker_substitution(docker_stack)
    ran = []
    for block in tagged(OPERATIONS, "dev"):
        ran += run_block(block.commands(), docker_env, f"operations.md:{block.line}", substitute)
    assert sum("redis-cli" in command for _, command, _ in ran) >= 40
    # What the runbook says a healthy answer looks like, on this deployment.
    text = "\n".join(output for _, command, output in ran if "SENTINEL ckquorum" in command)
    assert "OK 3 usable Sentinels" in text
    outputs = docker_stack.outputs
    master_port = outputs["natMap"][outputs["bootstrapMasterEndpoint"]]["port"]
    replication = next(o for _, c, o in ran if c.endswith(f"-p {master_port} INFO replication"))
    assert "role:master" in replication and "connected_slaves:2" in replication


def test_the_failover_drills_and_the_lifecycle_one_liners_run_on_docker(docker_stack, docker_env):
    substitute = docker_substitution(docker_stack)
    for block in tagged(OPERATIONS, "dev-drill"):
        first = docker_stack.master()
        ran = run_block(block.commands(), docker_env, f"operations.md:{block.line}", substitute)
        answers = [
            o.split()[0] for _, c, o in ran if "get-master-addr-by-name" in c and not c.startswith('docker exec "')
        ]
        assert answers[-1] != first, f"the drill did not move the master from {first}: {answers}"
        if len(answers) > 1:
            assert answers[0] == first, f"the drill's first answer is not the master before it: {answers}"
        docker_stack.wait_healthy(timeout=60)
    master = docker_stack.master()
    docker_stack.client(master).set("festival:runbook:kept", "yes")
    docker_stack.wait_healthy(timeout=30)
    (lifecycle,) = tagged(DEV, "dev-lifecycle")
    stop, start = (command for _, command in lifecycle.commands())
    run_block([(lifecycle.line, stop)], docker_env, "dev.md", substitute)
    assert all(
        docker_stack.health(name) == "exited" for name in docker_stack.redis_names() + docker_stack.sentinel_names()
    )
    run_block([(lifecycle.line, start)], docker_env, "dev.md", substitute)
    docker_stack.wait_healthy(timeout=90)
    assert docker_stack.client(docker_stack.master()).get("festival:runbook:kept") == "yes"


# --- the host redis-cli forms, on loopback processes -----------------------------------------------------------
@pytest.fixture(scope="module")
def loopback(tmp_path_factory):
    from components.settings import Settings
    from harness.local import LocalDeployment, require_binaries

    require_binaries()
    deployment = LocalDeployment(
        Settings(down_after_milliseconds=1000, failover_timeout=5000), tmp_path_factory.mktemp("runbook-loopback")
    )
    try:
        deployment.start_all()
        yield deployment
    finally:
        deployment.stop_all()


def test_every_host_redis_cli_command_runs_on_loopback_processes(loopback, tmp_path):
    env = make_tools(tmp_path / "bin", secret_files=loopback.passwords)
    ports = {default: loopback.nodes[node].port for default, node in DEFAULT_PORTS.items()}

    def substitute(command: str) -> str:
        return HOST_PORT.sub(lambda m: m.group(1) + str(ports[int(m.group(2))]), command)

    ran = []
    for block in tagged(OPERATIONS, "dev"):
        ran += run_block(block.commands(), env, f"operations.md:{block.line}", substitute, only_host_cli=True)
    assert len(ran) >= 40


# --- prod: what does not run on the pod runner -----------------------------------------------------------------
def prod_lines(tags=("prod", "prod-drill")):
    """(where, command) of every line of the prod blocks of the pages that have them."""
    for path in PROD_PAGES:
        for block in blocks(path):
            if block.tag in tags:
                yield from ((f"{path.name}:{line}", command) for line, command in block.commands())


@pytest.fixture(scope="module")
def prod_cluster():
    return KubernetesObjects()


def test_every_prod_redis_cli_line_uses_tls(prod_cluster):
    """The prod stack is TLS-only by default (`tls: auto`): a plaintext redis-cli gets its connection reset."""
    assert prod_cluster.settings.tls_enabled
    for where, command in prod_lines():
        assert command.count("redis-cli ") == command.count("redis-cli --tls --cacert "), f"{where}: no TLS"


@pytest.mark.parametrize(
    "where, command", [(w, c) for w, c in prod_lines() if NOT_RUN.search(c) and c.startswith("kubectl ")]
)
def test_every_kubectl_line_that_does_not_run_names_declared_objects(prod_cluster, where, command):
    cluster = prod_cluster
    words = shlex.split(command)
    pods = dict(cluster.statefulset_pods())
    options, positional = {}, []
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-n", "--namespace", "-c", "--container", "-l", "--selector", "-L", "--tail", "--sort-by", "-o"):
            options.setdefault(word.lstrip("-")[0] if word != "--sort-by" else "sort", []).append(words[i + 1])
            i += 2
            continue
        positional.append(word)
        i += 1
    assert options.get("n") == [cluster.settings.namespace], f"{where}: namespace"
    verb, targets = positional[0], [w for w in positional[1:] if not w.startswith("-")]
    if verb in ("logs", "describe") and targets:
        name = targets[-1].removeprefix("pod/")
        if verb == "describe":
            assert targets[0] == "pod", f"{where}: {verb} {targets}"
        assert name in pods, f"{where}: no pod {name} (declared: {sorted(pods)})"
        if verb == "logs":
            (container,) = options.get("c", [None])
            containers = {c["name"] for c in pods[name]["spec"]["containers"]}
            assert container in containers, f"{where}: pod {name} has no container {container}"
    for selector in options.get("l", []):
        key, value = selector.split("=", 1)
        assert any(t["metadata"]["labels"].get(key) == value for t in pods.values()), f"{where}: no pod has {selector}"
    for column in options.get("L", []):
        assert any(column in t["metadata"]["labels"] for t in pods.values()), f"{where}: no pod label {column}"
