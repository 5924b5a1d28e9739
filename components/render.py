"""Pure renderers: Settings + Topology -> the text of every file a Redis node or a Sentinel runs with.

No pulumi import: the tests render these for loopback addresses and run them on real redis-server,
redis-sentinel and redis-cli. Passwords are never rendered: the entrypoints read them at boot from
mounted secret files, so configs and scripts can live in a ConfigMap (docs/development.md#how-it-is-built).

`python -m components.render ROLE SCRIPT` prints a script as a node of ROLE runs it (main).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from components import passwords, tls, users
from components.checks import invariants
from components.settings import Settings, SettingsError
from components.topology import REDIS_PORT, SENTINEL_PORT, Topology, topology_for

# Where things live inside a container or pod (the scripts accept FESTIVAL_*_DIR overrides for tests).
CONF_DIR = "/etc/festival"
SECRETS_DIR = "/etc/festival-secrets"
DATA_DIR = "/data"
# Who the nodes run as, on both platforms: the official redis image's `redis` user (uid and gid), not root.
REDIS_UID = 999
REDIS_PASSWORD_KEY = users.APP.key
SENTINEL_PASSWORD_KEY = users.SENTINEL_CLIENT.key
USERS_FILE = "users"  # a node's users, one per line (users.users_file), turned into `user` lines at boot

CLI_TIMEOUT_SECONDS = 2
# Shortest master-reboot-down-after-period rendered (ms): 3 of Sentinel's PING periods (sentinel_conf).
REBOOT_FLOOR_MS = 3000
# How often a replica checks that it replicates from the master the Sentinels name (redis-entrypoint.sh's watcher).
REPLICA_CHECK_SECONDS = 5
# How long prestop.sh waits for the Sentinels to promote a replica before the master stops anyway.
PRESTOP_WAIT_SECONDS = 20
# Of which at most this long for every replica to be linked, before writes pause (prestop.sh says why).
PRESTOP_SYNC_SECONDS = 10
# And at most this long for the replicas to catch up with the master's last write (however slow their answers).
PRESTOP_CATCHUP_SECONDS = 5
# The longest prestop.sh can take, each question to a node bounded by CLI_TIMEOUT: no waiting loop asks anything after
# PRESTOP_WAIT_SECONDS, but one question may be under way then, and at most four of the hand-over's own steps follow
# (a linked replica confirmed, CLIENT PAUSE, the offset, CLIENT UNPAUSE; or REPLICAOF, CONFIG REWRITE, CLIENT UNPAUSE).
PRESTOP_MAX_SECONDS = PRESTOP_WAIT_SECONDS + 5 * CLI_TIMEOUT_SECONDS
# How long a Redis node may take to stop: prestop.sh at its longest plus a clean shutdown (an RDB save of maxmemory).
# The Kubernetes grace period and Docker's stop timeout.
REDIS_STOP_GRACE_SECONDS = PRESTOP_WAIT_SECONDS + 40
SENTINEL_STOP_GRACE_SECONDS = 30
# A Sentinel resets itself (SENTINEL RESET) to forget a removed replica or peer in its own turn (sentinel-entrypoint
# .sh): the Sentinels take turns of RESET_WINDOW + RESET_SPACING seconds by their index among the declared Sentinels,
# and a reset is sent only if it ends within its turn's first RESET_WINDOW seconds, so two Sentinels never reset within
# RESET_SPACING seconds of each other (the Sentinel docs ask for 30 s). The window holds the whole decision: its
# RESET_ASKS questions (SENTINEL MASTER, REPLICAS, SENTINELS, then RESET), each bounded by CLI_TIMEOUT, and one more
# CLI_TIMEOUT for waking up and the shell's own work, so that slow commands cannot starve the reset. The spacing
# can be shortened through FESTIVAL_RESET_SPACING_SECONDS in the environment (tests only).
SENTINEL_RESET_SPACING_SECONDS = 30
SENTINEL_RESET_ASKS = 4
SENTINEL_RESET_WINDOW_SECONDS = (SENTINEL_RESET_ASKS + 1) * CLI_TIMEOUT_SECONDS


def sentinel_reset_cycle_seconds(sentinel_count: int, spacing: int = SENTINEL_RESET_SPACING_SECONDS) -> int:
    """How often each Sentinel gets a turn to reset itself: every Sentinel's turn, one after the other."""
    return sentinel_count * (SENTINEL_RESET_WINDOW_SECONDS + spacing)


