"""The prod stack's monitoring objects (Prometheus Operator CRDs): what is scraped and when an alert fires.

Plain dicts, no pulumi import. Metric names are redis_exporter's (INFO fields, instance_info{role}, the
sentinel_* metrics), and, for the certificates (tls on), the Prometheus blackbox exporter's: redis_exporter exports
no certificate expiry, so a blackbox exporter probes every node's TLS port (module BLACKBOX_MODULE, a TCP probe with
TLS) and reports probe_ssl_earliest_cert_expiry, the NotAfter of the certificate the node served (blackbox_exporter
prober/query_response.go, prober/tls.go getEarliestCertExpiry).
"""

from __future__ import annotations

from components import tls
from components.kubernetes import names
from components.kubernetes.manifests import METRICS_LABEL, meta
from components.settings import Settings

# The blackbox exporter module the TLS probes ask for (monitoring/blackbox-exporter.yml defines it), and the job
# label of the probes' series.
BLACKBOX_MODULE = "festival_redis_tls"
TLS_PROBE_JOB = "festival-redis-tls"
TLS_PROBE_INTERVAL = "5m"

# Thresholds shared by the alerts and the dashboard's panels (tools/monitoring_files.py).
MEMORY_HIGH_RATIO = 0.85


def service_monitor(settings: Settings) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta(settings, "redis", settings.prometheus_label_pairs),
        "spec": {
            "selector": {"matchLabels": {METRICS_LABEL: "true"}},
            "namespaceSelector": {"matchNames": [settings.namespace]},
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
            "podTargetLabels": ["app", "component"],
        },
    }


def alert_rules(settings: Settings) -> list[dict]:
    """The platform team's alerts (node down, memory above 85 %, clients above 90 % of maxclients, rejected
    connections), plus Sentinel agreement, master count and replica count."""
    ns, name = settings.namespace, settings.master_name
    redis = f'namespace="{ns}",app="redis"'
    sentinel = f'namespace="{ns}",app="redis-sentinel",master_name="{name}"'

    def rule(alert: str, expr: str, duration: str, severity: str, summary: str) -> dict:
        return {
            "alert": alert,
            "expr": expr,
            "for": duration,
            "labels": {"severity": severity},
            "annotations": {"summary": summary, "description": f"{summary} (namespace {ns}, master set {name})"},
        }

    expected_pods = settings.replica_count + 1 + settings.sentinel_count
    rules = [
        rule(
            "RedisNotScraped",
            f'(count(up{{namespace="{ns}",app=~"redis|redis-sentinel"}} == 1) or vector(0)) < {expected_pods}',
            "5m",
            "critical",
            f"Fewer than {expected_pods} Redis and Sentinel exporters are scraped (a pod missing, or Prometheus not "
            "scraping it): failures there would go unseen",
        ),
        rule(
            "RedisSentinelMissing",
            f"redis_sentinel_master_sentinels{{{sentinel}}} < {settings.sentinel_count}",
            "2m",
            "warning",
            f"A Sentinel sees fewer than {settings.sentinel_count} Sentinels (itself included)",
        ),
        rule(
            "RedisPersistenceFailing",
            f"redis_rdb_last_bgsave_status{{{redis}}} == 0 or redis_aof_last_bgrewrite_status{{{redis}}} == 0"
            f" or redis_aof_last_write_status{{{redis}}} == 0",
            "1m",
            "critical",
            "A Redis node failed its last RDB save, AOF rewrite or AOF write (disk full or failing)",
        ),
        rule(
            "RedisOOMKilled",
            f'increase(kube_pod_container_status_restarts_total{{namespace="{ns}",container="redis"}}[10m]) > 0'
            f" and on (namespace, pod, container) kube_pod_container_status_last_terminated_reason"
            f'{{namespace="{ns}",container="redis",reason="OOMKilled"}} == 1',
            "0m",
            "critical",
            "A Redis container was OOM-killed (its memory limit is too small for maxmemory plus fork "
            "copy-on-write); an OOM kill skips the preStop hand-over",
        ),
        rule(
            "RedisDown",
            f'redis_up{{namespace="{ns}",app=~"redis|redis-sentinel"}} == 0',
            "1m",
            "critical",
            "A Redis node or Sentinel does not answer its exporter",
        ),
        rule(
            "RedisMemoryHigh",
            f"redis_memory_used_bytes{{{redis}}} / (redis_memory_max_bytes{{{redis}}} > 0) > {MEMORY_HIGH_RATIO}",
            "5m",
            "warning",
            "Redis memory use above 85% of maxmemory",
        ),
        rule(
            "RedisTooManyConnections",
            f"redis_connected_clients{{{redis}}} > {settings.maxclients * 9 // 10}",
            "5m",
            "warning",
            "Redis client connections above 90% of maxclients",
        ),
        rule(
            "RedisRejectedConnections",
            f"increase(redis_rejected_connections_total{{{redis}}}[5m]) > 0",
            "0m",
            "warning",
            "Redis rejected client connections (maxclients reached)",
        ),
        rule(
            "RedisMasterCount",
            f'(count(redis_instance_info{{{redis},role="master"}}) or vector(0)) != 1',
            "1m",
            "critical",
            "Not exactly one Redis node reports role master",
        ),
        rule(
            "RedisSentinelsDisagree",
            f"count(count by (master_address) (redis_sentinel_master_status{{{sentinel}}})) > 1",
            "1m",
            "critical",
            "The Sentinels name different masters",
        ),
        rule(
            "RedisSentinelQuorumLost",
            f"redis_sentinel_master_ckquorum_status{{{sentinel}}} == 0",
            "1m",
            "critical",
            "A Sentinel cannot reach quorum to fail over (SENTINEL CKQUORUM)",
        ),
    ]
    if settings.tls_enabled:
        rules += certificate_rules(settings, rule)
    if settings.replica_count:  # without replicas these would always fire
        rules += [
            rule(
                "RedisMasterWithoutReplicas",
                f"redis_connected_slaves{{{redis}}} < 1"
                f' and on (namespace, pod) redis_instance_info{{{redis},role="master"}}',
                "1m",
                "critical",
                "The Redis master has no connected replica",
            ),
            rule(
                "RedisReplicationLag",
                f"redis_connected_slave_lag_seconds{{{redis}}} > {replication_lag_threshold(settings)}",
                "1m",
                "warning",
                f"A replica's last acknowledgement is more than {replication_lag_threshold(settings)} s old; beyond "
                f"{settings.min_replicas_max_lag} s (minReplicasMaxLag) it stops counting for minReplicasToWrite",
            ),
            rule(
                "RedisReplicasMissing",
                f"redis_sentinel_master_ok_slaves{{{sentinel}}} < {settings.replica_count}",
                "2m",
                "warning",
                f"A Sentinel sees fewer than {settings.replica_count} healthy replicas",
            ),
        ]
    return rules


