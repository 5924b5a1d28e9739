"""The prod stack under Pulumi mocks: __main__.py with the real Pulumi.prod.yaml, every Kubernetes object
validated strictly against the official schemas, and the cross-references a real cluster would only
reject (or silently get wrong) at run time."""

from __future__ import annotations

import copy
import re

import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from kubernetes_validate.utils import all_versions

from components import render, tls, users
from components.checks.invariants import SETTLE_SECONDS
from components.kubernetes import manifests, names
from components.kubernetes import topology as kubernetes_topology
from harness import netpol
from harness.program import (
    MOCK_PASSWORD_PREFIX,
    ROOT,
    KubernetesObjects,
    Secret,
    renewed,
    reveal,
    run_program,
    settings_of,
)

PROVIDER = "pulumi:providers:kubernetes"
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule", "Probe"}
NAMESPACED = {"Secret", "ConfigMap", "Service", "StatefulSet", "PodDisruptionBudget", "NetworkPolicy", "Job"}
OLDEST_SCHEMA = all_versions()[0]  # clusters from 1.21 are supported; the installed schemas start at 1.25
NEWEST_SCHEMA = all_versions()[-1]
REDIS_PASSWORD = f"{MOCK_PASSWORD_PREFIX}festival-redis-password"
SENTINEL_PASSWORD = f"{MOCK_PASSWORD_PREFIX}festival-sentinel-password"
# Fields the 1.25+ schemas accept that a 1.21 API server does not know (or has only as alpha).
NEWER_THAN_1_21 = {
    "minDomains", "nodeAffinityPolicy", "nodeTaintsPolicy", "matchLabelKeys", "persistentVolumeClaimRetentionPolicy",
    "podFailurePolicy", "unhealthyPodEvictionPolicy", "minReadySeconds", "ordinals", "hostUsers", "os",
    "podReplacementPolicy", "backoffLimitPerIndex", "maxFailedIndexes", "successPolicy", "managedBy",
    "resizePolicy", "restartPolicyRules", "schedulingGates", "resourceClaims", "trafficDistribution",
}  # fmt: skip
API_VERSIONS_IN_1_21 = {"v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1"}


@pytest.fixture(scope="module")
def prod() -> KubernetesObjects:
    return KubernetesObjects()


def matches(selector: dict, labels: dict) -> bool:
    """A label selector (Service-style map, or matchLabels / matchExpressions) against a pod's labels."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    return netpol.selects(selector, labels)


def containers(template: dict) -> list[dict]:
    return template["spec"].get("initContainers", []) + template["spec"]["containers"]


def walk(value, path=()):
    """Every (path, leaf) in a nested structure."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))
    else:
        yield path, value


# --- schemas -----------------------------------------------------------------------------------------
def test_every_object_is_valid_for_the_configured_and_the_oldest_available_kubernetes(prod):
    """`kubernetesVersion` is the cluster's: the objects of each are valid for it."""
    oldest = KubernetesObjects({"kubernetesVersion": OLDEST_SCHEMA.rsplit(".", 1)[0]})
    validated = 0
    for cluster in (prod, oldest):
        for obj in cluster.objects:
            if obj["kind"] in CUSTOM_KINDS:
                continue
            kubernetes_validate.validate(obj, cluster.settings.kubernetes_version, strict=True)
            validated += 1
    kinds = {o["kind"] for o in prod.objects}
    assert kinds >= {"Namespace", *NAMESPACED, *CUSTOM_KINDS}
    assert validated == 2 * (len(prod.objects) - len(CUSTOM_KINDS))


def test_strict_validation_rejects_an_unknown_field(prod):
    sts = copy.deepcopy(prod.named("StatefulSet", "redis-master"))
    kubernetes_validate.validate(sts, NEWEST_SCHEMA, strict=True)
    sts["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFilesystem"] = True  # belongs in securityContext
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, NEWEST_SCHEMA, strict=True)


def test_nothing_a_1_21_cluster_would_not_know():
    old = KubernetesObjects({"kubernetesVersion": "1.21"})
    for obj in old.objects:
        if obj["kind"] not in CUSTOM_KINDS:
            assert obj["apiVersion"] in API_VERSIONS_IN_1_21, obj["kind"]
        keys = {key for path, _ in walk(obj) for key in path if isinstance(key, str)}
        assert not keys & NEWER_THAN_1_21, (obj["kind"], keys & NEWER_THAN_1_21)


