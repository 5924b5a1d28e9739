"""The monitoring files: generated from the rule definitions and up to date, valid for Prometheus (promtool),
the replication-lag alert fires when it should, and the Grafana dashboard loads and queries only metrics that
redis_exporter really exports (read from the exporters of a Docker deployment)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request

import pytest
import yaml

from components.kubernetes import monitoring
from tests.docs.markdown import ROOT
from tools import generate_monitoring, monitoring_files

OUT = ROOT / "monitoring"
RULES = OUT / "festival-redis.rules.yml"
DASHBOARD = OUT / "grafana-dashboard.json"
CONFIG_MAP = OUT / "grafana-dashboard-configmap.yaml"
METRIC = re.compile(r"\bredis_[a-z0-9_]+\b")


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        reason = "promtool missing: apt-get install prometheus (Debian ships promtool in it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def test_the_files_are_generated_and_up_to_date():
    assert generate_monitoring.main(["--check"]) == 0, "run: venv/bin/python -m tools.generate_monitoring"


def test_the_rules_file_holds_the_prometheus_rules_alerts():
    settings = generate_monitoring.stack_settings("prod")
    rules = yaml.safe_load(RULES.read_text())
    assert rules == monitoring_files.rules_file(settings)
    (group,) = rules["groups"]
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    # The seed's alert table, the replication-lag alert, and the Sentinel view.
    for alert in (
        "RedisDown",
        "RedisMemoryHigh",
        "RedisMasterWithoutReplicas",
        "RedisTooManyConnections",
        "RedisRejectedConnections",
        "RedisReplicationLag",
        "RedisSentinelQuorumLost",
        "RedisMasterCount",
    ):
        assert alert in alerts, alert
    for rule in alerts.values():  # the structure promtool would check, for machines without it
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert re.fullmatch(r"\d+[smh]", rule["for"])
    assert alerts["RedisTooManyConnections"]["expr"].endswith("> 9000")
    assert alerts["RedisReplicationLag"]["expr"].endswith("> 5")


def test_promtool_accepts_the_rules_file():
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(yaml.safe_load(RULES.read_text())['groups'][0]['rules'])} rules found" in result.stdout


def test_the_replication_lag_and_memory_alerts_fire_on_their_thresholds(tmp_path):
    """promtool's rule unit tests: a replica 8 s behind fires after 1 m, one 3 s behind never does; memory at
    90 % fires after 5 m."""
    shutil.copy(RULES, tmp_path / "rules.yml")
    labels = 'namespace="festival",app="redis",pod="redis-master-0"'
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "30s",
        "tests": [
            {
                "interval": "30s",
                "input_series": [
                    {"series": f'redis_connected_slave_lag_seconds{{{labels},slave_ip="a"}}', "values": "8x10"},
                    {"series": f'redis_connected_slave_lag_seconds{{{labels},slave_ip="b"}}', "values": "3x10"},
                    {"series": f"redis_memory_used_bytes{{{labels}}}", "values": "90x20"},
                    {"series": f"redis_memory_max_bytes{{{labels}}}", "values": "100x20"},
                ],
                "alert_rule_test": [
                    {"eval_time": "30s", "alertname": "RedisReplicationLag", "exp_alerts": []},
                    {
                        "eval_time": "2m",
                        "alertname": "RedisReplicationLag",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "namespace": "festival",
                                    "app": "redis",
                                    "pod": "redis-master-0",
                                    "slave_ip": "a",
                                },
                                "exp_annotations": {
                                    "summary": _annotation("RedisReplicationLag", "summary"),
                                    "description": _annotation("RedisReplicationLag", "description"),
                                },
                            }
                        ],
                    },
                    {"eval_time": "2m", "alertname": "RedisMemoryHigh", "exp_alerts": []},
                    {
                        "eval_time": "6m",
                        "alertname": "RedisMemoryHigh",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warning",
                                    "namespace": "festival",
                                    "app": "redis",
                                    "pod": "redis-master-0",
                                },
                                "exp_annotations": {
                                    "summary": _annotation("RedisMemoryHigh", "summary"),
                                    "description": _annotation("RedisMemoryHigh", "description"),
                                },
                            }
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [promtool(), "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _annotation(alert: str, key: str) -> str:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    return next(rule["annotations"][key] for rule in rules if rule["alert"] == alert)


def test_the_dashboard_loads_and_draws_the_alert_thresholds():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == monitoring_files.DASHBOARD_UID and dashboard["schemaVersion"] >= 36
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert [p["title"] for p in panels if p["type"] == "row"] == ["Redis", "Sentinel"]
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
    queries = {p["title"]: p["targets"][0]["expr"] for p in panels if p["type"] != "row"}
    thresholds = {
        p["title"]: [s["value"] for s in p["fieldConfig"]["defaults"]["thresholds"]["steps"]]
        for p in panels
        if p["type"] != "row"
    }
    assert any("redis_memory_used_bytes" in q for q in queries.values())
    assert 0.85 in next(v for t, v in thresholds.items() if t.startswith("Memory used"))
    assert 9000 in next(v for t, v in thresholds.items() if t.startswith("Connected clients"))
    assert 5 in next(v for t, v in thresholds.items() if t.startswith("Replication lag"))
    for panel in panels:  # every panel queries through the data source chosen on import
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"


def test_the_dashboard_config_map_is_what_grafanas_sidecar_loads():
    config_map = yaml.safe_load(CONFIG_MAP.read_text())
    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["labels"][monitoring_files.GRAFANA_DASHBOARD_LABEL] == "1"
    assert config_map["metadata"]["namespace"] == "monitoring"
    (content,) = config_map["data"].values()
    assert json.loads(content) == json.loads(DASHBOARD.read_text())


def test_prometheus_can_reload_with_the_rules_and_the_kubernetes_scrape_job():
    scrape = yaml.safe_load((OUT / "prometheus-scrape.yml").read_text())
    job, _tls_probes = scrape["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["festival"]}}]
    targets = {r.get("target_label") for r in job["relabel_configs"]}
    # the labels every rule selects on
    assert {"namespace", "pod", "app", "component"} <= targets


@pytest.fixture(scope="module")
def exported_metrics(docker_stack) -> set[str]:
    """Every metric name the exporters of a real deployment export (a master, replicas, Sentinels)."""
    docker_stack.wait_healthy(timeout=60)
    names = set()
    for url in docker_stack.outputs["metricsEndpoints"].values():
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        names |= {line.split("{")[0].split()[0] for line in text.splitlines() if line and not line.startswith("#")}
    return names


def test_the_dashboard_queries_only_metrics_the_exporter_exports(exported_metrics):
    dashboard = json.loads(DASHBOARD.read_text())
    used = {m for p in dashboard["panels"] for t in p.get("targets", []) for m in METRIC.findall(t["expr"])}
    assert used, "no metric found in the dashboard"
    assert sorted(used - exported_metrics) == []


def test_the_alerts_use_only_metrics_the_exporter_exports(exported_metrics):
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    used = {m for rule in rules for m in METRIC.findall(rule["expr"])}
    assert sorted(used - exported_metrics) == []
    assert "redis_up" in exported_metrics and "redis_sentinel_master_ok_slaves" in exported_metrics


def test_every_dev_exporter_logs_in_as_the_exporter_user(docker_stack, exported_metrics):
    # redis_up is exported either way; 1 only when the exporter user's login and commands were accepted
    for node, url in docker_stack.outputs["metricsEndpoints"].items():
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        assert re.search(r"^redis_up 1$", text, re.M), node


def test_the_certificate_alert_fires_21_days_before_expiry_and_an_unprobed_node_is_reported(tmp_path):
    """promtool's rule unit tests on the blackbox exporter's probe_ssl_earliest_cert_expiry: a node whose certificate
    has 20 days left fires after 10 m, one with 22 days left never does; with two of the six TLS ports probed, the
    expiry of the others is unknown, reported after 30 m."""
    shutil.copy(RULES, tmp_path / "rules.yml")
    day = 86400
    probe = 'namespace="festival",job="festival-redis-tls"'
    master = "redis-master-0.redis-master-headless.festival.svc.cluster.local:6379"
    sentinel = "redis-sentinel-0.redis-sentinel-headless.festival.svc.cluster.local:26379"
    soon = {
        "exp_labels": {
            "severity": "critical",
            "namespace": "festival",
            "job": "festival-redis-tls",
            "instance": master,
        },
        "exp_annotations": {
            "summary": _annotation("RedisCertificateExpiresSoon", "summary"),
            "description": _annotation("RedisCertificateExpiresSoon", "description"),
        },
    }
    unknown = {
        "exp_labels": {"severity": "warning"},
        "exp_annotations": {
            "summary": _annotation("RedisCertificateExpiryUnknown", "summary"),
            "description": _annotation("RedisCertificateExpiryUnknown", "description"),
        },
    }
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    # the NotAfter (seconds since the epoch; promtool's clock starts at 0)
                    {
                        "series": f'probe_ssl_earliest_cert_expiry{{{probe},instance="{master}"}}',
                        "values": f"{20 * day}x60",
                    },
                    {
                        "series": f'probe_ssl_earliest_cert_expiry{{{probe},instance="{sentinel}"}}',
                        "values": f"{22 * day}x60",
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": "RedisCertificateExpiresSoon", "exp_alerts": []},
                    {"eval_time": "15m", "alertname": "RedisCertificateExpiresSoon", "exp_alerts": [soon]},
                    {"eval_time": "15m", "alertname": "RedisCertificateExpiryUnknown", "exp_alerts": []},
                    {"eval_time": "35m", "alertname": "RedisCertificateExpiryUnknown", "exp_alerts": [unknown]},
                ],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [promtool(), "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tls_probes_ask_the_blackbox_exporter_for_the_module_it_is_given():
    blackbox = yaml.safe_load((OUT / "blackbox-exporter.yml").read_text())
    module = blackbox["modules"][monitoring.BLACKBOX_MODULE]
    assert module["prober"] == "tcp" and module["tcp"]["tls"] is True
    scrape = yaml.safe_load((OUT / "prometheus-scrape.yml").read_text())
    [probes] = [job for job in scrape["scrape_configs"] if job["job_name"] == monitoring.TLS_PROBE_JOB]
    assert probes["metrics_path"] == "/probe" and probes["params"] == {"module": [monitoring.BLACKBOX_MODULE]}
    [targets] = probes["static_configs"]
    assert targets["labels"] == {"namespace": "festival"} and len(targets["targets"]) == 6
    assert {"target_label": "__address__", "replacement": "prometheus-blackbox-exporter.monitoring.svc:9115"} in probes[
        "relabel_configs"
    ]
