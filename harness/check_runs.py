"""The checks' two front doors run against a loopback deployment (harness/local.py): the CLI
(`python -m components.checks`) and check-job.sh, the Kubernetes check Job's script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from components import render
from harness.local import LocalDeployment
from harness.program import ROOT


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m components.checks` with `args`, without this process's *_PASSWORD variables (`env`: its own)."""
    return subprocess.run(
        [sys.executable, "-m", "components.checks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**{k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}, **(env or {})},
    )


def cli_args(deployment: LocalDeployment) -> list[str]:
    """The CLI's arguments for a loopback deployment's nodes."""
    args = ["--master-name", deployment.topology.master_name, "--timeout", "0.5"]
    for node in deployment.topology.redis_nodes:
        args += ["--redis", str(node.address)]
    for node in deployment.topology.sentinels:
        args += ["--sentinel", str(node.address)]
    return args


def cli_passwords(deployment: LocalDeployment) -> dict:
    """The admin users' passwords, as the CLI takes them."""
    return {"REDIS_PASSWORD": deployment.redis_admin_password, "SENTINEL_PASSWORD": deployment.sentinel_admin_password}


def run_check(
    deployment: LocalDeployment, settle: float = 0, secrets: Path | None = None, node: str = "redis-master"
) -> subprocess.CompletedProcess:
    """check-job.sh as the Job runs it, here with one node's environment and its rendered node lists.

    FESTIVAL_CHECK_REDIS_NODES / FESTIVAL_CHECK_SENTINELS would override the lists (space-separated host:port).
    """
    local = deployment.nodes[node]
    script = local.root / "conf" / "check-job.sh"
    script.write_text(render.check_files(deployment.settings, deployment.topology)["check-job.sh"])
    env = {**deployment.env(local), "FESTIVAL_CHECK_SETTLE_SECONDS": str(settle)}
    if secrets:
        env["FESTIVAL_SECRETS_DIR"] = str(secrets)
    return subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=settle + 60)


def reported(result: subprocess.CompletedProcess) -> set[tuple[str, str]]:
    """(invariant, node) of every FAIL line."""
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    for words in lines:
        assert len(words) == 5 and words[3].startswith("expected=") and words[4].startswith("seen="), words
    return {(words[1], words[2]) for words in lines}