def test_prometheus_operator_objects_have_the_crd_structure(prod):
    monitor = prod.named("ServiceMonitor", "redis")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    spec = monitor["spec"]
    assert set(spec) == {"selector", "namespaceSelector", "endpoints", "podTargetLabels"}
    assert spec["namespaceSelector"] == {"matchNames": ["festival"]}
    assert spec["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
    scraped = [s for s in prod.of_kind("Service") if matches(spec["selector"], s["metadata"]["labels"])]
    assert sorted(s["metadata"]["name"] for s in scraped) == [
        "redis-master-headless",
        "redis-replica-headless",
        "redis-sentinel-headless",
    ]
    for service in scraped:
        assert {"name": "metrics", "port": 9121, "targetPort": "metrics"} in service["spec"]["ports"]

    rule = prod.named("PrometheusRule", "redis")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    (group,) = rule["spec"]["groups"]
    assert set(group) == {"name", "rules"}
    for alert in group["rules"]:
        assert set(alert) == {"alert", "expr", "for", "labels", "annotations"}
        assert re.fullmatch(r"[A-Z][A-Za-z]+", alert["alert"])
        assert re.fullmatch(r"[0-9]+[smh]", alert["for"])
        assert alert["labels"]["severity"] in ("warning", "critical")
        assert alert["annotations"]["summary"]
        assert alert["expr"].count("(") == alert["expr"].count(")")
        assert alert["expr"].count("{") == alert["expr"].count("}")


def test_a_probe_has_the_blackbox_exporter_read_every_nodes_served_certificate(prod):
    probe = prod.named("Probe", "redis-tls")
    assert probe["apiVersion"] == "monitoring.coreos.com/v1"
    spec = probe["spec"]
    assert (spec["jobName"], spec["module"]) == ("festival-redis-tls", "festival_redis_tls")
    assert spec["prober"] == {"url": "prometheus-blackbox-exporter.monitoring.svc:9115", "path": "/probe"}
    # every node's TLS port, by the name its certificate is checked against: the endpoints clients get
    outputs = prod.program.outputs
    assert sorted(spec["targets"]["staticConfig"]["static"]) == sorted(
        outputs["redisEndpoints"] + outputs["sentinelEndpoints"]
    )
    rules = {r["alert"]: r["expr"] for r in prod.named("PrometheusRule", "redis")["spec"]["groups"][0]["rules"]}
    assert rules["RedisCertificateExpiresSoon"].endswith("/ 86400 < 21")
    assert 'job="festival-redis-tls"' in rules["RedisCertificateExpiresSoon"]
    # without TLS there is no certificate: no Probe, no certificate alert
    plain = KubernetesObjects({"tls": False})
    assert not [o for o in plain.objects if o["kind"] == "Probe"]
    plain_rules = plain.named("PrometheusRule", "redis")["spec"]["groups"][0]["rules"]
    assert not [r for r in plain_rules if "Certificate" in r["alert"]]


# redis_exporter's names (oliver006/redis_exporter exporter.go, sentinels.go); the persistence and
# redis_sentinel_master_sentinels names were read off the Debian exporter's /metrics.
EXPORTER_METRICS = {
    "redis_up", "redis_memory_used_bytes", "redis_memory_max_bytes", "redis_connected_slaves",
    "redis_connected_clients", "redis_rejected_connections_total", "redis_instance_info",
    "redis_sentinel_master_status", "redis_sentinel_master_ok_slaves", "redis_sentinel_master_ckquorum_status",
    "redis_sentinel_master_sentinels", "redis_rdb_last_bgsave_status", "redis_aof_last_bgrewrite_status",
    "redis_aof_last_write_status", "redis_connected_slave_lag_seconds",
}  # fmt: skip


def test_alerts_cover_the_original_alert_table_and_the_sentinel_view(prod):
    rules = {r["alert"]: r["expr"] for r in prod.named("PrometheusRule", "redis")["spec"]["groups"][0]["rules"]}
    exprs = list(rules.values())
    assert any("redis_up" in e and e.endswith("== 0") for e in exprs)
    assert any("redis_memory_used_bytes" in e and "redis_memory_max_bytes" in e and e.endswith("> 0.85") for e in exprs)
    assert any("redis_connected_slaves" in e and "< 1" in e and 'role="master"' in e for e in exprs)
    assert any("redis_connected_clients" in e and e.endswith("> 9000") for e in exprs)
    assert any("redis_rejected_connections_total" in e and e.endswith("> 0") for e in exprs)
    assert "count by (master_address) (redis_sentinel_master_status" in rules["RedisSentinelsDisagree"]
    assert rules["RedisMasterCount"].endswith("!= 1") and "or vector(0)" in rules["RedisMasterCount"]
    assert rules["RedisReplicasMissing"].endswith("< 2")
    used = {name for e in exprs for name in re.findall(r"\b(redis_[a-z_]+)\{", e)}
    assert used <= EXPORTER_METRICS, used - EXPORTER_METRICS
    for expr in exprs:
        assert 'namespace="festival"' in expr  # never another deployment's series


def test_without_the_prometheus_operator_no_custom_resources():
    cluster = KubernetesObjects({"prometheusOperator": False})
    assert not [o for o in cluster.objects if o["kind"] in CUSTOM_KINDS]
    assert cluster.of_kind("StatefulSet")  # the exporters still run, for any scraper


# --- names, namespace, provider --------------------------------------------------------------------------
def test_objects_are_named_as_the_original_manifests_did(prod):
    assert prod.named("Namespace", "festival")
    secret = prod.named("Secret", "redis-secret")
    assert set(secret["stringData"]) == {"redis-password", "sentinel-password", "tls-ca.crt"}  # tls: on in prod
    assert sorted(s["metadata"]["name"] for s in prod.of_kind("StatefulSet")) == [
        "redis-master",
        "redis-replica",
        "redis-sentinel",
    ]
    assert {
        name: sts["spec"]["replicas"] for name, sts in ((s["metadata"]["name"], s) for s in prod.of_kind("StatefulSet"))
    } == {
        "redis-master": 1,
        "redis-replica": 2,
        "redis-sentinel": 3,
    }
    sentinel = prod.named("Service", "redis-sentinel")
    assert sentinel["spec"]["ports"] == [{"name": "sentinel", "port": 26379, "targetPort": "sentinel"}]
    for pod, template in prod.statefulset_pods():
        assert template["metadata"]["labels"]["app"] == ("redis-sentinel" if "sentinel" in pod else "redis")
        assert template["metadata"]["labels"]["component"] in ("master", "replica", "sentinel")


def test_pods_announce_the_topologys_stable_dns_names(prod):
    topology = kubernetes_topology(prod.settings)
    by_pod = {node.name: node for node in topology.nodes}
    pods = prod.statefulset_pods()
    assert sorted(pod for pod, _ in pods) == sorted(by_pod)
    for pod, template in pods:
        main = template["spec"]["containers"][0]
        env = {e["name"]: e for e in main["env"]}
        assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert env["POD_NAME"] == main["env"][0]  # defined before the variables that expand it
        host = env["FESTIVAL_NODE_HOST"]["value"].replace("$(POD_NAME)", pod)
        assert f"{host}:{env['FESTIVAL_NODE_PORT']['value']}" == str(by_pod[pod].address)


def test_each_statefulset_has_a_headless_service_publishing_not_ready_pods(prod):
    for sts in prod.of_kind("StatefulSet"):
        service = prod.named("Service", sts["spec"]["serviceName"])
        assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
        assert matches(service["spec"]["selector"], sts["spec"]["template"]["metadata"]["labels"])
        assert matches(sts["spec"]["selector"], sts["spec"]["template"]["metadata"]["labels"])
        others = [s for s in prod.of_kind("StatefulSet") if s is not sts]
        assert not any(
            matches(service["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"]) for o in others
        )


def test_every_namespaced_object_names_the_namespace(prod):
    for obj in prod.objects:
        if obj["kind"] in NAMESPACED | CUSTOM_KINDS:
            assert obj["metadata"]["namespace"] == "festival", obj["kind"]


def test_an_existing_namespace_is_adopted_not_created():
    cluster = KubernetesObjects({"createNamespace": False, "namespace": "payments"})
    assert cluster.of_kind("Namespace") == []
    assert {o["metadata"]["namespace"] for o in cluster.objects if o["kind"] in NAMESPACED} == {"payments"}
    assert cluster.program.outputs["sentinelHost"] == "redis-sentinel.payments.svc.cluster.local"
    env = cluster.named("StatefulSet", "redis-sentinel")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {
        "name": "FESTIVAL_NODE_HOST",
        "value": "$(POD_NAME).redis-sentinel-headless.payments.svc.cluster.local",
    } in env


def test_the_cluster_dns_domain_is_a_setting_used_in_every_name_the_nodes_are_reached_by():
    """clusterDomain: a cluster whose kubelets run with another --cluster-domain resolves no *.cluster.local name."""
    cluster = KubernetesObjects({"clusterDomain": "k8s.example.internal"})
    everything = repr(cluster.objects) + repr(cluster.program.outputs)
    assert "cluster.local" not in everything
    assert cluster.program.outputs["sentinelHost"] == "redis-sentinel.festival.svc.k8s.example.internal"
    assert cluster.program.outputs["readHost"] == "redis-replica.festival.svc.k8s.example.internal"
    for template in cluster.workloads().values():
        env = {e["name"]: e.get("value") for e in template["spec"]["containers"][0].get("env", [])}
        if "FESTIVAL_NODE_HOST" in env:
            assert env["FESTIVAL_NODE_HOST"].endswith(".festival.svc.k8s.example.internal")
    volumes = cluster.named("StatefulSet", "redis-master")["spec"]["template"]["spec"]["volumes"]
    config_name = next(v["configMap"]["name"] for v in volumes if "configMap" in v)
    prestop = cluster.named("ConfigMap", config_name)["data"]["prestop.sh"]
    assert "redis-sentinel-0.redis-sentinel-headless.festival.svc.k8s.example.internal:26379" in prestop
    nodes_secret = reveal(cluster.program.named("festival-kubernetes-users-secret").inputs["stringData"])
    for node in kubernetes_topology(cluster.settings).nodes:
        cert = x509.load_pem_x509_certificate(nodes_secret[tls.cert_file(node.address.host)].encode())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = sans.get_values_for_type(x509.DNSName)
        assert node.address.host.endswith(".svc.k8s.example.internal") and node.address.host in dns_names
        assert not [name for name in dns_names if name.endswith("cluster.local")]


def test_one_kubernetes_provider_for_every_object(prod):
    (provider,) = prod.program.of_type(PROVIDER)
    for resource in prod.resources:
        assert resource.provider is not None and resource.provider.startswith("urn:"), resource.name
        assert resource.provider.split("::")[-2] == provider.name, resource.name


# --- cross-references ------------------------------------------------------------------------------------
def test_service_pdb_and_network_policy_selectors_select_the_intended_pods(prod):
    pods = prod.statefulset_pods()

    def selected(selector: dict) -> list[str]:
        return sorted(pod for pod, template in pods if matches(selector, template["metadata"]["labels"]))

    redis = ["redis-master-0", "redis-replica-0", "redis-replica-1"]
    sentinels = ["redis-sentinel-0", "redis-sentinel-1", "redis-sentinel-2"]
    assert selected(prod.named("Service", "redis-sentinel")["spec"]["selector"]) == sentinels
    assert selected(prod.named("Service", "redis-replica")["spec"]["selector"]) == [
        "redis-replica-0",
        "redis-replica-1",
    ]
    budgets = {b["metadata"]["name"]: b["spec"] for b in prod.of_kind("PodDisruptionBudget")}
    assert selected(budgets["redis"]["selector"]) == redis
    assert selected(budgets["redis-sentinel"]["selector"]) == sentinels
    policy = prod.named("NetworkPolicy", "redis")["spec"]
    assert selected(policy["podSelector"]) == sorted(redis + sentinels)
    peers = policy["ingress"][1]["from"][0]["podSelector"]
    assert selected(peers) == sorted(redis + sentinels)


def test_service_target_ports_and_probe_ports_exist_on_the_selected_containers(prod):
    pods = prod.statefulset_pods()
    for service in prod.of_kind("Service"):
        targets = [t for _, t in pods if matches(service["spec"]["selector"], t["metadata"]["labels"])]
        assert targets, service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            for template in targets:
                names = {p["name"] for c in containers(template) for p in c["ports"]}
                assert port["targetPort"] in names, (service["metadata"]["name"], port)
    for name, template in prod.workloads().items():
        for container in containers(template):
            ports = {p["name"] for p in container.get("ports", [])} | {
                p["containerPort"] for p in container.get("ports", [])
            }
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if "httpGet" in container.get(probe, {}):
                    assert container[probe]["httpGet"]["port"] in ports, (name, container["name"], probe)


def test_volume_mounts_config_maps_secrets_and_keys_all_resolve(prod):
    config_maps = {c["metadata"]["name"]: c["data"] for c in prod.of_kind("ConfigMap")}
    secrets = {s["metadata"]["name"]: s["stringData"] for s in prod.of_kind("Secret")}
    for name, template in prod.workloads().items():
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        sts = [s for s in prod.of_kind("StatefulSet") if s["metadata"]["name"] == name]
        claims = {c["metadata"]["name"] for s in sts for c in s["spec"]["volumeClaimTemplates"]}
        for container in containers(template):
            for mount in container["volumeMounts"]:
                assert mount["name"] in volumes or mount["name"] in claims, (name, mount)
        for volume in volumes.values():
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, (name, volume)
            if "secret" in volume:
                keys = secrets[volume["secret"]["secretName"]]
                for item in volume["secret"].get("items", []):
                    assert item["key"] in keys, (name, item)
    for entry in prod.program.outputs["appEnv"]:
        if "valueFrom" in entry:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["key"] in secrets[ref["name"]]


def test_every_script_a_pod_runs_is_in_its_mounted_config_map(prod):
    config_maps = {c["metadata"]["name"]: c["data"] for c in prod.of_kind("ConfigMap")}
    commands_seen = set()
    for name, template in prod.workloads().items():
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        for container in containers(template):
            mounted = {
                m["mountPath"]: config_maps[volumes[m["name"]]["configMap"]["name"]]
                for m in container["volumeMounts"]
                if "configMap" in volumes.get(m["name"], {})
            }
            commands = [container.get("command")]
            commands += [
                container.get(p, {}).get("exec", {}).get("command")
                for p in ("startupProbe", "readinessProbe", "livenessProbe")
            ]
            commands.append(container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command"))
            for command in filter(None, commands):
                assert command[0] == "sh", command
                directory, _, script = command[1].rpartition("/")
                assert script in mounted[directory], (name, command)
                if script == "probe.sh":
                    assert f"\n{command[2]})" in mounted[directory][script]  # a check probe.sh knows
                commands_seen.add(script)
    assert commands_seen == {
        "redis-entrypoint.sh",
        "sentinel-entrypoint.sh",
        "probe.sh",
        "prestop.sh",
        "check-job.sh",
    }


def test_config_maps_hold_the_rendered_files_for_the_kubernetes_topology(prod):
    topology = kubernetes_topology(prod.settings)
    expected = {
        "redis-master": render.redis_files(prod.settings, topology),
        "redis-replica": render.redis_files(prod.settings, topology),
        "redis-sentinel": render.sentinel_files(prod.settings, topology),
        names.CHECK_APP: render.check_files(prod.settings, topology),
    }
    for workload, files in expected.items():
        config_map = prod.named("ConfigMap", f"{workload}-config-{manifests.checksum(files)[:10]}")
        assert config_map["data"] == files and config_map["immutable"] is True
    check = expected[names.CHECK_APP]["check-job.sh"]
    assert "REDIS_NODES='" + " ".join(str(n.address) for n in topology.redis_nodes) + "'" in check
    assert "SENTINELS='" + " ".join(str(n.address) for n in topology.sentinels) + "'" in check


# --- pod hygiene -------------------------------------------------------------------------------------------
def test_pod_security_standard_restricted(prod):
    allowed_volumes = {"configMap", "secret", "emptyDir", "persistentVolumeClaim", "projected", "downwardAPI"}
    for name, template in prod.workloads().items():
        spec = template["spec"]
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host), (name, host)
        pod_context = spec["securityContext"]
        assert pod_context["runAsNonRoot"] is True and pod_context["runAsUser"] == 999, name
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for volume in spec["volumes"]:
            assert set(volume) - {"name"} <= allowed_volumes, (name, volume)
        for container in containers(template):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])
            assert context.get("privileged") is not True and context.get("runAsUser", 999) != 0
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert all("hostPort" not in port for port in container.get("ports", []))
            writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
            assert writable <= {"/data", "/tmp"}, (name, container["name"], writable)
        assert spec["automountServiceAccountToken"] is False and spec["enableServiceLinks"] is False


