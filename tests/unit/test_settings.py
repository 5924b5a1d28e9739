"""Every stack value rule: a bad value fails with a message naming the key, the value and the rule."""

import pytest

from components.settings import Settings, SettingsError, parse_memory, parse_save_points


def test_defaults_are_the_original_setups_values():
    s = Settings()
    assert (s.master_name, s.replica_count, s.sentinel_count, s.quorum) == ("festival-master", 2, 3, 2)
    assert (s.down_after_milliseconds, s.failover_timeout, s.parallel_syncs) == (5000, 60000, 1)
    assert (s.maxmemory, s.maxmemory_policy, s.maxclients) == ("512mb", "allkeys-lru", 10000)
    assert (s.appendonly, s.appendfsync) == (True, "everysec")
    assert s.save_point_pairs == ((900, 1), (300, 10), (60, 10000))
    assert s.dev_host_ports() == {
        "redis master": 6379,
        "redis replica 1": 6380,
        "redis replica 2": 6381,
        "sentinel 1": 26379,
        "sentinel 2": 26380,
        "sentinel 3": 26381,
    }
    assert (s.namespace, s.storage_class, s.debug_ui, s.debug_ui_port) == ("festival", "fast-ssd", False, 8081)


def test_from_config_coerces_stack_strings():
    s = Settings.from_config({"replicaCount": "3", "appendonly": "false", "quorum": 2.0, "debugUi": True})
    assert (s.replica_count, s.appendonly, s.quorum, s.debug_ui) == (3, False, 2, True)


def test_tls_is_on_by_default_for_kubernetes_only_and_can_be_set_either_way():
    assert not Settings().tls_enabled
    assert Settings(platform="kubernetes", kube_context="ctx").tls_enabled
    assert Settings.from_config({"tls": True}).tls_enabled
    assert not Settings.from_config({"platform": "kubernetes", "kubeContext": "ctx", "tls": "false"}).tls_enabled


K8S = {"platform": "kubernetes", "kubeContext": "ctx"}


