"""The preview stand-in's rules (harness/preview.py), each on the smallest state that shows it: which step the Pulumi
engine and each provider choose, and what the engine refuses. The Day-2 operations of both stacks are planned with
it in tests/program/test_day2.py."""

from __future__ import annotations

import base64
import datetime

import dill
import pytest

from components import tls
from components.kubernetes.rollout import RedisRolloutProvider
from components.kubernetes.storage_guard import StorageGuardProvider
from components.passwords_resource import RedisPasswordsProvider
from harness import certs
from harness.preview import Resource, StandInError, child_urn, plan

NOW = datetime.datetime.now(datetime.UTC)
PROVIDER = child_urn("", "pulumi:providers:kubernetes", "k8s", "prod", "p")
SECRET = "kubernetes:core/v1:Secret"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"
CONTAINER = "docker:index/container:Container"


def res(type_: str, name: str, inputs: dict, parent: str = "", **options) -> Resource:
    custom = not type_.startswith("festival:")
    kubernetes = type_.startswith("kubernetes:")
    urn = child_urn(parent, type_, name, "prod", "p")
    outputs = options.pop("outputs", inputs)
    return Resource(urn, type_, name, custom, inputs, outputs, PROVIDER if kubernetes else "", parent, **options)


def provider(**settings) -> Resource:
    return Resource(PROVIDER, "pulumi:providers:kubernetes", "k8s", True, {"context": "c", **settings})


def state(*resources: Resource) -> dict[str, Resource]:
    return {r.urn: r for r in resources}


def kinds(deployed: list[Resource], changed: list[Resource] | None, **kw) -> dict[str, str]:
    result = plan(state(*deployed), None if changed is None else state(*changed), **kw)
    return {s.name: s.kind for s in result.steps}


def secret(data: dict, **options) -> Resource:
    meta = {"name": "redis-users", "namespace": "festival"}
    return res(SECRET, "users", {"metadata": meta, "type": "Opaque", "stringData": data}, **options)


def test_a_secret_whose_data_changes_is_replaced_delete_first_unless_the_provider_makes_secrets_mutable():
    old, new = secret({"a": "1"}), secret({"a": "2"})
    assert kinds([provider(), old], [provider(), new])["users"] == "replace (delete first)"
    mutable = provider(enableSecretMutable="true")
    assert kinds([mutable, old], [mutable, new])["users"] == "update"
    # The provider gains the setting in the same `up`: it is updated in place and configured first.
    assert kinds([provider(), old], [mutable, new]) == {"k8s": "update", "users": "update"}
    immutable = {**new.inputs, "immutable": True}
    assert kinds([mutable, old], [mutable, res(SECRET, "users", immutable)])["users"] == "replace (delete first)"


def test_replacing_a_protected_resource_fails_unless_the_same_run_lifts_the_protection():
    old, new = secret({"a": "1"}, protect=True), secret({"a": "2"}, protect=True)
    result = plan(state(provider(), old), state(provider(), new))
    [failed] = result.errors
    assert failed.name == "users" and "as it is currently marked for protection" in failed.error
    assert not plan(state(provider(), old), state(provider(), secret({"a": "2"}))).errors


def test_deleting_a_protected_resource_fails_and_a_retained_one_is_only_forgotten():
    kept = res("random:index/randomPassword:RandomPassword", "pw", {"length": 32}, protect=True, outputs={"r": "x"})
    volume = res("docker:index/volume:Volume", "data", {"name": "data"}, retain_on_delete=True)
    result = plan(state(kept, volume), state())
    assert {s.name: s.kind for s in result.steps} == {"pw": "delete", "data": "delete (retained)"}
    [failed] = result.errors
    assert failed.name == "pw" and "cannot be deleted\nbecause it is protected" in failed.error
    unprotected = res("random:index/randomPassword:RandomPassword", "pw", {"length": 32}, outputs={"r": "x"})
    assert kinds([kept], [unprotected]) == {"pw": "same"}  # only the flag changed: recorded by a same step


def test_a_kubernetes_object_is_deleted_with_its_dependents_unless_its_annotation_says_orphan():
    """pulumi-kubernetes metadata/overrides.go DeletionPropagation, from the recorded inputs: Foreground by default."""
    meta = {"name": "redis", "namespace": "festival"}

    def sts(name: str, policy: str | None) -> Resource:
        annotations = {"pulumi.com/deletionPropagationPolicy": policy} if policy else {}
        return res(STATEFULSET, name, {"metadata": {**meta, "name": name, "annotations": annotations}, "spec": {}})

    volume = res("docker:index/volume:Volume", "data", {"name": "data"})
    result = plan(state(sts("plain", None), sts("kept", "orphan"), sts("bg", "Background"), volume), None)
    assert {s.name: s.propagation for s in result.steps} == {
        "plain": "Foreground",
        "kept": "Orphan",
        "bg": "Background",
        "data": "",
    }
    assert "orphan propagation" in result.text()