def test_requests_and_limits_with_fork_headroom_for_redis(prod):
    for name, template in prod.workloads().items():
        for container in containers(template):
            resources = container["resources"]
            assert set(resources) == {"requests", "limits"}, (name, container["name"])
            assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
            # Guaranteed QoS: the last pods a node evicts under memory pressure
            assert resources["requests"] == resources["limits"], (name, container["name"])
    redis = prod.named("StatefulSet", "redis-master")["spec"]["template"]["spec"]["containers"][0]
    limit = prod.settings.redis_memory_limit_bytes
    assert redis["resources"]["limits"]["memory"] == f"{limit // 1024**2}Mi" == "1088Mi"
    assert limit > prod.settings.maxmemory_bytes * 1.4


def test_probes_prestop_and_grace_period(prod):
    for role in ("master", "replica"):
        spec = prod.named("StatefulSet", f"redis-{role}")["spec"]["template"]["spec"]
        redis = spec["containers"][0]
        assert redis["readinessProbe"]["exec"]["command"][1:] == ["/etc/festival/probe.sh", "redis-ready"]
        assert redis["livenessProbe"]["exec"]["command"][2] == "redis-alive"
        assert redis["startupProbe"]["exec"]["command"][2] == "redis-alive"
        # the startup probe outlasts the entrypoint's wait for the Sentinels
        startup = redis["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] > prod.settings.role_wait_seconds + 60
        assert redis["lifecycle"]["preStop"]["exec"]["command"] == ["sh", "/etc/festival/prestop.sh"]
        assert spec["terminationGracePeriodSeconds"] >= render.PRESTOP_MAX_SECONDS + 30
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert redis[probe]["timeoutSeconds"] > 2 * render.CLI_TIMEOUT_SECONDS  # probe.sh's bounded calls
    sentinel = prod.named("StatefulSet", "redis-sentinel")["spec"]["template"]["spec"]["containers"][0]
    assert sentinel["readinessProbe"]["exec"]["command"][2] == "sentinel-ready"
    assert sentinel["livenessProbe"]["exec"]["command"][2] == "sentinel-alive"
    assert "lifecycle" not in sentinel


def test_sentinels_start_in_parallel_and_every_node_keeps_a_volume(prod):
    for sts in prod.of_kind("StatefulSet"):
        spec = sts["spec"]
        assert spec["podManagementPolicy"] == "Parallel"  # a Sentinel is ready only once a quorum runs
        (claim,) = spec["volumeClaimTemplates"]
        assert claim["spec"]["storageClassName"] == "fast-ssd"
        size = "1Gi" if sts["metadata"]["name"] == "redis-sentinel" else "10Gi"
        assert claim["spec"]["resources"]["requests"]["storage"] == size
        mounts = {m["mountPath"]: m["name"] for m in spec["template"]["spec"]["containers"][0]["volumeMounts"]}
        assert mounts["/data"] == claim["metadata"]["name"]


def test_disruption_budgets_let_an_unready_pod_be_evicted_where_the_cluster_knows_the_policy(prod):
    """So RedisRollout can evict a crash-looping pod also while another is down (kubernetesVersion 1.27 or newer)."""
    assert {b["spec"].get("unhealthyPodEvictionPolicy") for b in prod.of_kind("PodDisruptionBudget")} == {"AlwaysAllow"}
    older = KubernetesObjects({"kubernetesVersion": "1.26"})
    assert all("unhealthyPodEvictionPolicy" not in b["spec"] for b in older.of_kind("PodDisruptionBudget"))


def test_the_statefulset_await_waits_for_every_pod_only_while_the_template_is_the_first(prod):
    """The await (pulumi.com/waitFor, manifests.statefulset_await) does not block the update that repairs a
    crash-looping pod: RedisRollout, which depends on the StatefulSets, must run."""
    for sts in prod.of_kind("StatefulSet"):
        replicas = sts["spec"]["replicas"]
        assert sts["metadata"]["annotations"]["pulumi.com/waitFor"] == (
            "jsonpath={[?@.observedGeneration && "
            f"(@.readyReplicas == {replicas} || !(@.currentRevision == @.updateRevision))]}}"
        )
        assert "pulumi.com/skipAwait" not in sts["metadata"]["annotations"]


def test_disruption_budgets_keep_quorum_and_one_redis_node_down_at_most(prod):
    budgets = {b["metadata"]["name"]: b["spec"]["maxUnavailable"] for b in prod.of_kind("PodDisruptionBudget")}
    assert budgets == {"redis": 1, "redis-sentinel": 1}
    five = KubernetesObjects({"sentinelCount": 5, "quorum": 3})
    assert {b["metadata"]["name"]: b["spec"]["maxUnavailable"] for b in five.of_kind("PodDisruptionBudget")} == {
        "redis": 1,
        "redis-sentinel": 2,
    }


@pytest.mark.parametrize("sentinels, quorum", [(1, 1), (3, 3)])
def test_a_quorum_of_every_sentinel_still_lets_one_sentinel_be_evicted_at_a_time(sentinels, quorum):
    """maxUnavailable 0 refuses every eviction: `kubectl drain` of a node with a Sentinel (every node, with required
    anti-affinity and three nodes) would wait for ever, and node upgrades stall."""
    cluster = KubernetesObjects({"sentinelCount": sentinels, "quorum": quorum})
    budgets = {b["metadata"]["name"]: b["spec"]["maxUnavailable"] for b in cluster.of_kind("PodDisruptionBudget")}
    assert budgets == {"redis": 1, "redis-sentinel": 1}


def test_the_redis_and_sentinel_pods_get_the_priority_class_named_and_none_by_default(prod):
    assert all("priorityClassName" not in t["spec"] for t in prod.workloads().values())
    cluster = KubernetesObjects({"priorityClassName": "festival-redis"})
    classes = {name: t["spec"].get("priorityClassName") for name, t in cluster.workloads().items()}
    check_job = [name for name in classes if name.startswith(names.CHECK_APP)]
    assert classes == {
        "redis-master": "festival-redis",
        "redis-replica": "festival-redis",
        "redis-sentinel": "festival-redis",
        **dict.fromkeys(check_job, None),  # a one-off check: no need to preempt anything
    }


def test_one_redis_pod_and_one_sentinel_per_node_required_zones_preferred(prod):
    for _pod, template in prod.statefulset_pods():
        spec = template["spec"]
        app = {"matchLabels": {"app": template["metadata"]["labels"]["app"]}}
        anti = spec["affinity"]["podAntiAffinity"]
        # master and replicas share app=redis: no two of them on one node, so a node loss costs one Redis pod
        assert anti["requiredDuringSchedulingIgnoredDuringExecution"] == [
            {"labelSelector": app, "topologyKey": "kubernetes.io/hostname"}
        ]
        [zone] = anti["preferredDuringSchedulingIgnoredDuringExecution"]
        assert zone["podAffinityTerm"] == {"labelSelector": app, "topologyKey": "topology.kubernetes.io/zone"}
        keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"] if c["labelSelector"] == app}
        assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_small_clusters_may_prefer_instead_of_require_one_pod_per_node():
    cluster = KubernetesObjects({"antiAffinity": "preferred"})
    for _pod, template in cluster.statefulset_pods():
        anti = template["spec"]["affinity"]["podAntiAffinity"]
        assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
        keys = {t["podAffinityTerm"]["topologyKey"] for t in anti["preferredDuringSchedulingIgnoredDuringExecution"]}
        assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_network_policy_admits_labelled_clients_peers_and_prometheus_only(prod):
    policy = prod.named("NetworkPolicy", "redis")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    clients, peers, prometheus, blackbox = policy["ingress"]
    server_ports = [{"protocol": "TCP", "port": 6379}, {"protocol": "TCP", "port": 26379}]

    def namespaces(*names):
        return {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(names)}]}

    # only the deployment's own namespace by default, not any namespace
    assert clients == {
        "from": [
            {
                "namespaceSelector": namespaces("festival"),
                "podSelector": {"matchLabels": {"festival-redis-client": "true"}},
            }
        ],
        "ports": server_ports,
    }
    assert peers["ports"] == server_ports and "namespaceSelector" not in peers["from"][0]
    assert prometheus["ports"] == [{"protocol": "TCP", "port": 9121}]
    assert prometheus["from"][0] == {
        "namespaceSelector": namespaces("monitoring"),
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
    }
    # with TLS, the blackbox exporter's handshakes with the TLS ports (certificate expiry)
    assert blackbox == {
        "from": [
            {
                "namespaceSelector": namespaces("monitoring"),
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus-blackbox-exporter"}},
            }
        ],
        "ports": server_ports,
    }
    assert len(KubernetesObjects({"tls": False}).named("NetworkPolicy", "redis")["spec"]["ingress"]) == 3
    # the check Job as a peer, whatever clientNamespaces says (tests/program/test_network_policy.py: every connection)
    job_pod = prod.of_kind("Job")[0]["spec"]["template"]["metadata"]["labels"]
    assert matches(peers["from"][0]["podSelector"], job_pod)
    # egress for namespaces that deny it by default: each other and the cluster DNS, for the nodes and the Job
    assert matches(policy["podSelector"], job_pod)
    to_peers, to_dns = policy["egress"]
    assert to_peers["ports"] == server_ports and not matches(to_peers["to"][0]["podSelector"], job_pod)
    assert to_dns == {"ports": manifests.DNS_PORTS}  # dnsEgress any: to every destination
    assert {(port["port"], port["protocol"]) for port in to_dns["ports"]} == {
        (53, "UDP"), (53, "TCP"), (5353, "UDP"), (5353, "TCP")
    }  # fmt: skip
    other = KubernetesObjects({"clientNamespaces": "apps,web", "monitoringNamespace": "observability"})
    other_policy = other.named("NetworkPolicy", "redis")["spec"]
    assert other_policy["ingress"][0]["from"][0]["namespaceSelector"] == namespaces("apps", "web")
    assert other_policy["ingress"][2]["from"][0]["namespaceSelector"] == namespaces("observability")