PATH_VARIABLES = {
    "CONF_DIR": f"${{FESTIVAL_CONF_DIR:-{CONF_DIR}}}",
    "SECRETS_DIR": f"${{FESTIVAL_SECRETS_DIR:-{SECRETS_DIR}}}",
    "DATA_DIR": f"${{FESTIVAL_DATA_DIR:-{DATA_DIR}}}",
}


@dataclass(frozen=True)
class DeploymentFiles:
    """Every rendered file of a deployment, by who mounts it: file name -> text."""

    redis: Mapping[str, str]
    sentinel: Mapping[str, str]
    check: Mapping[str, str]

    def for_role(self, role: str) -> Mapping[str, str]:
        return {"master": self.redis, "replica": self.redis, "sentinel": self.sentinel, "check": self.check}[role]


def redis_conf(settings: Settings) -> str:
    """The static part of every Redis node's config; redis-entrypoint.sh adds identity, role and secrets."""
    save = " ".join(f"{seconds} {changes}" for seconds, changes in settings.save_point_pairs) or '""'
    lines = [
        f"# festival-redis: Redis node of {settings.master_name}. redis-entrypoint.sh appends port, bind,",
        "# dir, replica-announce-ip/port, the users (default off), masteruser/masterauth and replicaof at boot.",
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
        # DEBUG for the admin user (the runbook), from the node itself only (docker/kubectl exec); ACL rules decide
        # who, this decides from where.
        "enable-debug-command local",
        *_tls_lines(settings),
    ]
    return "\n".join(lines) + "\n"


def _tls_lines(settings: Settings) -> list[str]:
    """With TLS on, the lines every node and Sentinel shares; the entrypoints add `port 0`, `tls-port` and the
    certificate files (lib.sh listen_lines)."""
    if not settings.tls_enabled:
        return []
    return [
        # Replicas link to their master, and Sentinels to nodes and to each other, over TLS.
        "tls-replication yes",
        # Clients log in with passwords; a certificate, when presented (replicas, Sentinels), must be the CA's.
        "tls-auth-clients optional",
        'tls-protocols "TLSv1.2 TLSv1.3"',
    ]


def sentinel_conf(settings: Settings) -> str:
    """Sentinel's config; sentinel-entrypoint.sh fills @MASTER_HOST@/@MASTER_PORT@ and appends identity and secrets."""
    name = settings.master_name
    lines = [
        f"# festival-redis: Sentinel of {name}. sentinel-entrypoint.sh fills in the master it finds and",
        "# appends port, bind, dir, announce-ip/port, the users (default off), sentinel-user/pass, auth-user/pass",
        "# and what it knew (myid, epoch, peers, replicas) at boot.",
        # Before the monitor line: the master is named by its stable hostname, never by a container IP.
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
        "sentinel deny-scripts-reconfig yes",
        f"sentinel monitor {name} @MASTER_HOST@ @MASTER_PORT@ {settings.quorum}",
        f"sentinel down-after-milliseconds {name} {settings.down_after_milliseconds}",
        f"sentinel failover-timeout {name} {settings.failover_timeout}",
        f"sentinel parallel-syncs {name} {settings.parallel_syncs}",
        # A master that restarts (say, with an empty volume) is held down, so a replica gets promoted. Never for
        # less than a few of Sentinel's once-a-second PINGs, whose first PONG clears the mark (a LOADING answer
        # does not): shorter, Sentinel fails over a master that restarted at once with its data and is serving,
        # and the writes it acknowledges between the promotion and its demotion are lost (docs/clients.md).
        f"sentinel master-reboot-down-after-period {name} {max(settings.down_after_milliseconds, REBOOT_FLOOR_MS)}",
        *_tls_lines(settings),
    ]
    return "\n".join(lines) + "\n"


