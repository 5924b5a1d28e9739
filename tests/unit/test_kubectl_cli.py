"""The stand-in kubectl (tests/docs/kubectl_cli.py) answers what it models and refuses the rest, through the
executable a runbook line calls. Its exec, logs, delete, wait and port-forward run against real pods in
tests/docs/test_runbook_prod.py; here a cluster with declared Secrets and no pods is enough."""

from __future__ import annotations

import base64
import os
import subprocess
from types import SimpleNamespace

import pytest

from tests.docs import kubectl_cli

SECRETS = {"redis-users": {"redis-admin-password": "pw"}, "redis-secret": {"tls-ca.crt": "-----CA-----\n"}}


@pytest.fixture
def kubectl(tmp_path):
    cluster = SimpleNamespace(declared=SimpleNamespace(namespace="frt1", secrets=SECRETS, services={}), pods={})
    installed = kubectl_cli.install(tmp_path, cluster)

    def run(command: str) -> subprocess.CompletedProcess:
        env = {**os.environ, **installed.env}
        return subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True, timeout=30)

    try:
        yield run
    finally:
        installed.close()


def test_a_secret_key_is_printed_as_the_api_server_holds_it(kubectl):
    result = kubectl("kubectl get secret -n frt1 redis-secret -o jsonpath='{.data.tls-ca\\.crt}'")
    assert result.returncode == 0 and base64.b64decode(result.stdout) == b"-----CA-----\n"
    result = kubectl("kubectl get secret -n frt1 redis-users -o jsonpath='{.data.redis-admin-password}' | base64 -d")
    assert (result.returncode, result.stdout) == (0, "pw")


@pytest.mark.parametrize(
    "command",
    [
        "kubectl get pods -n frt1",
        "kubectl get secret -n frt1 redis-users -o yaml",
        "kubectl exec -n frt1 redis-master-0 -it -c redis -- sh",
        "kubectl exec -n frt1 redis-master-0 -- sh",
        "kubectl delete pod -n frt1 redis-master-0 --grace-period=0 --force",
        "kubectl logs -n frt1 redis-sentinel-0 -c sentinel -f",
        "kubectl --context prod get secret -n frt1 redis-users",
        "kubectl apply -f x.yaml",
        "kubectl",
    ],
)
def test_what_is_not_modelled_is_refused(kubectl, command):
    result = kubectl(command)
    assert result.returncode == 2 and "not modelled here" in result.stderr, result.stderr


def test_other_namespaces_and_missing_objects_fail_as_kubectl_does(kubectl):
    result = kubectl("kubectl get secret -n festival redis-users -o jsonpath='{.data.x}'")
    assert result.returncode == 1 and "namespace" in result.stderr
    result = kubectl("kubectl exec -n frt1 redis-master-9 -c redis -- true")
    assert result.returncode == 1 and 'pods "redis-master-9" not found' in result.stderr