def test_exporter_sidecars_read_their_password_from_a_file(prod):
    exporter_auth = prod.named("Secret", names.EXPORTER_SECRET_NAME)["stringData"]
    # the exporter users' passwords, never an application's or an admin's
    redis_exporter, sentinel_exporter = (
        f"{MOCK_PASSWORD_PREFIX}festival-{u.key}" for u in (users.EXPORTER, users.SENTINEL_EXPORTER)
    )
    # over TLS (on in prod): rediss, verifying the server with the deployment's CA, mounted beside the password
    # Keyed as redis_exporter up to 1.62 looks them up, and as later ones do (with the user).
    assert yaml.safe_load(exporter_auth["redis.json"]) == {
        "rediss://localhost:6379": redis_exporter,
        "rediss://exporter@localhost:6379": redis_exporter,
    }
    assert yaml.safe_load(exporter_auth["sentinel.json"]) == {
        "rediss://localhost:26379": sentinel_exporter,
        "rediss://exporter@localhost:26379": sentinel_exporter,
    }
    assert exporter_auth["tls-ca.crt"] == prod.program.outputs["tlsCaCert"]
    for pod, template in prod.statefulset_pods():
        exporter = template["spec"]["containers"][1]
        kind, port = ("sentinel", 26379) if "sentinel" in pod else ("redis", 6379)
        assert exporter["image"] == prod.settings.exporter_image
        assert exporter["args"] == [
            f"--redis.addr=rediss://localhost:{port}",
            "--redis.user=exporter",
            f"--redis.password-file=/etc/festival-exporter/{kind}.json",
            "--tls-ca-cert-file=/etc/festival-exporter/tls-ca.crt",
            "--web.listen-address=:9121",
        ]
        assert "env" not in exporter
        assert exporter["ports"] == [{"name": "metrics", "containerPort": 9121}]