def certificate_rules(settings: Settings, rule) -> list[dict]:
    """The certificates' alerts, from the blackbox exporter's TLS probes of every node: one expires within
    EXPIRY_ALERT_DAYS (pulumi up renews from 30 days before: it was missed), or a node's expiry is unknown (the probe
    fails or is not set up: the first alert could never fire)."""
    probes = f'namespace="{settings.namespace}",job="{TLS_PROBE_JOB}"'
    days = tls.EXPIRY_ALERT_DAYS
    nodes = settings.replica_count + 1 + settings.sentinel_count
    return [
        rule(
            "RedisCertificateExpiresSoon",
            f"(probe_ssl_earliest_cert_expiry{{{probes}}} - time()) / 86400 < {days}",
            "10m",
            "critical",
            f"A Redis node or Sentinel serves a TLS certificate that expires in less than {days} days: `pulumi up` "
            f"renews it from {tls.EARLY_RENEWAL_DAYS} days before (docs/operations.md, a certificate expires soon)",
        ),
        rule(
            "RedisCertificateExpiryUnknown",
            f"(count(probe_ssl_earliest_cert_expiry{{{probes}}}) or vector(0)) < {nodes}",
            "30m",
            "warning",
            f"Fewer than {nodes} Redis and Sentinel TLS ports report their certificate's expiry (the blackbox "
            "exporter's probe fails or is not set up): an expiring certificate would go unseen",
        ),
    ]


def tls_probe_targets(settings: Settings) -> list[str]:
    """Every node's TLS port by the name it announces, which its certificate names (the probe checks the name)."""
    return [str(node.address) for node in names.topology(settings).nodes]


def tls_probe(settings: Settings) -> dict:
    """A Prometheus Operator Probe: Prometheus asks the blackbox exporter to open a TLS connection to every node."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "Probe",
        "metadata": meta(settings, "redis-tls", settings.prometheus_label_pairs),
        "spec": {
            "jobName": TLS_PROBE_JOB,
            "module": BLACKBOX_MODULE,
            "interval": TLS_PROBE_INTERVAL,
            "prober": {"url": settings.blackbox_exporter, "path": "/probe"},
            # the Operator adds the label namespace (the Probe's) to these targets (promcfg.go generateProbeConfig)
            "targets": {"staticConfig": {"static": tls_probe_targets(settings)}},
        },
    }


def prometheus_rule(settings: Settings) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta(settings, "redis", settings.prometheus_label_pairs),
        "spec": {"groups": [{"name": "festival-redis", "rules": alert_rules(settings)}]},
    }


def replication_lag_threshold(settings: Settings) -> int:
    """Seconds of replica lag that warn: half of minReplicasMaxLag, before the replica stops counting."""
    return max(1, settings.min_replicas_max_lag // 2)