def test_statefulset_identity_fields_replace_and_everything_else_is_patched():
    spec = {
        "serviceName": "h",
        "podManagementPolicy": "Parallel",
        "replicas": 3,
        "selector": {"matchLabels": {"a": "b"}},
    }
    spec |= {"template": {"metadata": {"annotations": {"checksum/config": "1"}}}, "volumeClaimTemplates": [{"s": "1"}]}
    meta = {"name": "redis", "namespace": "festival"}
    old = res(STATEFULSET, "sts", {"metadata": meta, "spec": spec})
    for change, kind in [
        ({"replicas": 2}, "update"),
        ({"template": {"metadata": {"annotations": {"checksum/config": "2"}}}}, "update"),
        ({"volumeClaimTemplates": [{"s": "2"}]}, "replace (delete first)"),
        ({"selector": {"matchLabels": {"a": "c"}}}, "replace (delete first)"),
        ({"serviceName": "other"}, "replace (delete first)"),
        ({"podManagementPolicy": "OrderedReady"}, "replace (delete first)"),
    ]:
        new = res(STATEFULSET, "sts", {"metadata": meta, "spec": {**spec, **change}})
        assert kinds([provider(), old], [provider(), new])["sts"] == kind, change
    moved = res(STATEFULSET, "sts", {"metadata": {**meta, "namespace": "other"}, "spec": spec})
    assert kinds([provider(), old], [provider(), moved])["sts"] == "replace (create first)"  # another name: both