# --- rolling on change, the check Job ---------------------------------------------------------------------
def test_checksum_annotations_are_the_config_maps_digests_and_never_the_passwords(prod):
    config_maps = {c["metadata"]["name"]: c["data"] for c in prod.of_kind("ConfigMap")}
    nodes_secret = prod.named("Secret", names.NODES_SECRET_NAME)["stringData"]
    certificates = manifests.checksum({file: pem for file, pem in nodes_secret.items() if file.endswith(".crt")})
    for sts in prod.of_kind("StatefulSet"):
        template = sts["spec"]["template"]
        config = next(v["configMap"]["name"] for v in template["spec"]["volumes"] if "configMap" in v)
        assert template["metadata"]["annotations"] == {
            "checksum/config": manifests.checksum(config_maps[config]),
            "checksum/tls": certificates,
        }


def test_every_pod_gets_a_certificate_for_every_name_it_is_reached_by_and_a_secret_key(prod):
    declared = prod.program.named("festival-kubernetes-users-secret").inputs["stringData"]
    nodes_secret = reveal(declared)
    for node in kubernetes_topology(prod.settings).nodes:
        host = node.address.host
        cert = x509.load_pem_x509_certificate(nodes_secret[tls.cert_file(host)].encode())
        names = set(
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        )
        service = "redis-sentinel" if node.role == "sentinel" else "redis-replica"
        assert {host, "localhost", f"{service}.festival.svc.cluster.local", f"{service}.festival"} <= names
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(usages) == {x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH}
        ca = x509.load_pem_x509_certificate(prod.program.outputs["tlsCaCert"].encode())
        cert.verify_directly_issued_by(ca)
        # keys are secrets (the whole Secret's data is); certificates are not
        assert isinstance(declared, Secret) or isinstance(declared[tls.key_file(host)], Secret)
    assert "tlsCaCert" not in prod.program.secret_outputs


