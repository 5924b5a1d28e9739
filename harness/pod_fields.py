"""The pod spec fields the pod runner (harness/pod_runner.py) implements, the object types it reads from a mocked
run, and the Kubernetes value formats it parses."""

from __future__ import annotations

import re
from typing import Any

STATEFULSET = "kubernetes:apps/v1:StatefulSet"
DYNAMIC = "pulumi-python:dynamic:Resource"
ROLLOUT_SUFFIX = "-redis-rollout"  # components/kubernetes/platform.py's RedisRollout
PASSWORDS_SUFFIX = "-redis-passwords"  # components/platform.py's RedisPasswords
JOB = "kubernetes:batch/v1:Job"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
SERVICE = "kubernetes:core/v1:Service"
BUDGET = "kubernetes:policy/v1:PodDisruptionBudget"
CHECK_SCRIPT = "check-job.sh"  # the check Job's script in its ConfigMap
DEFAULT_GRACE = 30  # terminationGracePeriodSeconds when a spec has none
IMAGE_VOLUMES_OF_HOLDER = ("/data",)  # the Redis image's VOLUME, covered by a tmpfs in holders and helpers
MIN_GRACE_AFTER_PRESTOP = 2  # the kubelet's minimum for SIGTERM after a preStop hook used the grace period up

# --- what the runner implements ----------------------------------------------------------------------------
# Nested field specs: ANY takes the value as is, a dict is an object's fields, a one-element list a list of them.
ANY = True
_PROBE = {
    "exec": {"command": ANY},
    "httpGet": {"path": ANY, "port": ANY},
    "periodSeconds": ANY,
    "timeoutSeconds": ANY,
    "failureThreshold": ANY,
    "successThreshold": ANY,
    "initialDelaySeconds": ANY,
}
_CONTAINER = {
    "name": ANY,
    "image": ANY,
    "command": ANY,
    "args": ANY,
    "env": [
        {
            "name": ANY,
            "value": ANY,
            "valueFrom": {"fieldRef": {"fieldPath": ANY}, "secretKeyRef": {"name": ANY, "key": ANY}},
        }
    ],
    "ports": [{"name": ANY, "containerPort": ANY, "protocol": ANY}],
    "resources": {"requests": ANY, "limits": {"cpu": ANY, "memory": ANY}},  # requests: scheduling only
    "securityContext": {
        "allowPrivilegeEscalation": ANY,
        "readOnlyRootFilesystem": ANY,
        "runAsNonRoot": ANY,
        "runAsUser": ANY,
        "runAsGroup": ANY,
        "capabilities": {"drop": ANY},
    },
    "volumeMounts": [{"name": ANY, "mountPath": ANY, "readOnly": ANY}],
    "startupProbe": _PROBE,
    "livenessProbe": _PROBE,
    "readinessProbe": _PROBE,
    "lifecycle": {"preStop": {"exec": {"command": ANY}}},
}
_ITEMS = [{"key": ANY, "path": ANY, "mode": ANY}]
_POD_SPEC = {
    "containers": [_CONTAINER],
    "volumes": [
        {
            "name": ANY,
            "configMap": {"name": ANY, "defaultMode": ANY, "items": _ITEMS},
            "secret": {"secretName": ANY, "defaultMode": ANY, "items": _ITEMS},
            "emptyDir": {"medium": ANY, "sizeLimit": ANY},
        }
    ],
    "securityContext": {
        "runAsNonRoot": ANY,
        "runAsUser": ANY,
        "runAsGroup": ANY,
        "fsGroup": ANY,
        "fsGroupChangePolicy": ANY,
        "seccompProfile": {"type": ANY},
    },
    "terminationGracePeriodSeconds": ANY,
    "automountServiceAccountToken": ANY,
    "enableServiceLinks": ANY,
    "restartPolicy": ANY,
    # Scheduling only: one Docker host has one node and no zone, so spreading has nothing to choose from.
    "affinity": ANY,
    "topologySpreadConstraints": ANY,
}
_TEMPLATE = {"metadata": {"labels": ANY, "annotations": ANY}, "spec": _POD_SPEC}
STATEFULSET_SPEC = {
    "serviceName": ANY,
    "replicas": ANY,
    "podManagementPolicy": ANY,
    "updateStrategy": {"type": ANY},
    "selector": {"matchLabels": ANY},
    "template": _TEMPLATE,
    # Storage class, size and access modes: a local volume has none of them (docs/prod-pods.md).
    "volumeClaimTemplates": [{"metadata": {"name": ANY, "labels": ANY}, "spec": ANY}],
}
JOB_SPEC = {"backoffLimit": ANY, "activeDeadlineSeconds": ANY, "template": _TEMPLATE}
# Values the runner implements only in one form: (path pattern, allowed values).
REQUIRED_VALUES = [
    (r".*\.automountServiceAccountToken", {False}),  # no API server: no token to mount
    (r".*\.enableServiceLinks", {False}),  # no Service environment variables are injected
    (r".*\.seccompProfile\.type", {"RuntimeDefault"}),  # Docker's default profile
    (r".*\.emptyDir\.medium", {"Memory"}),
    (r".*\.updateStrategy\.type", {"OnDelete"}),  # pods are replaced by the RedisRollout the program declares
    (r".*\.podManagementPolicy", {"Parallel"}),
    (r".*\.ports\[\d+\]\.protocol", {"TCP"}),
    (r".*\.fsGroupChangePolicy", {"Always", "OnRootMismatch"}),
]


class UnimplementedField(Exception):
    """A pod spec uses something this runner does not run: the message names the field path."""


class NotOurs(Exception):
    """A Docker object this runner did not create: never touched."""


def check_fields(value: Any, spec: Any, path: str) -> None:
    """Raise UnimplementedField for the first field of `value` that `spec` does not list (or a value it does not
    implement)."""
    for pattern, allowed in REQUIRED_VALUES:
        if re.fullmatch(pattern, path) and value not in allowed:
            raise UnimplementedField(f"{path} = {value!r}: only {sorted(allowed, key=str)} is implemented")
    if spec is ANY:
        return
    if isinstance(spec, list):
        if not isinstance(value, list):
            raise UnimplementedField(f"{path}: expected a list")
        for i, item in enumerate(value):
            check_fields(item, spec[0], f"{path}[{i}]")
        return
    if not isinstance(value, dict):
        raise UnimplementedField(f"{path}: expected an object")
    for key, item in value.items():
        if key not in spec:
            raise UnimplementedField(f"{path}.{key}: field not implemented by harness/pod_runner.py")
        check_fields(item, spec[key], f"{path}.{key}")


_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: a defined variable is replaced, an undefined reference stays as written,
    `$$` is a literal `$` (so `$$(VAR)` gives `$(VAR)`)."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _REFERENCE.sub(replace, text)


def quantity_bytes(text: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", str(text))
    if not match or (match.group(2) and match.group(2) not in units):
        raise UnimplementedField(f"quantity {text!r} not implemented")
    return int(match.group(1)) * units.get(match.group(2), 1)


def cpu_nanos(text: str) -> int:
    text = str(text)
    return int(text[:-1]) * 10**6 if text.endswith("m") else int(float(text) * 10**9)