def test_a_service_cluster_ip_and_a_config_maps_data_replace_a_renamed_config_map_is_created_first():
    service = "kubernetes:core/v1:Service"
    old = res(service, "svc", {"metadata": {"name": "s"}, "spec": {"clusterIP": "None", "ports": [{"port": 1}]}})
    ports = res(service, "svc", {"metadata": {"name": "s"}, "spec": {"clusterIP": "None", "ports": [{"port": 2}]}})
    ip = res(service, "svc", {"metadata": {"name": "s"}, "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 1}]}})
    assert kinds([provider(), old], [provider(), ports])["svc"] == "update"
    assert kinds([provider(), old], [provider(), ip])["svc"] == "replace (delete first)"
    config_map = "kubernetes:core/v1:ConfigMap"
    old = res(config_map, "cm", {"metadata": {"name": "c-1"}, "data": {"f": "1"}, "immutable": True})
    renamed = res(config_map, "cm", {"metadata": {"name": "c-2"}, "data": {"f": "2"}, "immutable": True})
    assert kinds([provider(), old], [provider(), renamed])["cm"] == "replace (create first)"


def test_the_delete_before_replace_option_overrides_the_provider_and_replace_on_changes_forces_a_replacement():
    old = secret({"a": "1"})
    assert kinds([provider(), old], [provider(), secret({"a": "2"}, delete_before_replace=False)])["users"] == (
        "replace (create first)"
    )
    mutable = provider(enableSecretMutable="true")
    forced = secret({"a": "2"}, replace_on_changes=("stringData",))
    # The provider answers delete-first only for a replacement of its own (provider.go Diff: `len(replaces) > 0`):
    # one forced by replaceOnChanges creates first, and a named object then collides with itself at `up`.
    assert kinds([mutable, old], [mutable, forced])["users"] == "replace (create first)"
    assert kinds([mutable, old], [mutable, secret({"a": "2"}, replace_on_changes=("*",))])["users"].startswith("rep")
    assert kinds([mutable, old], [mutable, secret({"a": "2"}, replace_on_changes=("metadata",))])["users"] == "update"


def test_a_new_context_replaces_the_provider_and_with_it_everything_it_manages():
    old = secret({"a": "1"})
    result = kinds(
        [provider(), old], [Resource(PROVIDER, "pulumi:providers:kubernetes", "k8s", True, {"context": "x"}), old]
    )
    assert result == {"k8s": "replace (create first)", "users": "replace (create first)"}


def test_an_alias_carries_a_renamed_resource_and_its_children_over():
    component = "festival:redis:RedisMaster"
    old_parent = res(component, "old", {})
    old_child = res(CONTAINER, "old-node", {"name": "n"}, parent=old_parent.urn)
    new_parent = res(component, "new", {}, aliases=(old_parent.urn,))
    new_child = res(CONTAINER, "new-node", {"name": "n"}, parent=new_parent.urn)
    assert kinds([old_parent, old_child], [new_parent, new_child]) == {"new": "same", "new-node": "same"}
    unaliased = res(component, "new", {})
    assert kinds([old_parent], [unaliased]) == {"new": "create", "old": "delete"}


def test_docker_replaces_a_container_delete_first_on_a_force_new_input_and_updates_the_others():
    old = res(CONTAINER, "c", {"name": "n", "uploads": [{"file": "a", "content": "1"}], "memory": 64})
    upload = res(CONTAINER, "c", {"name": "n", "uploads": [{"file": "a", "content": "2"}], "memory": 64})
    memory = res(CONTAINER, "c", {"name": "n", "uploads": [{"file": "a", "content": "1"}], "memory": 128})
    assert kinds([old], [upload]) == {"c": "replace (delete first)"}
    assert kinds([old], [memory]) == {"c": "update"}
    image = "docker:index/remoteImage:RemoteImage"
    assert kinds([res(image, "i", {"name": "redis:7"})], [res(image, "i", {"name": "redis:8"})]) == {
        "i": "replace (create first)"
    }
    volume = "docker:index/volume:Volume"
    assert kinds([res(volume, "v", {"name": "a"})], [res(volume, "v", {"name": "b"})]) == {
        "v": "replace (delete first)"
    }


def test_a_certificate_is_replaced_once_its_early_renewal_window_opens_and_other_inputs_are_updated():
    lsc = "tls:index/locallySignedCert:LocallySignedCert"
    pem = certs.self_signed_cert(certs.private_key(), "node", tls.CERT_VALIDITY_HOURS, tls.NODE_USES, is_ca=False)
    inputs = {"certRequestPem": "r", "validityPeriodHours": tls.CERT_VALIDITY_HOURS, "earlyRenewalHours": 720}
    made = {"certPem": pem, "validityEndTime": certs.validity_end_time(pem)}  # what pulumi-tls records
    cert = res(lsc, "cert", inputs, outputs={**inputs, **made})
    window = NOW + datetime.timedelta(hours=tls.CERT_VALIDITY_HOURS - 720)
    assert kinds([cert], [cert], now=window - datetime.timedelta(hours=1)) == {"cert": "same"}
    assert kinds([cert], [cert], now=window + datetime.timedelta(hours=1)) == {"cert": "replace (create first)"}
    later = res(lsc, "cert", {**inputs, "earlyRenewalHours": 24}, outputs={**inputs, **made})
    assert kinds([cert], [later], now=window + datetime.timedelta(hours=1)) == {"cert": "update"}
    password = "random:index/randomPassword:RandomPassword"
    assert kinds([res(password, "p", {"length": 32})], [res(password, "p", {"length": 40})]) == {
        "p": "replace (create first)"
    }


def dynamic(name: str, provider_object, inputs: dict) -> Resource:
    encoded = base64.b64encode(dill.dumps(provider_object)).decode()
    return res("pulumi-python:dynamic:Resource", name, {"__provider": encoded, **inputs})


def test_dynamic_resources_are_diffed_and_checked_by_their_own_provider():
    old = dynamic("pw", RedisPasswordsProvider(), {"fingerprint": "a", "nodes": ["n1"]})
    assert kinds([old], [dynamic("pw", RedisPasswordsProvider(), {"fingerprint": "b", "nodes": ["n1"]})]) == {
        "pw": "update"
    }
    assert kinds([old], [dynamic("pw", RedisPasswordsProvider(), {"fingerprint": "a", "nodes": ["n2"]})]) == {
        "pw": "same"
    }
    rollout = dynamic("rollout", RedisRolloutProvider(), {"revision": "a"})
    assert kinds([rollout], [rollout]) == {"rollout": "update"}  # its diff answers "changes" whatever the inputs
    guard = dynamic("guard", StorageGuardProvider(), {"storageClass": "fast", "storageSize": "10Gi"})
    grown = dynamic("guard", StorageGuardProvider(), {"storageClass": "fast", "storageSize": "20Gi"})
    [failed] = plan(state(guard), state(grown)).errors
    assert "storageSize" in failed.error and "cannot change on a deployed stack" in failed.error


def test_what_the_stand_in_cannot_decide_is_refused():
    with pytest.raises(StandInError, match="no rule"):
        kinds([res("aws:s3/bucket:Bucket", "b", {"a": 1})], [res("aws:s3/bucket:Bucket", "b", {"a": 2})])
    key = "tls:index/privateKey:PrivateKey"
    old = res(key, "k", {"algorithm": "RSA"}, outputs={"algorithm": "RSA", "privateKeyPem": "one"})
    with pytest.raises(StandInError, match="computed other outputs"):
        kinds([old], [res(key, "k", {"algorithm": "RSA"}, outputs={"algorithm": "RSA", "privateKeyPem": "two"})])