def test_every_certificates_expiry_is_exported_as_the_certificate_in_the_secret_says(prod):
    declared = reveal(prod.program.named("festival-kubernetes-users-secret").inputs["stringData"])
    expiry = prod.program.outputs["tlsCertificateExpiry"]
    nodes = kubernetes_topology(prod.settings).nodes
    assert set(expiry) == {"ca", *(node.name for node in nodes)}
    pems = {"ca": prod.program.outputs["tlsCaCert"]}
    pems.update({node.name: declared[tls.cert_file(node.address.host)] for node in nodes})
    for label, pem in pems.items():
        not_after = x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc
        assert tls.parse_time(expiry[label]) == not_after, label
        assert expiry[label].endswith("Z")  # RFC 3339, as pulumi-tls records validity_end_time
    # a year for the nodes, ten for the CA
    assert round((tls.parse_time(expiry["redis-master-0"]) - tls.parse_time(expiry["ca"])).days / 365) == -9
    assert "tlsCertificateExpiry" not in prod.program.secret_outputs


@pytest.mark.parametrize(("generations", "signing"), [("1+2", 0), ("2+1", 1)])
def test_while_the_ca_is_rotated_everything_trusts_both_cas_and_the_first_listed_signs(generations, signing):
    """tlsCaGenerations with two generations (docs/security.md, "Rotating the CA"): the CA file of the pods, of the
    exporters and of applications (redis-secret, tlsCaCert) is the bundle of both CAs, oldest first in both steps;
    every node's certificate is issued by the first listed; tlsCertificateExpiry calls that one `ca`, the other
    `ca-gen<N>`."""
    rotating = KubernetesObjects({"tlsCaGenerations": generations})
    bundle = rotating.program.outputs["tlsCaCert"]
    cas = x509.load_pem_x509_certificates(bundle.encode())
    assert [ca.subject.rfc4514_string() for ca in cas] == [
        f"CN={tls.CA_COMMON_NAME} festival",
        f"CN={tls.CA_COMMON_NAME} festival gen2",
    ]
    assert bundle.count("-----END CERTIFICATE-----\n") == 2 and bundle.endswith("\n")
    nodes_secret = reveal(rotating.program.named("festival-kubernetes-users-secret").inputs["stringData"])
    for secret in (
        nodes_secret,
        rotating.named("Secret", names.SECRET_NAME)["stringData"],
        rotating.named("Secret", names.EXPORTER_SECRET_NAME)["stringData"],
    ):
        assert secret[tls.CA_FILE] == bundle
    nodes = kubernetes_topology(rotating.settings).nodes
    for node in nodes:
        cert = x509.load_pem_x509_certificate(nodes_secret[tls.cert_file(node.address.host)].encode())
        cert.verify_directly_issued_by(cas[signing])
        assert cert.issuer == cas[signing].subject
    expiry = rotating.program.outputs["tlsCertificateExpiry"]
    other = f"ca-gen{2 - signing}"
    assert set(expiry) == {"ca", other, *(node.name for node in nodes)}
    assert tls.parse_time(expiry["ca"]) == cas[signing].not_valid_after_utc
    assert tls.parse_time(expiry[other]) == cas[1 - signing].not_valid_after_utc


