"""The prod stack's monitoring objects (Prometheus Operator CRDs): what is scraped and when an alert fires.

Plain dicts, no pulumi import. Metric names are redis_exporter's (INFO fields, instance_info{role}, the
sentinel_* metrics), and, for the certificates (tls on), the Prometheus blackbox exporter's: redis_exporter exports
no certificate expiry, so a blackbox exporter probes every node's TLS port (module BLACKBOX_MODULE, a TCP probe with
TLS) and reports probe_ssl_earliest_cert_expiry, the NotAfter of the certificate the node served (blackbox_exporter
prober/query_response.go, prober/tls.go getEarliestCertExpiry).
"""

from __future__ import annotations

import json

from components import tls
from components.kubernetes import names
from components.kubernetes.manifests import METRICS_LABEL, meta
from components.settings import Settings

# The blackbox exporter module the TLS probes ask for (monitoring/blackbox-exporter.yml defines it), and the job
# label of the probes' series.
BLACKBOX_MODULE = "festival_redis_tls"
TLS_PROBE_JOB = "festival-redis-tls"
TLS_PROBE_INTERVAL = "5m"

# Thresholds shared by the alerts and the dashboard's panels.
MEMORY_HIGH_RATIO = 0.85
GRAFANA_DASHBOARD_LABEL = "grafana_dashboard"  # what kube-prometheus-stack's Grafana dashboard sidecar watches
DASHBOARD_UID = "festival-redis"


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