def script_variables(name: str, settings: Settings, topology: Topology, default_port: int) -> dict[str, str]:
    """Every variable a script may use, as sh expressions: quoted literals, or ${FESTIVAL_*:-default} for what
    comes from the environment (a node's identity, so one rendering serves every pod of a StatefulSet)."""

    def literal(value: object) -> str:
        return f"'{value}'"

    return {
        "SCRIPT": literal(name),
        **PATH_VARIABLES,
        # Festival's own scripts log in as the admin users (probes, preStop, the watcher, the check Job).
        "ADMIN_USER": literal(users.ADMIN.name),
        "REDIS_SECRET": literal(users.ADMIN.key),
        "SENTINEL_SECRET": literal(users.SENTINEL_ADMIN.key),
        "USERS_FILE": literal(USERS_FILE),
        "REPLICATION_USER": literal(users.REPLICATION.name),
        "REPLICATION_SECRET": literal(users.REPLICATION.key),
        "MONITOR_USER": literal(users.SENTINEL.name),
        "MONITOR_SECRET": literal(users.SENTINEL.key),
        "PEER_USER": literal(users.SENTINEL_PEER.name),
        "PEER_SECRET": literal(users.SENTINEL_PEER.key),
        "CLI_TIMEOUT": literal(CLI_TIMEOUT_SECONDS),
        "SERVER": literal("sentinel" if default_port == SENTINEL_PORT else "redis"),
        "PASSWORD_KEYS": literal(" ".join(passwords.KEYS)),
        "FINGERPRINT_LENGTH": literal(passwords.FINGERPRINT_LENGTH),
        "TLS": literal("yes" if settings.tls_enabled else "no"),
        # redis-cli's options for the deployment's own connections: TLS, verifying the servers with the CA.
        "CLI_TLS": f'"--tls --cacert $SECRETS_DIR/{tls.CA_FILE}"' if settings.tls_enabled else "''",
        "CA_FILE": literal(tls.CA_FILE),
        "MASTER_NAME": literal(settings.master_name),
        "SENTINELS": literal(" ".join(str(node.address) for node in topology.sentinels)),
        "BOOTSTRAP_MASTER": literal(topology.master.address),
        "ROLE_WAIT_SECONDS": literal(settings.role_wait_seconds),
        "DNS_WAIT_SECONDS": literal(settings.dns_wait_seconds),
        "PRESTOP_WAIT_SECONDS": literal(PRESTOP_WAIT_SECONDS),
        "PRESTOP_SYNC_SECONDS": literal(PRESTOP_SYNC_SECONDS),
        "PRESTOP_CATCHUP_SECONDS": literal(PRESTOP_CATCHUP_SECONDS),
        "REPLICA_CHECK_SECONDS": literal(REPLICA_CHECK_SECONDS),
        "RESET_SPACING_SECONDS": f"${{FESTIVAL_RESET_SPACING_SECONDS:-{SENTINEL_RESET_SPACING_SECONDS}}}",
        "RESET_WINDOW_SECONDS": literal(SENTINEL_RESET_WINDOW_SECONDS),
        "NODE_HOST": "${FESTIVAL_NODE_HOST:-$(hostname)}",
        "NODE_PORT": f"${{FESTIVAL_NODE_PORT:-{default_port}}}",
        "BIND_ADDRESS": "${FESTIVAL_BIND_ADDRESS:-* -::*}",
        "ME": '"$NODE_HOST:$NODE_PORT"',
        # With TLS: this node's certificate and key, named after the host name it announces.
        "TLS_CERT": f'"$SECRETS_DIR/{tls.cert_file("$NODE_HOST")}"',
        "TLS_KEY": f'"$SECRETS_DIR/{tls.key_file("$NODE_HOST")}"',
        "REDIS_NODES": literal(" ".join(str(node.address) for node in topology.redis_nodes)),
        "MAX_LAG_SECONDS": literal(settings.min_replicas_max_lag),
        "CANARY_TIMEOUT": literal(invariants.CANARY_TIMEOUT_SECONDS),
        "SETTLE_SECONDS": literal(invariants.SETTLE_SECONDS),
    }


# The first line of every script in components/scripts but lib.sh: how it is assembled. Not rendered.
SOURCE_HEADER = (
    "# Rendered by components/render.py, which prepends #!/bin/sh, set -eu, the variables and the lib.sh functions "
    "used here."
)


def script(name: str, settings: Settings, topology: Topology, default_port: int) -> str:
    """A POSIX sh script: the variables it uses, the lib.sh functions it calls, then the script's own body."""
    body = _body(name).removeprefix(SOURCE_HEADER + "\n")
    code = _lib_functions_used_by(body) + body
    variables = script_variables(name, settings, topology, default_port)
    used = _referenced(code, variables)
    header = ["#!/bin/sh", f"# {name}: rendered by festival-redis; do not edit.", "set -eu"]
    header += [f"{key}={value}" for key, value in variables.items() if key in used]
    return "\n".join(header) + "\n\n" + code


REDIS_SCRIPTS = ("redis-entrypoint.sh", "probe.sh", "prestop.sh", passwords.SCRIPT)


def redis_files(settings: Settings, topology: Topology) -> dict[str, str]:
    """Every file a Redis node mounts under CONF_DIR, by file name."""
    return {
        "redis.conf": redis_conf(settings),
        USERS_FILE: users.users_file("redis", settings.allow_scripting),
        **{name: script(name, settings, topology, REDIS_PORT) for name in REDIS_SCRIPTS},
    }