def test_a_renewed_certificate_rolls_the_pods_and_nothing_else_does(prod):
    """pulumi-tls replaces a certificate EARLY_RENEWAL_HOURS before it expires; its digest is in the pod templates
    and RedisRollout's revision, so the pods (which read certificates at boot) are replaced one at a time."""

    def state(cluster: KubernetesObjects) -> tuple[dict, str]:
        templates = {s["metadata"]["name"]: s["spec"]["template"] for s in cluster.of_kind("StatefulSet")}
        rollout = next(r for r in cluster.program.resources if r.name.endswith("-redis-rollout"))
        return templates, reveal(rollout.inputs)["revision"]

    before = state(prod)
    assert state(KubernetesObjects()) == before  # an unchanged certificate: nothing rolls
    with renewed("festival-tls-redis-replica-0"):
        templates, revision = state(KubernetesObjects())
    assert revision != before[1]
    assert all(templates[name] != before[0][name] for name in templates)


def test_a_config_change_rolls_the_affected_pods_and_reruns_the_check(prod):
    changed = KubernetesObjects({"maxmemory": "1gb"})

    def state(cluster: KubernetesObjects) -> dict:
        return {
            s["metadata"]["name"]: s["spec"]["template"]["metadata"]["annotations"]
            for s in cluster.of_kind("StatefulSet")
        }

    before, after = state(prod), state(changed)
    assert before["redis-master"] != after["redis-master"] and before["redis-replica"] != after["redis-replica"]
    assert before["redis-sentinel"] == after["redis-sentinel"]
    assert prod.of_kind("Job")[0]["metadata"]["name"] != changed.of_kind("Job")[0]["metadata"]["name"]
    unchanged = KubernetesObjects()
    assert prod.of_kind("Job")[0]["metadata"]["name"] == unchanged.of_kind("Job")[0]["metadata"]["name"]


