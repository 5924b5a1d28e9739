"""The pod runner refuses what it does not run, naming the field; and expands env as Kubernetes does.
No engine needed: this is the runner's own contract, checked on the declared objects."""

from __future__ import annotations

import copy

import pytest

from harness.pod_runner import JOB_SPEC, STATEFULSET_SPEC, Declared, UnimplementedField, check_fields, expand
from harness.program import run_program

pytestmark = pytest.mark.pods


@pytest.fixture(scope="module")
def declared():
    return Declared.of(run_program("prod", {"namespace": "frtfields"}))


def test_every_declared_pod_spec_is_implemented(declared):
    names = [w.name for w in declared.statefulsets] + [declared.job.name]
    assert names[:3] == ["redis-master", "redis-replica", "redis-sentinel"]
    assert names[3].startswith("redis-check-")
    containers = {(w.name, c["name"]) for w in declared.statefulsets for c in w.template["spec"]["containers"]}
    assert containers == {(w, c) for w in names[:2] for c in ("redis", "exporter")} | {
        ("redis-sentinel", "sentinel"),
        ("redis-sentinel", "exporter"),
    }


@pytest.mark.parametrize(
    ("where", "key", "value", "named"),
    [
        ("container", "workingDir", "/data", "redis-master.template.spec.containers[0].workingDir"),
        ("container", "envFrom", [], "redis-master.template.spec.containers[0].envFrom"),
        ("pod", "hostNetwork", True, "redis-master.template.spec.hostNetwork"),
        ("pod", "initContainers", [], "redis-master.template.spec.initContainers"),
        ("pod", "automountServiceAccountToken", True, "redis-master.template.spec.automountServiceAccountToken"),
        ("security", "sysctls", [], "redis-master.template.spec.securityContext.sysctls"),
    ],
)
def test_a_field_the_runner_does_not_implement_fails_with_its_path(declared, where, key, value, named):
    spec = copy.deepcopy(declared.statefulset("redis-master").spec)
    check_fields(spec, STATEFULSET_SPEC, "redis-master")  # as declared: fine
    target = {
        "container": spec["template"]["spec"]["containers"][0],
        "pod": spec["template"]["spec"],
        "security": spec["template"]["spec"]["securityContext"],
    }[where]
    target[key] = value
    with pytest.raises(UnimplementedField, match=named.replace("[", r"\[").replace("]", r"\]")):
        check_fields(spec, STATEFULSET_SPEC, "redis-master")


def test_the_job_has_its_own_field_list(declared):
    spec = copy.deepcopy(declared.job.spec)
    check_fields(spec, JOB_SPEC, "job")
    spec["parallelism"] = 2
    with pytest.raises(UnimplementedField, match=r"job\.parallelism"):
        check_fields(spec, JOB_SPEC, "job")


def test_env_expansion_follows_kubernetes():
    env = {"POD_NAME": "redis-replica-1"}
    assert expand("$(POD_NAME).redis-replica-headless", env) == "redis-replica-1.redis-replica-headless"
    assert expand("$(UNDEFINED)-x", env) == "$(UNDEFINED)-x"  # an undefined reference stays as written
    assert expand("$$(POD_NAME) $$HOME", env) == "$(POD_NAME) $HOME"  # $$ escapes
