"""Pure renderers: Settings + Topology -> the text of every file a Redis node or a Sentinel runs with.

No pulumi import: the tests render these for loopback addresses and run them on real redis-server,
redis-sentinel and redis-cli. Passwords are never rendered: the entrypoints read them at boot from
mounted secret files (DESIGN principle 3), so configs and scripts can live in a ConfigMap.
"""

from __future__ import annotations

from importlib import resources

from components.settings import Settings
from components.topology import REDIS_PORT, SENTINEL_PORT, Topology

# Where things live inside a container or pod (the scripts accept FESTIVAL_*_DIR overrides for tests).
CONF_DIR = "/etc/festival"
SECRETS_DIR = "/etc/festival-secrets"
DATA_DIR = "/data"
REDIS_PASSWORD_KEY = "redis-password"
SENTINEL_PASSWORD_KEY = "sentinel-password"

# Commands disabled on every node (seed: "rename dangerous commands").
DISABLED_COMMANDS = ("FLUSHDB", "FLUSHALL", "DEBUG", "KEYS")
CLI_TIMEOUT_SECONDS = 2
# How long prestop.sh waits for the Sentinels to promote a replica before the master stops anyway.
PRESTOP_WAIT_SECONDS = 20
# check-job.sh: how long it re-checks until healthy (new Sentinels need a few 10 s INFO periods to discover
# every replica), and how long a canary write may take to reach every replica.
CHECK_SETTLE_SECONDS = 90
CANARY_TIMEOUT_SECONDS = 2


def redis_conf(settings: Settings) -> str:
    """The static part of every Redis node's config; redis-entrypoint.sh adds identity, role and secrets."""
    save = " ".join(f"{seconds} {changes}" for seconds, changes in settings.save_point_pairs) or '""'
    lines = [
        f"# festival-redis: Redis node of {settings.master_name}. redis-entrypoint.sh appends port, bind,",
        "# dir, replica-announce-ip/port, requirepass, masterauth and replicaof at boot.",
        "daemonize no",
        'logfile ""',
        f"maxmemory {settings.maxmemory}",
        f"maxmemory-policy {settings.maxmemory_policy}",
        f"maxclients {settings.maxclients}",
        f"appendonly {'yes' if settings.appendonly else 'no'}",
        f"appendfsync {settings.appendfsync}",
        f"save {save}",
        "replica-read-only yes",
        "replica-serve-stale-data yes",
        # Start a full resync at once: the default 5 s wait (to batch replicas) gains nothing with parallel-syncs,
        # and a new master that must resync its only replica refuses writes (min-replicas-to-write) meanwhile.
        "repl-diskless-sync-delay 0",
        f"min-replicas-to-write {settings.min_replicas_to_write}",
        f"min-replicas-max-lag {settings.min_replicas_max_lag}",
        *(f'rename-command {command} ""' for command in DISABLED_COMMANDS),
    ]
    return "\n".join(lines) + "\n"


def sentinel_conf(settings: Settings) -> str:
    """Sentinel's config; sentinel-entrypoint.sh fills @MASTER_HOST@/@MASTER_PORT@ and appends identity and secrets."""
    name = settings.master_name
    lines = [
        f"# festival-redis: Sentinel of {name}. sentinel-entrypoint.sh fills in the master it finds and",
        "# appends port, bind, dir, announce-ip/port, requirepass, sentinel-pass, auth-pass and myid at boot.",
        # Before the monitor line: the master is named by its stable hostname, never by a container IP.
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
        "sentinel deny-scripts-reconfig yes",
        f"sentinel monitor {name} @MASTER_HOST@ @MASTER_PORT@ {settings.quorum}",
        f"sentinel down-after-milliseconds {name} {settings.down_after_milliseconds}",
        f"sentinel failover-timeout {name} {settings.failover_timeout}",
        f"sentinel parallel-syncs {name} {settings.parallel_syncs}",
        # A master that restarts (say, with an empty volume) is held down, so a replica gets promoted.
        f"sentinel master-reboot-down-after-period {name} {settings.down_after_milliseconds}",
    ]
    return "\n".join(lines) + "\n"


def script(
    name: str, settings: Settings, topology: Topology, default_port: int, extra: dict[str, str] | None = None
) -> str:
    """A POSIX sh script: the deployment's constants (plus `extra`), then lib.sh, then the script's own body."""
    constants = {
        "SCRIPT": name,
        "MASTER_NAME": settings.master_name,
        "SENTINELS": " ".join(str(node.address) for node in topology.sentinels),
        "BOOTSTRAP_MASTER": str(topology.master.address),
        "ROLE_WAIT_SECONDS": str(settings.role_wait_seconds),
        "CLI_TIMEOUT": str(CLI_TIMEOUT_SECONDS),
        "DEFAULT_PORT": str(default_port),
        "PRESTOP_WAIT_SECONDS": str(PRESTOP_WAIT_SECONDS),
        **(extra or {}),
    }
    header = ["#!/bin/sh", f"# {name}: rendered by festival-redis; do not edit.", "set -eu"]
    header += [f"{key}='{value}'" for key, value in constants.items()]
    return "\n".join(header) + "\n\n" + _body("lib.sh") + "\n" + _body(name)


def redis_files(settings: Settings, topology: Topology) -> dict[str, str]:
    """Every file a Redis node mounts under CONF_DIR, by file name."""
    return {
        "redis.conf": redis_conf(settings),
        "redis-entrypoint.sh": script("redis-entrypoint.sh", settings, topology, REDIS_PORT),
        "probe.sh": script("probe.sh", settings, topology, REDIS_PORT),
        "prestop.sh": script("prestop.sh", settings, topology, REDIS_PORT),
    }


def sentinel_files(settings: Settings, topology: Topology) -> dict[str, str]:
    """Every file a Sentinel mounts under CONF_DIR, by file name."""
    return {
        "sentinel.conf": sentinel_conf(settings),
        "sentinel-entrypoint.sh": script("sentinel-entrypoint.sh", settings, topology, SENTINEL_PORT),
        "probe.sh": script("probe.sh", settings, topology, SENTINEL_PORT),
    }


def check_files(settings: Settings, topology: Topology) -> dict[str, str]:
    """The post-deploy check (components/checks' invariants in sh + redis-cli), run by the in-cluster Job."""
    extra = {
        "REDIS_NODES": " ".join(str(node.address) for node in topology.redis_nodes),
        "MAX_LAG_SECONDS": str(settings.min_replicas_max_lag),
        "CANARY_TIMEOUT": str(CANARY_TIMEOUT_SECONDS),
        "SETTLE_SECONDS": str(CHECK_SETTLE_SECONDS),
    }
    return {"check-job.sh": script("check-job.sh", settings, topology, REDIS_PORT, extra)}


def _body(name: str) -> str:
    return resources.files("components").joinpath("scripts", name).read_text()
