"""What the prod stack declares so that an operator's change cannot lose data or land on the wrong cluster:
protection, orphaning StatefulSet replacements, the storage guard, the cluster context, rollout timeouts, pod
security details and the alerts that make silent failures visible."""

import pytest

from components import users
from components.checks.invariants import SETTLE_SECONDS
from components.kubernetes import manifests
from components.kubernetes.storage_guard import StorageGuardProvider
from components.settings import Settings
from harness.program import run_program

PROTECTED = {
    "festival-kubernetes-namespace",
    "festival-kubernetes-secret",
    "festival-kubernetes-users-secret",
    "festival-redis-master-statefulset",
    "festival-redis-replicas-statefulset",
    "festival-sentinels-statefulset",
    *(f"festival-{user.key}" for user in users.USERS),  # every user's password
    "festival-debug-ui-password",
}


@pytest.fixture(scope="module")
def prod():
    return run_program("prod")


def test_what_holds_data_or_identity_is_protected_in_prod(prod):
    protected = {name for name, opts in prod.options.items() if opts.protect}
    assert protected == PROTECTED


def test_protection_can_be_lifted_for_a_real_teardown_and_never_applies_to_dev():
    assert not any(opts.protect for opts in run_program("prod", {"protectData": False}).options.values())
    assert not any(opts.protect for opts in run_program("dev").options.values())


def test_a_statefulset_replacement_orphans_its_pods_instead_of_deleting_them(prod):
    for sts in prod.of_type("kubernetes:apps/v1:StatefulSet"):
        assert sts.inputs["metadata"]["annotations"]["pulumi.com/deletionPropagationPolicy"] == "orphan"
    # Lifted for a teardown: destroy deletes the pods with their StatefulSet (tests/program/test_day2.py).
    for sts in run_program("prod", {"protectData": False}).of_type("kubernetes:apps/v1:StatefulSet"):
        assert "pulumi.com/deletionPropagationPolicy" not in sts.inputs["metadata"]["annotations"]


def test_the_provider_targets_the_named_kubeconfig_context(prod):
    [provider] = prod.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "festival-prod"


def test_the_provider_patches_secrets_in_place_so_protection_never_blocks_a_data_change(prod):
    # pulumi-kubernetes replaces a Secret whose data changes unless this is set (tests/program/test_day2.py).
    [provider] = prod.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["enableSecretMutable"] == "true"


def test_while_a_password_is_rotated_only_the_generation_in_use_is_protected():
    program = run_program("prod", {"passwordGenerations": "redis-password=1+2"})
    protected = {name for name, opts in program.options.items() if opts.protect}
    assert "festival-redis-password-gen2" in protected
    assert "festival-redis-password" not in protected  # retired by the next step, which deletes it


def test_rollout_timeouts_grow_with_maxmemory_and_pods(prod):
    for name in ("festival-redis-master-statefulset", "festival-redis-replicas-statefulset"):
        timeouts = prod.options[name].custom_timeouts
        assert timeouts.create == timeouts.update and timeouts.update.endswith("m")
    small = manifests.rollout_timeout_minutes(Settings(maxmemory="512mb"), 2)
    assert 10 < small < manifests.rollout_timeout_minutes(Settings(maxmemory="16gb"), 2)
    assert small < manifests.rollout_timeout_minutes(Settings(maxmemory="512mb"), 5)


def test_storage_changes_on_a_deployed_stack_are_refused_with_the_procedure():
    provider = StorageGuardProvider()
    deployed = {"storageClass": "fast-ssd", "storageSize": "10Gi"}
    assert provider.check({}, deployed).failures == []  # first deploy
    assert provider.check(deployed, dict(deployed)).failures == []
    [failure] = provider.check(deployed, {**deployed, "storageSize": "20Gi"}).failures
    assert failure.property == "storageSize"
    assert "festival-redis:storageSize = '20Gi'" in failure.reason and "'10Gi'" in failure.reason
    assert "Change the storage of a running prod stack" in failure.reason
    [failure] = provider.check(deployed, {**deployed, "storageClass": "standard"}).failures
    assert failure.property == "storageClass"


def test_the_storage_guard_is_declared_with_the_stack_values(prod):
    [guard] = [r for r in prod.resources if r.name == "festival-kubernetes-storage-guard"]
    assert (guard.inputs["storageClass"], guard.inputs["storageSize"]) == ("fast-ssd", "10Gi")


def test_volumes_keep_their_ownership_and_the_exporter_does_not_gate_readiness(prod):
    for sts in prod.of_type("kubernetes:apps/v1:StatefulSet"):
        spec = sts.plain["spec"]["template"]["spec"]
        assert spec["securityContext"]["fsGroupChangePolicy"] == "OnRootMismatch"
        exporter = next(c for c in spec["containers"] if c["name"] == "exporter")
        assert "readinessProbe" not in exporter and "livenessProbe" in exporter


def test_the_check_job_can_finish_its_retry_within_its_deadline(prod):
    [job] = prod.of_type("kubernetes:batch/v1:Job")
    spec = job.plain["spec"]
    assert spec["activeDeadlineSeconds"] >= (spec["backoffLimit"] + 1) * (SETTLE_SECONDS + 30)


def test_monitoring_objects_carry_the_labels_the_clusters_prometheus_selects():
    program = run_program("prod", {"prometheusOperator": True, "prometheusLabels": "release=kube-prometheus-stack"})
    for kind in ("ServiceMonitor", "PrometheusRule"):
        [resource] = program.of_type(f"kubernetes:monitoring.coreos.com/v1:{kind}")
        assert resource.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_alerts_for_unscraped_nodes_missing_sentinels_failed_persistence_and_oom_kills():
    program = run_program("prod", {"prometheusOperator": True})
    [rule] = program.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    rules = {r["alert"]: r["expr"] for r in rule.inputs["spec"]["groups"][0]["rules"]}
    assert rules["RedisNotScraped"].endswith("< 6") and "up{" in rules["RedisNotScraped"]
    assert rules["RedisSentinelMissing"].endswith("< 3")
    assert {"redis_rdb_last_bgsave_status", "redis_aof_last_write_status"} <= set(
        word.split("{")[0] for word in rules["RedisPersistenceFailing"].split()
    )
    assert 'reason="OOMKilled"' in rules["RedisOOMKilled"]