@pytest.mark.parametrize(
    "config, key, rule",
    [
        ({"tls": "yes please"}, "tls", "must be one of auto, true, false"),
        ({"tls": "true", "debugUi": True}, "debugUi", "must be false when tls is on"),
        ({"quorum": 4}, "quorum", "between 1 and sentinelCount (3)"),
        ({"sentinelCount": 5, "quorum": 2}, "quorum", "majority of sentinelCount (5): at least 3"),
        ({"quorum": 0}, "quorum", "between 1 and sentinelCount"),
        ({"sentinelCount": 4, "quorum": 3}, "sentinelCount", "must be odd"),
        ({"sentinelCount": 0}, "sentinelCount", "must be odd"),
        ({"replicaCount": -1}, "replicaCount", "between 0 and 9"),
        ({"maxmemory": "512 megs"}, "maxmemory", "Redis memory size"),
        ({"maxmemory": "10kb"}, "maxmemory", "at least 1mb"),
        ({"maxmemoryPolicy": "lru"}, "maxmemoryPolicy", "one of noeviction, allkeys-lru"),
        ({"appendfsync": "sometimes"}, "appendfsync", "one of always, everysec, no"),
        ({"savePoints": "900"}, "savePoints", "pairs of positive"),
        ({"savePoints": "900 0"}, "savePoints", "pairs of positive"),
        ({"maxclients": 0}, "maxclients", "between 1 and 100000"),
        ({"downAfterMilliseconds": 100}, "downAfterMilliseconds", "between 500 and 600000"),
        ({"failoverTimeout": 700000000}, "failoverTimeout", "between 1000 and 3600000"),
        ({"downAfterMilliseconds": 30000, "failoverTimeout": 20000}, "failoverTimeout", "longer than down"),
        ({"parallelSyncs": 0}, "parallelSyncs", "between 1 and replicaCount"),
        ({"parallelSyncs": 3}, "parallelSyncs", "between 1 and replicaCount (2)"),
        ({"minReplicasToWrite": 3}, "minReplicasToWrite", "between 0 and replicaCount (2)"),
        ({"minReplicasMaxLag": 0}, "minReplicasMaxLag", "between 1 and 3600"),
        ({"roleWaitSeconds": -1}, "roleWaitSeconds", "between 0 and 600"),
        ({"devRedisPort": 80}, "devRedisPort", "unprivileged port"),
        ({"devSentinelPort": 6380}, "devSentinelPort", "already used by redis replica 1"),
        ({"debugUi": True, "debugUiPort": 6381}, "debugUiPort", "already used by redis replica 2"),
        ({"devRedisPort": 65535}, "devRedisPort", "above 65535"),
        ({"platform": "nomad"}, "platform", "one of docker, kubernetes"),
        ({"namePrefix": "Festival_Prod"}, "namePrefix", "lowercase DNS label"),
        ({"namespace": "-x"}, "namespace", "lowercase DNS label"),
        ({"masterName": "festival master"}, "masterName", "one word"),
        ({"redisImage": "redis"}, "redisImage", "pinned to a tag"),
        ({"redisImage": "redis:latest"}, "redisImage", "other than 'latest'"),
        ({"kubernetesVersion": "1.20"}, "kubernetesVersion", "1.21 or newer"),
        ({"storageSize": "10 gigs"}, "storageSize", "Kubernetes quantity"),
        ({"storageClass": "Fast_SSD"}, "storageClass", "StorageClass name"),
        ({**K8S, "storageSize": "2047Mi"}, "storageSize", "must hold 4 x maxmemory (512mb) = 2048Mi: with appendonly"),
        ({**K8S, "maxmemory": "4gb", "storageSize": "10Gi"}, "storageSize", "4 x maxmemory (4gb) = 16384Mi"),
        ({**K8S, "appendonly": False, "storageSize": "1G"}, "storageSize", "2 x maxmemory (512mb) = 1024Mi: an RDB"),
        ({**K8S, "clusterDomain": "cluster.local."}, "clusterDomain", "no trailing dot"),
        ({**K8S, "priorityClassName": "High_Priority"}, "priorityClassName", "name of an existing PriorityClass"),
        ({**K8S, "clusterDomain": "Cluster.Local"}, "clusterDomain", "lowercase DNS labels separated by dots"),
        ({"replicaCount": "two"}, "replicaCount", "whole number"),
        ({"appendonly": "maybe"}, "appendonly", "boolean"),
        ({"replicaCuont": 2}, "replicaCuont", "unknown key"),
        ({"platform": "kubernetes", "kubeContext": ""}, "kubeContext", "kubeconfig context of the target cluster"),
        ({"platform": "kubernetes", "kubeContext": "my cluster"}, "kubeContext", "kubeconfig context"),
        ({"antiAffinity": "sometimes"}, "antiAffinity", "one of required, preferred"),
        ({"clientNamespaces": "apps,Web"}, "clientNamespaces", "namespace names"),
        ({"monitoringNamespace": "mon_itoring"}, "monitoringNamespace", "namespace names"),
        ({"prometheusLabels": "release"}, "prometheusLabels", "'key=value'"),
        ({"prometheusPodSelector": "prometheus"}, "prometheusPodSelector", "'key=value'"),
        ({"prometheusPodSelector": ""}, "prometheusPodSelector", "at least one label"),
        ({"dnsEgress": "coredns"}, "dnsEgress", "'coredns' is not a named set-up nor a CIDR"),
        ({"dnsEgress": ""}, "dnsEgress", "'' is not a named set-up nor a CIDR: must be 'any', or"),
        ({"dnsEgress": "any,kube-dns"}, "dnsEgress", "'any' allows every destination already"),
        ({"dnsEgress": "169.254.20.10"}, "dnsEgress", "no prefix length (e.g. 169.254.20.10/32)"),
        ({"dnsEgress": "10.0.0.10/8"}, "dnsEgress", "host bits set: the network is 10.0.0.0/8"),
        ({"passwordGenerations": "redis-password"}, "passwordGenerations", "'KEY=N' or 'KEY=OLD+NEW'"),
        ({"passwordGenerations": "redis-password=0"}, "passwordGenerations", "positive whole numbers"),
        ({"passwordGenerations": "redis-password=1+2+3"}, "passwordGenerations", "'KEY=OLD+NEW'"),
        ({"passwordGenerations": "redis-pasword=2"}, "passwordGenerations", "not a password key"),
        ({"passwordGenerations": "redis-password=2,redis-password=3"}, "passwordGenerations", "listed twice"),
        ({"passwordGenerations": "redis-password=2+2"}, "passwordGenerations", "must differ"),
        ({"tlsCaGenerations": "0"}, "tlsCaGenerations", "'N' or 'SIGNING+OTHER' (positive whole numbers)"),
        ({"tlsCaGenerations": "one"}, "tlsCaGenerations", "the first signs the nodes' certificates"),
        ({"tlsCaGenerations": "2,1"}, "tlsCaGenerations", "'N' or 'SIGNING+OTHER'"),
        ({"tlsCaGenerations": "1+2+3"}, "tlsCaGenerations", "'N' or 'SIGNING+OTHER'"),
        ({"tlsCaGenerations": ""}, "tlsCaGenerations", "'N' or 'SIGNING+OTHER'"),
        ({"tlsCaGenerations": "2+2"}, "tlsCaGenerations", "must differ"),
        ({"certificateMinDaysLeft": 0}, "certificateMinDaysLeft", "between 1 and 29 days"),
        ({"certificateMinDaysLeft": 30}, "certificateMinDaysLeft", "from which `pulumi up` renews a certificate"),
        ({"certificateMinDaysLeft": "two weeks"}, "certificateMinDaysLeft", "whole number"),
        ({"blackboxExporterAddress": "blackbox"}, "blackboxExporterAddress", "must be host:port"),
    ],
)
def test_bad_value_names_key_value_and_rule(config, key, rule):
    with pytest.raises(SettingsError) as raised:
        Settings.from_config(config)
    error = raised.value
    assert error.key == key
    assert rule in str(error)
    assert f"festival-redis:{key} = {config[key]!r}" in str(error) or repr(error.value) in str(error)