def test_check_job_runs_the_check_script_once_bounded(prod):
    (job,) = prod.of_kind("Job")
    assert re.fullmatch(r"redis-check-[0-9a-f]{10}", job["metadata"]["name"])
    assert job["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}  # a failed check runs again
    spec = job["spec"]
    assert spec["backoffLimit"] == 1
    assert spec["activeDeadlineSeconds"] > SETTLE_SECONDS + 60
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == prod.settings.redis_image
    assert container["command"] == ["sh", "/etc/festival/check-job.sh"]
    summary = prod.program.outputs["replicationCheck"]
    assert summary.startswith(f"job festival/{job['metadata']['name']} ")


# --- secrecy and outputs ----------------------------------------------------------------------------------
def test_passwords_are_only_in_secrets_and_marked_secret(prod):
    passwords = (REDIS_PASSWORD, SENTINEL_PASSWORD)
    for resource in prod.resources:
        for path, leaf in walk(reveal(resource.inputs)):
            if isinstance(leaf, str) and any(p in leaf for p in passwords):
                assert resource.type == "kubernetes:core/v1:Secret" and path[0] == "stringData", (resource.name, path)
        if resource.type == "kubernetes:core/v1:Secret":
            data = resource.inputs["stringData"]
            assert isinstance(data, Secret) or all(isinstance(v, Secret) for v in data.values()), resource.name
    for resource in prod.program.resources:
        if (
            not resource.type.startswith("kubernetes:")
            and resource.type != "random:index/randomPassword:RandomPassword"
        ):
            assert not any(p in str(reveal(resource.inputs)) for p in passwords), resource.name


def test_outputs_for_application_stacks(prod):
    outputs = prod.program.outputs
    assert outputs["sentinelHost"] == "redis-sentinel.festival.svc.cluster.local"
    assert outputs["sentinelPort"] == 26379
    assert outputs["namespace"] == "festival"
    assert outputs["secretName"] == "redis-secret"
    assert (outputs["redisPasswordKey"], outputs["sentinelPasswordKey"]) == ("redis-password", "sentinel-password")
    assert outputs["masterName"] == "festival-master"
    # the original manifests' application environment block, the users' names, then the Sentinel password
    assert outputs["appEnv"][:6] == [
        {"name": "REDIS_SENTINEL_HOST", "value": "redis-sentinel.festival.svc.cluster.local"},
        {"name": "REDIS_SENTINEL_PORT", "value": "26379"},
        {"name": "REDIS_MASTER_NAME", "value": "festival-master"},
        {"name": "REDIS_USERNAME", "value": "app"},
        {"name": "REDIS_SENTINEL_USERNAME", "value": "client"},
        {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-secret", "key": "redis-password"}}},
    ]
    assert outputs["appEnv"][6]["valueFrom"]["secretKeyRef"]["key"] == "sentinel-password"
    # The connection variables (components/connection.py), the same names as on dev; TLS on by default.
    sentinels = [f"redis-sentinel-{i}.redis-sentinel-headless.festival.svc.cluster.local:26379" for i in range(3)]
    assert outputs["clientEnv"] == {
        "REDIS_SENTINELS": ",".join(sentinels),
        "REDIS_MASTER_NAME": "festival-master",
        "REDIS_USERNAME": "app",
        "REDIS_PASSWORD_FILE": "/run/secrets/festival-redis/redis-password",
        "REDIS_SENTINEL_USERNAME": "client",
        "REDIS_SENTINEL_PASSWORD_FILE": "/run/secrets/festival-redis/sentinel-password",
        "REDIS_TLS": "true",
        "REDIS_CA_FILE": "/run/secrets/festival-redis/tls-ca.crt",
    }
    # The files those variables name are the keys of the Secret applications mount there.
    keys = set(reveal(prod.program.named("festival-kubernetes-secret").inputs["stringData"]))
    assert {path.rsplit("/", 1)[1] for name, path in outputs["clientEnv"].items() if name.endswith("_FILE")} == keys
    assert outputs["clientNamespaces"] == ["festival"]
    assert prod.program.secret_outputs == {"redisPassword", "sentinelPassword"}
    for key, value in outputs.items():
        if key not in prod.program.secret_outputs:
            assert MOCK_PASSWORD_PREFIX not in str(value), key


def test_prod_stack_file_sets_the_original_production_values():
    values = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    settings = settings_of("prod")
    assert values["festival-redis:platform"] == "kubernetes"
    assert (settings.namespace, settings.storage_class, settings.master_name) == (
        "festival",
        "fast-ssd",
        "festival-master",
    )
    assert (settings.replica_count, settings.sentinel_count, settings.quorum) == (2, 3, 2)
    assert (settings.down_after_milliseconds, settings.failover_timeout, settings.parallel_syncs) == (5000, 60000, 1)
    assert (settings.maxmemory, settings.maxmemory_policy, settings.maxclients) == ("512mb", "allkeys-lru", 10000)
    assert settings.prometheus_operator is True


def test_a_deployment_without_replicas_declares_no_replica_objects_or_replica_alerts():
    cluster = KubernetesObjects({"replicaCount": 0, "minReplicasToWrite": 0, "parallelSyncs": 1})
    for obj in cluster.objects:
        if obj["kind"] not in CUSTOM_KINDS:
            kubernetes_validate.validate(obj, NEWEST_SCHEMA, strict=True)
    assert sorted(s["metadata"]["name"] for s in cluster.of_kind("StatefulSet")) == ["redis-master", "redis-sentinel"]
    assert "redis-replica" not in {s["metadata"]["name"] for s in cluster.of_kind("Service")}
    alerts = {r["alert"] for r in cluster.named("PrometheusRule", "redis")["spec"]["groups"][0]["rules"]}
    assert not alerts & {"RedisMasterWithoutReplicas", "RedisReplicasMissing"}
    (check,) = [c for c in cluster.of_kind("ConfigMap") if c["metadata"]["name"].startswith("redis-check-config-")]
    assert (
        "\nREDIS_NODES='redis-master-0.redis-master-headless.festival.svc.cluster.local:6379'\n"
        in (check["data"]["check-job.sh"])
    )
    assert cluster.program.outputs["readHost"] == ""


def test_statefulsets_roll_one_after_the_other_and_the_check_job_waits_for_all(monkeypatch):
    import pulumi_kubernetes as k8s

    declared: dict[str, list[str]] = {}

    def recording(cls):
        class Recording(cls):
            def __init__(self, name, *args, opts=None, **kwargs):
                declared[name] = [dependency._name for dependency in (opts.depends_on or [])]
                super().__init__(name, *args, opts=opts, **kwargs)

        return Recording

    monkeypatch.setattr(k8s.apps.v1, "StatefulSet", recording(k8s.apps.v1.StatefulSet))
    monkeypatch.setattr(k8s.batch.v1, "Job", recording(k8s.batch.v1.Job))
    run_program("prod")
    assert list(declared) == [
        "festival-redis-master-statefulset",
        "festival-redis-replicas-statefulset",
        "festival-sentinels-statefulset",
        "festival-replication-check-job",
    ]
    assert "festival-redis-master" in declared["festival-redis-replicas-statefulset"]
    assert "festival-redis-replicas" in declared["festival-sentinels-statefulset"]
    for dependencies in declared.values():
        assert "festival-kubernetes-namespace" in dependencies
    assert {"festival-redis-master", "festival-redis-replicas", "festival-sentinels"} <= set(
        declared["festival-replication-check-job"]
    )
