"""The prod stack's monitoring objects (Prometheus Operator CRDs): what is scraped and when an alert fires.

Plain dicts, no pulumi import. Metric names are redis_exporter's (INFO fields, instance_info{role}, the
sentinel_* metrics).
"""

from __future__ import annotations

from components.kubernetes.manifests import METRICS_LABEL, meta
from components.settings import Settings


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
            f"redis_memory_used_bytes{{{redis}}} / (redis_memory_max_bytes{{{redis}}} > 0) > 0.85",
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
                "RedisReplicasMissing",
                f"redis_sentinel_master_ok_slaves{{{sentinel}}} < {settings.replica_count}",
                "2m",
                "warning",
                f"A Sentinel sees fewer than {settings.replica_count} healthy replicas",
            ),
        ]
    return rules


def prometheus_rule(settings: Settings) -> dict:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": meta(settings, "redis", settings.prometheus_label_pairs),
        "spec": {"groups": [{"name": "festival-redis", "rules": alert_rules(settings)}]},
    }