def test_namespace_and_label_lists():
    settings = Settings(client_namespaces="apps, web", prometheus_labels="release=kube-prometheus-stack,team=platform")
    assert settings.client_namespace_names == ("apps", "web")
    assert Settings(namespace="festival").client_namespace_names == ("festival",)
    assert settings.prometheus_label_pairs == {"release": "kube-prometheus-stack", "team": "platform"}
    assert Settings().prometheus_pod_labels == {"app.kubernetes.io/name": "prometheus"}
    assert Settings(prometheus_pod_selector="prometheus=k8s, app=x").prometheus_pod_labels == {
        "prometheus": "k8s",
        "app": "x",
    }


def test_dns_egress_targets():
    assert Settings().dns_egress_targets == ()  # any destination
    strict = Settings(dns_egress="kube-dns, openshift-dns,169.254.20.10/32,fd00:10::/64")
    assert strict.dns_egress_targets == ("kube-dns", "openshift-dns", "169.254.20.10/32", "fd00:10::/64")


def test_valid_variants_pass():
    Settings.from_config({"replicaCount": 0, "minReplicasToWrite": 0, "sentinelCount": 1, "quorum": 1})
    Settings.from_config({"sentinelCount": 5, "quorum": 3, "savePoints": "", "maxmemory": "2gb"})
    Settings.from_config({**K8S, "storageSize": "2Gi"})  # 4 x 512mb exactly
    Settings.from_config({**K8S, "appendonly": False, "storageSize": "1Gi"})
    Settings.from_config({**K8S, "maxmemory": "2gb", "storageSize": "8589934592"})
    Settings.from_config({"maxmemory": "4gb", "storageSize": "1Gi"})  # dev: no volume sizes
    domain = "k8s.example.internal"
    assert Settings.from_config({**K8S, "clusterDomain": domain}).cluster_domain == domain


def test_storage_size_in_bytes_from_a_kubernetes_quantity():
    assert Settings(storage_size="10Gi").storage_size_bytes == 10 * 1024**3
    assert Settings(storage_size="1.5G").storage_size_bytes == 1_500_000_000
    assert Settings(storage_size="2048Mi").storage_size_bytes == Settings().storage_needed_bytes


@pytest.mark.parametrize("text, expected", [("512mb", 512 * 1024**2), ("1GB", 1024**3), ("100", 100), ("4k", 4000)])
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


def test_parse_save_points():
    assert parse_save_points("900 1 300 10") == ((900, 1), (300, 10))
    assert parse_save_points("") == ()


def test_password_generations_by_key_lowest_first():
    settings = Settings(password_generations="redis-password=2+1, sentinel-peer-password=3")
    assert settings.password_generation_numbers == {"redis-password": (1, 2), "sentinel-peer-password": (3,)}
    assert Settings().password_generation_numbers == {}


def test_tls_ca_generations_as_listed_the_signing_one_first():
    assert Settings().tls_ca_generation_numbers == (1,)
    assert Settings.from_config({"tlsCaGenerations": "2+1"}).tls_ca_generation_numbers == (2, 1)
    assert Settings.from_config({"tlsCaGenerations": " 1 + 2 "}).tls_ca_generation_numbers == (1, 2)
    assert Settings.from_config({"tlsCaGenerations": 3}).tls_ca_generation_numbers == (3,)


def test_certificate_threshold_and_blackbox_exporter_defaults():
    assert Settings().certificate_min_days_left == 14
    assert Settings.from_config({"certificateMinDaysLeft": "29"}).certificate_min_days_left == 29
    assert Settings().blackbox_exporter == "prometheus-blackbox-exporter.monitoring.svc:9115"
    custom = Settings(monitoring_namespace="observability", blackbox_exporter_address="bb.probes.svc:9115")
    assert (Settings(monitoring_namespace="observability").blackbox_exporter, custom.blackbox_exporter) == (
        "prometheus-blackbox-exporter.observability.svc:9115",
        "bb.probes.svc:9115",
    )