def sentinel_files(settings: Settings, topology: Topology) -> dict[str, str]:
    """Every file a Sentinel mounts under CONF_DIR, by file name."""
    return {
        "sentinel.conf": sentinel_conf(settings),
        USERS_FILE: users.users_file("sentinel", settings.allow_scripting),
        "sentinel-entrypoint.sh": script("sentinel-entrypoint.sh", settings, topology, SENTINEL_PORT),
        "probe.sh": script("probe.sh", settings, topology, SENTINEL_PORT),
        passwords.SCRIPT: script(passwords.SCRIPT, settings, topology, SENTINEL_PORT),
    }


def check_files(settings: Settings, topology: Topology) -> dict[str, str]:
    """The post-deploy check (components/checks' invariants in sh + redis-cli), run by the in-cluster Job."""
    return {"check-job.sh": script("check-job.sh", settings, topology, REDIS_PORT)}


def deployment_files(settings: Settings, topology: Topology) -> DeploymentFiles:
    return DeploymentFiles(
        redis=redis_files(settings, topology),
        sentinel=sentinel_files(settings, topology),
        check=check_files(settings, topology),
    )


def _body(name: str) -> str:
    return resources.files("components").joinpath("scripts", name).read_text()


def _referenced(code: str, variables: dict[str, str]) -> set[str]:
    """The variables `code` reads ($NAME, ${NAME...}, or NAME in an arithmetic expansion $((...)), where sh reads an
    unset one as 0), and those their values read."""
    used: set[str] = set()
    pending = [code]
    while pending:
        text = pending.pop()
        arithmetic = " ".join(re.findall(r"\$\(\((.*?)\)\)", text))
        for name in variables:
            if name not in used and (
                re.search(rf"\$\{{?{name}(?![A-Z_])", text) or re.search(rf"\b{name}\b", arithmetic)
            ):
                used.add(name)
                pending.append(variables[name])
    return used


def _lib_functions() -> dict[str, str]:
    """lib.sh's functions by name, each with the comment above it (blocks are separated by blank lines)."""
    blocks = _body("lib.sh").split("\n\n")[1:]  # the first block describes the file
    return {re.search(r"^([a-z_]+)\(\) \{", block, re.M).group(1): block.strip() + "\n" for block in blocks}


def _lib_functions_used_by(body: str) -> str:
    """The lib.sh functions `body` calls, and those they call, in lib.sh's order, so a script carries no dead code."""
    functions = _lib_functions()
    used: set[str] = set()
    pending = [body]
    while pending:
        text = pending.pop()
        for name, block in functions.items():
            if name not in used and re.search(rf"(^|[^a-z_-]){name}($|[^a-z_-])", text, re.M):
                used.add(name)
                pending.append(block)
    return "".join(block + "\n" for name, block in functions.items() if name in used)


RENDERED_ROLES = ("master", "replica", "sentinel", "check")  # DeploymentFiles.for_role; check: the check Job


def main(argv: list[str] | None = None) -> int:
    """python -m components.render ROLE SCRIPT [--config KEY=VALUE ...]: print the script as rendered."""
    parser = argparse.ArgumentParser(
        prog="python -m components.render",
        description="Print SCRIPT as a node of ROLE runs it (check: the Kubernetes check Job's), rendered with the "
        "default settings (the dev stack's) unless --config says otherwise.",
    )
    parser.add_argument("role", metavar="ROLE", help=", ".join(RENDERED_ROLES))
    parser.add_argument("script", metavar="SCRIPT", help="a script's file name, e.g. redis-entrypoint.sh")
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a stack setting as in Pulumi.yaml (repeat), e.g. --config platform=kubernetes --config kubeContext=ctx",
    )
    args = parser.parse_args(argv)
    if args.role not in RENDERED_ROLES:
        parser.error(f"ROLE {args.role!r}: not a role; roles: {', '.join(RENDERED_ROLES)}")
    values = {}
    for pair in args.config:
        key, sep, value = pair.partition("=")
        if not sep:
            parser.error(f"--config {pair!r}: expected KEY=VALUE")
        values[key] = value
    try:
        settings = Settings.from_config(values)
    except SettingsError as error:
        parser.error(str(error))
    files = deployment_files(settings, topology_for(settings)).for_role(args.role)
    scripts = sorted(name for name in files if name.endswith(".sh"))
    if args.script not in scripts:
        parser.error(f"SCRIPT {args.script!r}: not a script a {args.role} runs; its scripts: {', '.join(scripts)}")
    sys.stdout.write(files[args.script])
    return 0


if __name__ == "__main__":
    sys.exit(main())
