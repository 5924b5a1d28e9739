"""The renderers' text: what every node runs with. Behaviour is proven on real processes elsewhere."""

import shutil
import subprocess

from components import render
from components.docker import topology as docker_topology
from components.kubernetes import topology as kubernetes_topology
from components.settings import Settings

SETTINGS = Settings()
TOPOLOGY = docker_topology(SETTINGS)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_redis_conf_has_the_original_setups_values():
    conf = lines(render.redis_conf(SETTINGS))
    for expected in (
        "maxmemory 512mb",
        "maxmemory-policy allkeys-lru",
        "maxclients 10000",
        "appendonly yes",
        "appendfsync everysec",
        "save 900 1 300 10 60 10000",
        "replica-read-only yes",
        "repl-diskless-sync-delay 0",
        "min-replicas-to-write 1",
        "min-replicas-max-lag 10",
    ):
        assert expected in conf


def test_redis_conf_disables_the_dangerous_commands():
    conf = lines(render.redis_conf(SETTINGS))
    for command in ("FLUSHDB", "FLUSHALL", "DEBUG", "KEYS"):
        assert f'rename-command {command} ""' in conf


def test_redis_conf_follows_settings():
    conf = lines(render.redis_conf(Settings(appendonly=False, save_points="", maxmemory_policy="noeviction")))
    assert {"appendonly no", 'save ""', "maxmemory-policy noeviction"} <= set(conf)


def test_sentinel_conf_resolves_and_announces_hostnames_before_monitoring():
    conf = lines(render.sentinel_conf(SETTINGS))
    monitor = conf.index("sentinel monitor festival-master @MASTER_HOST@ @MASTER_PORT@ 2")
    assert conf.index("sentinel resolve-hostnames yes") < monitor
    assert conf.index("sentinel announce-hostnames yes") < monitor
    assert conf[monitor + 1 :] == [
        "sentinel down-after-milliseconds festival-master 5000",
        "sentinel failover-timeout festival-master 60000",
        "sentinel parallel-syncs festival-master 1",
        "sentinel master-reboot-down-after-period festival-master 5000",
    ]


def test_scripts_carry_the_deployment_constants():
    script = render.redis_files(SETTINGS, TOPOLOGY)["redis-entrypoint.sh"]
    assert script.startswith("#!/bin/sh\n")
    assert "MASTER_NAME='festival-master'" in script
    assert "SENTINELS='festival-sentinel-1:26379 festival-sentinel-2:26379 festival-sentinel-3:26379'" in script
    assert "BOOTSTRAP_MASTER='festival-redis-master:6379'" in script
    assert "NODE_PORT=${FESTIVAL_NODE_PORT:-6379}" in script
    assert "SECRETS_DIR=${FESTIVAL_SECRETS_DIR:-/etc/festival-secrets}" in script
    assert "REDIS_SECRET='redis-password'" in script
    sentinel_probe = render.sentinel_files(SETTINGS, TOPOLOGY)["probe.sh"]
    assert "NODE_PORT=${FESTIVAL_NODE_PORT:-26379}" in sentinel_probe


def test_a_script_gets_only_the_variables_it_uses():
    probe = render.redis_files(SETTINGS, TOPOLOGY)["probe.sh"]
    assert "BOOTSTRAP_MASTER=" not in probe and "ROLE_WAIT_SECONDS=" not in probe
    check = render.check_files(SETTINGS, TOPOLOGY)["check-job.sh"]
    assert f"MAX_LAG_SECONDS='{SETTINGS.min_replicas_max_lag}'" in check


def test_kubernetes_scripts_name_pods_by_stable_dns():
    topology = kubernetes_topology(SETTINGS)
    script = render.redis_files(SETTINGS, topology)["redis-entrypoint.sh"]
    assert "BOOTSTRAP_MASTER='redis-master-0.redis-master-headless.festival.svc.cluster.local:6379'" in script
    assert "redis-sentinel-2.redis-sentinel-headless.festival.svc.cluster.local:26379'" in script


def rendered_scripts() -> dict[str, str]:
    files = render.deployment_files(SETTINGS, TOPOLOGY)
    return {
        f"{group}/{name}": text
        for group in ("redis", "sentinel", "check")
        for name, text in getattr(files, group).items()
        if name.endswith(".sh")
    }


def test_every_script_is_valid_posix_sh():
    for name, text in rendered_scripts().items():
        result = subprocess.run(["sh", "-n"], input=text, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_every_script_passes_shellcheck():
    if shutil.which("shellcheck") is None:
        raise RuntimeError("shellcheck is missing: ./test installs Debian's shellcheck")
    for name, text in rendered_scripts().items():
        result = subprocess.run(
            ["shellcheck", "--shell=sh", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"{name}:\n{result.stdout}"
