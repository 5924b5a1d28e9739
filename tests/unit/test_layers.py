"""The pure modules stay pure: imported in a fresh interpreter, each loads no Pulumi SDK, no provider SDK, no
redis-py and no Docker or Kubernetes client, its package's __init__ included (the package faces re-export pure
names only). Like the policy pack's boundary (tests/workflow/test_policies.py), but on what Python loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PULUMI = ("pulumi", "pulumi_docker", "pulumi_kubernetes", "pulumi_random", "pulumi_tls")
IMPURE = (*PULUMI, "redis", "docker", "kubernetes")
# Plain values in, plain values out: the renderers, the names, the settings, the Kubernetes objects as dicts.
PURE = (
    "components.settings",
    "components.topology",
    "components.users",
    "components.tls",
    "components.passwords",
    "components.render",
    "components.checks.invariants",
    "components.docker.names",
    "components.docker.debug_ui",
    "components.kubernetes.names",
    "components.kubernetes.manifests",
    "components.kubernetes.monitoring",
    "tools.monitoring_files",
)


# Printed last by the fresh interpreter: which of the packages named in argv[1] it has loaded.
REPORT = """
import json, sys
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.argv[1])))))
"""


def loaded(code: str) -> list[str]:
    """The packages of IMPURE that a fresh interpreter has loaded after running `code`."""
    result = subprocess.run(
        [sys.executable, "-c", code + REPORT, json.dumps(IMPURE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_loads_no_pulumi_redis_or_engine_client(module):
    assert loaded(f"import {module}") == [], f"{module} (or its package's __init__) imports an impure module"


def test_the_checks_cli_computes_the_node_names_without_pulumi():
    # The pods to port-forward to: the prod topology's names, from the settings alone. redis-py is expected: the CLI
    # observes the nodes with it.
    code = (
        "from components.checks import cli\n"
        "from components.settings import Settings\n"
        "assert cli.port_forwards(Settings(platform='kubernetes', kube_context='ctx'), 16379)"
    )
    assert not set(loaded(code)) & set(PULUMI)


def test_rendering_a_script_from_the_command_line_loads_nothing_impure():
    assert loaded("from components import render\nrender.main(['sentinel', 'probe.sh'])") == []


def test_the_probe_sees_an_impure_import():
    """What a failure looks like: the platform base class is a Pulumi ComponentResource."""
    assert "pulumi" in loaded("import components.platform")
