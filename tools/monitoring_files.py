"""The monitoring files tools/generate_monitoring.py writes, for a Prometheus without the Operator and for Grafana:
the same alerts as the PrometheusRule and the same probes as the Probe (components/kubernetes/monitoring.py, which
the program declares), a scrape job, the blackbox exporter module and the project's dashboard. Plain dicts."""

from __future__ import annotations

import json

from components.kubernetes import monitoring
from components.settings import Settings

GRAFANA_DASHBOARD_LABEL = "grafana_dashboard"  # what kube-prometheus-stack's Grafana dashboard sidecar watches
DASHBOARD_UID = "festival-redis"


def blackbox_module() -> dict:
    """The blackbox exporter configuration the probes need: a TCP connection and a TLS handshake, verifying the
    node's name and chain when the deployment's CA certificate (tlsCaCert) is at ca_file. Redis asks for no client
    certificate (tls-auth-clients optional) and the probe sends no command, so it needs no password."""
    return {
        "modules": {
            monitoring.BLACKBOX_MODULE: {
                "prober": "tcp",
                "timeout": "10s",
                "tcp": {"tls": True, "tls_config": {"ca_file": "/etc/festival-redis/tls-ca.crt"}},
            }
        }
    }


def rules_file(settings: Settings) -> dict:
    """The same alerts as a plain Prometheus rules file (rule_files:), for a Prometheus without the Operator."""
    return {"groups": [{"name": "festival-redis", "rules": monitoring.alert_rules(settings)}]}


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
        "job_name": monitoring.TLS_PROBE_JOB,
        "scrape_interval": monitoring.TLS_PROBE_INTERVAL,
        "metrics_path": "/probe",
        "params": {"module": [monitoring.BLACKBOX_MODULE]},
        "static_configs": [
            {"targets": monitoring.tls_probe_targets(settings), "labels": {"namespace": settings.namespace}}
        ],
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
    lag = monitoring.replication_lag_threshold(settings)
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
        f"Memory used / maxmemory (alert above {monitoring.MEMORY_HIGH_RATIO:.0%})",
        f"redis_memory_used_bytes{{{redis}}} / (redis_memory_max_bytes{{{redis}}} > 0)",
        "{{pod}}",
        [("green", None), ("red", monitoring.MEMORY_HIGH_RATIO)],
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