def blackbox_module() -> dict:
    """The blackbox exporter configuration the probes need: a TCP connection and a TLS handshake, verifying the
    node's name and chain when the deployment's CA certificate (tlsCaCert) is at ca_file. Redis asks for no client
    certificate (tls-auth-clients optional) and the probe sends no command, so it needs no password."""
    return {
        "modules": {
            BLACKBOX_MODULE: {
                "prober": "tcp",
                "timeout": "10s",
                "tcp": {"tls": True, "tls_config": {"ca_file": "/etc/festival-redis/tls-ca.crt"}},
            }
        }
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


def rules_file(settings: Settings) -> dict:
    """The same alerts as a plain Prometheus rules file (rule_files:), for a Prometheus without the Operator."""
    return {"groups": [{"name": "festival-redis", "rules": alert_rules(settings)}]}


def scrape_config(settings: Settings) -> dict:
    """A plain Prometheus scrape job giving the exporters the labels the rules select on (namespace, pod, app,
    component), as the ServiceMonitor's podTargetLabels do."""
    relabel = [
        {"source_labels": ["__meta_kubernetes_pod_label_app"], "regex": "redis|redis-sentinel", "action": "keep"},
        {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": "metrics", "action": "keep"},
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_pod_label_app"], "target_label": "app"},
        {"source_labels": ["__meta_kubernetes_pod_label_component"], "target_label": "component"},
    ]
    jobs = [
        {
            "job_name": "festival-redis",
            "scrape_interval": "30s",
            "metrics_path": "/metrics",
            "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [settings.namespace]}}],
            "relabel_configs": relabel,
        }
    ]
    if settings.tls_enabled:
        jobs.append(tls_probe_job(settings))
    return {"scrape_configs": jobs}


def tls_probe_job(settings: Settings) -> dict:
    """The Probe's scrape job for a Prometheus without the Operator: the blackbox exporter probes each node
    (target -> ?target=, instance), with the labels the certificate rules select on."""
    return {
        "job_name": TLS_PROBE_JOB,
        "scrape_interval": TLS_PROBE_INTERVAL,
        "metrics_path": "/probe",
        "params": {"module": [BLACKBOX_MODULE]},
        "static_configs": [{"targets": tls_probe_targets(settings), "labels": {"namespace": settings.namespace}}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": settings.blackbox_exporter},
        ],
    }


def grafana_dashboard(settings: Settings) -> dict:
    """The project's Grafana dashboard: the seed's metrics and the alerts' thresholds, Redis and Sentinel panels."""
    ns, name = settings.namespace, settings.master_name
    redis = f'namespace="{ns}",app="redis"'
    sentinel = f'namespace="{ns}",app="redis-sentinel",master_name="{name}"'
    lag = replication_lag_threshold(settings)
    panels: list[dict] = []
    cursor = {"x": 0, "y": 0, "h": 0}  # where the next panel goes, and the height of the current line

    def place(width: int, height: int) -> dict:
        if cursor["x"] + width > 24:
            cursor.update(x=0, y=cursor["y"] + cursor["h"], h=0)
        position = {"h": height, "w": width, "x": cursor["x"], "y": cursor["y"]}
        cursor.update(x=cursor["x"] + width, h=max(cursor["h"], height))
        return position

    def row(title: str) -> None:
        cursor.update(x=24)  # a row starts a new line
        panels.append({"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": place(24, 1)})

    def panel(kind: str, title: str, expr: str, legend: str, steps: list, unit: str = "short", width: int = 8):
        panels.append(
            {
                "type": kind,
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "targets": [
                    {"refId": "A", "expr": expr, "legendFormat": legend, "datasource": {"uid": "${datasource}"}}
                ],
                "fieldConfig": {
                    "defaults": {
                        "unit": unit,
                        "thresholds": {
                            "mode": "absolute",
                            "steps": [{"color": color, "value": value} for color, value in steps],
                        },
                    },
                    "overrides": [],
                },
                "options": {},
                "gridPos": place(width, 8),
            }
        )

    ok_below = [("green", None), ("red", 1)]  # red from 1 up
    row("Redis")
    panel("stat", "Nodes up (redis_up)", f"redis_up{{{redis}}}", "{{pod}}", [("red", None), ("green", 1)])
    panel(
        "stat",
        "Masters (exactly 1)",
        f'count(redis_instance_info{{{redis},role="master"}}) or vector(0)',
        "masters",
        [("red", None), ("green", 1), ("red", 2)],
    )
    panel(
        "timeseries",
        "Replicas linked to the master (alert below 1)",
        f'redis_connected_slaves{{{redis}}} and on (namespace, pod) redis_instance_info{{{redis},role="master"}}',
        "{{pod}}",
        [("red", None), ("green", 1)],
    )
    panel(
        "timeseries",
        f"Memory used / maxmemory (alert above {MEMORY_HIGH_RATIO:.0%})",
        f"redis_memory_used_bytes{{{redis}}} / (redis_memory_max_bytes{{{redis}}} > 0)",
        "{{pod}}",
        [("green", None), ("red", MEMORY_HIGH_RATIO)],
        unit="percentunit",
    )
    panel(
        "timeseries",
        f"Connected clients (alert above {settings.maxclients * 9 // 10})",
        f"redis_connected_clients{{{redis}}}",
        "{{pod}}",
        [("green", None), ("red", settings.maxclients * 9 // 10)],
    )
    panel(
        "timeseries",
        "Rejected connections (5m, alert above 0)",
        f"increase(redis_rejected_connections_total{{{redis}}}[5m])",
        "{{pod}}",
        ok_below,
    )
    panel(
        "timeseries",
        f"Replication lag (alert above {lag} s)",
        f"redis_connected_slave_lag_seconds{{{redis}}}",
        "{{pod}} -> {{slave_ip}}",
        [("green", None), ("red", lag)],
        unit="s",
    )
    panel(
        "timeseries",
        "Replica offset behind the master",
        f"redis_master_repl_offset{{{redis}}} - on (namespace, pod) group_right "
        f"redis_connected_slave_offset_bytes{{{redis}}}",
        "{{slave_ip}}",
        [("green", None)],
        unit="bytes",
    )
    panel(
        "timeseries",
        "Commands per second",
        f"rate(redis_commands_processed_total{{{redis}}}[1m])",
        "{{pod}}",
        [("green", None)],
        unit="ops",
    )
    panel("timeseries", "Keys", f"sum by (pod) (redis_db_keys{{{redis}}})", "{{pod}}", [("green", None)])
    panel(
        "timeseries",
        "Evicted keys per second (maxmemory-policy)",
        f"rate(redis_evicted_keys_total{{{redis}}}[5m])",
        "{{pod}}",
        [("green", None)],
    )
    panel(
        "timeseries",
        "Memory fragmentation ratio",
        f"redis_mem_fragmentation_ratio{{{redis}}}",
        "{{pod}}",
        [("green", None), ("orange", 1.5)],
    )
    panel(
        "stat",
        "Persistence: last RDB save and AOF write OK",
        f"min by (pod) (redis_rdb_last_bgsave_status{{{redis}}} * redis_aof_last_write_status{{{redis}}})",
        "{{pod}}",
        [("red", None), ("green", 1)],
    )
    row("Sentinel")
    panel(
        "stat",
        "Quorum reachable (SENTINEL CKQUORUM)",
        f"redis_sentinel_master_ckquorum_status{{{sentinel}}}",
        "{{pod}}",
        [("red", None), ("green", 1)],
    )
    panel(
        "stat",
        f"Healthy replicas seen (expected {settings.replica_count})",
        f"redis_sentinel_master_ok_slaves{{{sentinel}}}",
        "{{pod}}",
        [("red", None), ("green", settings.replica_count)],
    )
    panel(
        "stat",
        f"Sentinels seen (expected {settings.sentinel_count})",
        f"redis_sentinel_master_sentinels{{{sentinel}}}",
        "{{pod}}",
        [("red", None), ("green", settings.sentinel_count)],
    )
    panel(
        "stat",
        "Masters named by the Sentinels (exactly 1)",
        f"count(count by (master_address) (redis_sentinel_master_status{{{sentinel}}}))",
        "masters named",
        [("red", None), ("green", 1), ("red", 2)],
    )
    for number, item in enumerate(panels, 1):
        item["id"] = number
    return {
        "uid": DASHBOARD_UID,
        "title": f"festival-redis ({ns}/{name})",
        "tags": ["redis", "sentinel", "festival-redis"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def dashboard_config_map(settings: Settings) -> dict:
    """The dashboard as a ConfigMap Grafana's dashboard sidecar (kube-prometheus-stack) loads: label
    grafana_dashboard=1, in the monitoring namespace."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "festival-redis-dashboard",
            "namespace": settings.monitoring_namespace,
            "labels": {GRAFANA_DASHBOARD_LABEL: "1", "app.kubernetes.io/part-of": "festival-redis"},
        },
        "data": {"festival-redis.json": json.dumps(grafana_dashboard(settings), indent=2, sort_keys=True)},
    }
