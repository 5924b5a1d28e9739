"""The renderers' text: what every node runs with. Behaviour is proven on real processes elsewhere."""

import dataclasses
import shutil
import subprocess
import sys
from importlib import resources

import pytest

from components import render, users
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


def test_commands_are_kept_from_users_by_acl_rules_not_by_renaming():
    # A renamed command is gone for everyone, the runbook's admin and Sentinel's failover included.
    assert not [line for line in lines(render.redis_conf(SETTINGS)) if line.startswith("rename-command")]
    redis_users = render.redis_files(SETTINGS, TOPOLOGY)[render.USERS_FILE].splitlines()
    assert [line.split()[:2] for line in redis_users] == [[u.name, u.key] for u in users.REDIS_USERS]
    (app,) = [line for line in redis_users if line.startswith("app ")]
    assert "-@dangerous" in app.split() and "-script|flush" in app.split()
    sentinel_users = render.sentinel_files(SETTINGS, TOPOLOGY)[render.USERS_FILE].splitlines()
    assert [line.split()[0] for line in sentinel_users] == [u.name for u in users.SENTINEL_USERS]


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
    assert "REDIS_SECRET='redis-admin-password'" in script and "ADMIN_USER='admin'" in script
    assert "REPLICATION_SECRET='redis-replication-password'" in script
    sentinel_probe = render.sentinel_files(SETTINGS, TOPOLOGY)["probe.sh"]
    assert "NODE_PORT=${FESTIVAL_NODE_PORT:-26379}" in sentinel_probe


def test_a_script_gets_only_the_variables_it_uses():
    probe = render.redis_files(SETTINGS, TOPOLOGY)["probe.sh"]
    assert "BOOTSTRAP_MASTER=" not in probe and "ROLE_WAIT_SECONDS=" not in probe
    check = render.check_files(SETTINGS, TOPOLOGY)["check-job.sh"]
    assert f"MAX_LAG_SECONDS='{SETTINGS.min_replicas_max_lag}'" in check
    # read only in an arithmetic expansion, where sh takes an unset name as 0 (set -u does not catch it)
    prestop = render.redis_files(SETTINGS, TOPOLOGY)["prestop.sh"]
    assert f"PRESTOP_CATCHUP_SECONDS='{render.PRESTOP_CATCHUP_SECONDS}'" in prestop


def test_kubernetes_scripts_name_pods_by_stable_dns():
    topology = kubernetes_topology(SETTINGS)
    script = render.redis_files(SETTINGS, topology)["redis-entrypoint.sh"]
    assert "BOOTSTRAP_MASTER='redis-master-0.redis-master-headless.festival.svc.cluster.local:6379'" in script
    assert "redis-sentinel-2.redis-sentinel-headless.festival.svc.cluster.local:26379'" in script


def test_a_scale_change_changes_the_sentinel_files_so_the_sentinels_restart():
    """The Sentinel's reset watcher reads the declared Redis nodes and Sentinels, so they are rendered into its
    entrypoint: a replicaCount change restarts (Docker: replaces; Kubernetes: rolls) the Sentinels and no Redis
    node; a sentinelCount change restarts both (the Redis nodes ask the Sentinels)."""
    base = render.deployment_files(SETTINGS, TOPOLOGY)
    more_replicas = Settings(replica_count=3)
    scaled = render.deployment_files(more_replicas, docker_topology(more_replicas))
    assert scaled.redis == base.redis
    assert scaled.sentinel["sentinel-entrypoint.sh"] != base.sentinel["sentinel-entrypoint.sh"]
    assert "festival-redis-replica-3:6379'" in scaled.sentinel["sentinel-entrypoint.sh"]
    more_sentinels = Settings(sentinel_count=5, quorum=3)
    scaled = render.deployment_files(more_sentinels, docker_topology(more_sentinels))
    assert scaled.sentinel["sentinel-entrypoint.sh"] != base.sentinel["sentinel-entrypoint.sh"]
    assert scaled.redis["redis-entrypoint.sh"] != base.redis["redis-entrypoint.sh"]


def test_the_sentinel_resets_itself_30_s_apart_from_its_peers_unless_the_environment_says_otherwise():
    script = render.sentinel_files(SETTINGS, TOPOLOGY)["sentinel-entrypoint.sh"]
    assert render.SENTINEL_RESET_SPACING_SECONDS == 30
    assert "RESET_SPACING_SECONDS=${FESTIVAL_RESET_SPACING_SECONDS:-30}" in script
    # The window holds the decision's four questions and the reset, each bounded by CLI_TIMEOUT, plus one for the shell.
    assert render.SENTINEL_RESET_WINDOW_SECONDS == (4 + 1) * render.CLI_TIMEOUT_SECONDS
    assert "RESET_WINDOW_SECONDS='10'" in script
    assert f"CLI_TIMEOUT='{render.CLI_TIMEOUT_SECONDS}'" in script
    assert render.sentinel_reset_cycle_seconds(3) == 3 * (10 + 30)
    assert "REDIS_NODES='festival-redis-master:6379 festival-redis-replica-1:6379 festival-redis-replica-2:6379'" in (
        script
    )
    assert 'SENTINEL RESET "$MASTER_NAME"' in script


def rendered_scripts() -> dict[str, str]:
    """Every script, with TLS off and on."""
    scripts = {}
    for tls in ("false", "true"):
        files = render.deployment_files(dataclasses.replace(SETTINGS, tls=tls), TOPOLOGY)
        scripts.update(
            {
                f"{group}/{name} (tls {tls})": text
                for group in ("redis", "sentinel", "check")
                for name, text in getattr(files, group).items()
                if name.endswith(".sh")
            }
        )
    return scripts


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


def test_every_script_source_says_how_it_is_rendered_and_the_rendering_leaves_that_line_out():
    sources = {path.name: path.read_text() for path in resources.files("components").joinpath("scripts").iterdir()}
    scripts = {name: text for name, text in sources.items() if name.endswith(".sh") and name != "lib.sh"}
    assert set(scripts) == {name.split(" ")[0].split("/")[1] for name in rendered_scripts()}
    for name, text in scripts.items():
        assert text.splitlines()[0] == render.SOURCE_HEADER, name
    assert sources["lib.sh"].startswith("# Rendered by components/render.py into every script")
    for name, text in rendered_scripts().items():
        assert render.SOURCE_HEADER not in text, name


def test_the_command_line_prints_the_script_a_node_of_a_role_runs(capsys):
    assert render.main(["replica", "redis-entrypoint.sh"]) == 0
    assert capsys.readouterr().out == render.redis_files(SETTINGS, TOPOLOGY)["redis-entrypoint.sh"]
    prod = Settings(platform="kubernetes", kube_context="ctx", tls="true")
    options = ["--config", "platform=kubernetes", "--config", "kubeContext=ctx", "--config", "tls=true"]
    assert render.main(["sentinel", "probe.sh", *options]) == 0
    assert capsys.readouterr().out == render.sentinel_files(prod, kubernetes_topology(prod))["probe.sh"]
    result = subprocess.run(
        [sys.executable, "-m", "components.render", "check", "check-job.sh"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, render.check_files(SETTINGS, TOPOLOGY)["check-job.sh"])


@pytest.mark.parametrize(
    "argv, named",
    [
        (["witness", "probe.sh"], ["'witness'", "roles: master, replica, sentinel, check"]),
        (["sentinel", "prestop.sh"], ["'prestop.sh'", "passwords.sh, probe.sh, sentinel-entrypoint.sh"]),
        (["master", "probe.sh", "--config", "replicaCount=-1"], ["replicaCount", "-1"]),
        (["master", "probe.sh", "--config", "replicaCount"], ["'replicaCount'", "KEY=VALUE"]),
    ],
)
def test_the_command_line_names_a_bad_value_and_what_it_may_be(argv, named, capsys):
    with pytest.raises(SystemExit) as exit:
        render.main(argv)
    captured = capsys.readouterr()
    assert exit.value.code == 2 and captured.out == ""
    for words in named:
        assert words in captured.err


def rendered_redis_users(stack: str, overrides: dict) -> set[str]:
    """The users file of every Redis node the stack's program declares (dev: container uploads; prod: the
    ConfigMap), found by its first line."""
    from harness.program import run_program, strings

    program = run_program(stack, overrides)
    return {text for resource in program.resources for text, _ in strings(resource.inputs) if text.startswith("app ")}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_scripting_is_kept_from_applications_unless_allowed(stack):
    (default,) = rendered_redis_users(stack, {})
    app_rules = default.splitlines()[0].split()
    assert app_rules[-1] == "-@scripting", app_rules  # last: no earlier rule gives any of it back
    (allowed,) = rendered_redis_users(stack, {"allowScripting": True})
    assert "-@scripting" not in allowed.splitlines()[0].split()
    assert "-@dangerous" in allowed.splitlines()[0].split()
