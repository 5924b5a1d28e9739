"""Who may do what: one ACL user per role on the Redis nodes and on the Sentinels, each with its own password.

The `default` user is off everywhere. Rules name commands by their original names (ACL rules ignore renames); the
reasons for each rule are in docs/security.md, which also says what no rule can prevent. Every user's password
is a secret of its own (components/credentials.py) stored under `key` (a file in the pods' and containers'
secrets directory, a key of a Kubernetes Secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    name: str
    key: str  # where its password is kept
    rules: str  # ACL rules after `on` and the password
    server: str  # "redis" or "sentinel"
    facing: str  # "app": given to application stacks; "internal": the deployment's own


# Data commands for applications. -@dangerous removes FLUSHALL, FLUSHDB, DEBUG, KEYS, CONFIG, SHUTDOWN,
# REPLICAOF, MONITOR, ACL changes ...; INFO and ROLE come back because client libraries' ready checks send them
# (ioredis: INFO; both redis-py and ioredis may ask ROLE). SCRIPT FLUSH and FUNCTION FLUSH are not in @dangerous.
APP_RULES = "~* &* +@all -@dangerous +info +role -script|flush -function|flush"
# Without allowScripting: no Lua (EVAL*, SCRIPT, FUNCTION, FCALL*), the surface of CVE-2025-49844 and its kin.
NO_SCRIPTING = "-@scripting"
# What a replica sends its master.
REPLICATION_RULES = "-@all +psync +replconf +ping"
# What Sentinel sends a node, its failover transaction included (MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL,
# EXEC: one refused command aborts the whole promotion), on the hello channel only.
SENTINEL_ON_REDIS_RULES = (
    "-@all &__sentinel__:hello +multi +exec +slaveof +config|rewrite +client|setname +client|kill "
    "+ping +info +publish +subscribe +script|kill"
)
# What redis_exporter sends in a default scrape (CONFIG GET * included: it can read masterauth, docs/security.md).
EXPORTER_RULES = (
    "-@all +ping +info +config|get +slowlog|get +slowlog|len +latency|latest +latency|histogram "
    "+client|list +client|setname +client|info +select +dbsize +cluster|info"
)
ADMIN_RULES = "~* &* +@all"
# Sentinel for applications: discovery as redis-py (SENTINEL MASTERS, SLAVES) and ioredis do it, and the
# +switch-master notifications some clients subscribe to.
SENTINEL_CLIENT_RULES = (
    "-@all +auth +hello +ping +role +command +client|getname +client|id +client|setname "
    "+sentinel|get-master-addr-by-name +sentinel|master +sentinel|masters +sentinel|myid +sentinel|replicas "
    "+sentinel|slaves +sentinel|sentinels +subscribe &+switch-master"
)
# What a Sentinel sends its peers.
SENTINEL_PEER_RULES = "-@all &__sentinel__:hello +ping +publish +client|setname +sentinel|is-master-down-by-addr"
SENTINEL_ADMIN_RULES = "allchannels +@all"
# What redis_exporter sends a Sentinel (Sentinel has no CONFIG: naming it would stop the Sentinel from starting).
SENTINEL_EXPORTER_RULES = (
    "-@all +ping +info +client|setname +sentinel|masters +sentinel|master +sentinel|sentinels +sentinel|slaves "
    "+sentinel|replicas +sentinel|ckquorum"
)

APP = User("app", "redis-password", APP_RULES, "redis", "app")
ADMIN = User("admin", "redis-admin-password", ADMIN_RULES, "redis", "internal")
REPLICATION = User("replication", "redis-replication-password", REPLICATION_RULES, "redis", "internal")
SENTINEL = User("sentinel", "redis-sentinel-password", SENTINEL_ON_REDIS_RULES, "redis", "internal")
EXPORTER = User("exporter", "redis-exporter-password", EXPORTER_RULES, "redis", "internal")
SENTINEL_CLIENT = User("client", "sentinel-password", SENTINEL_CLIENT_RULES, "sentinel", "app")
SENTINEL_PEER = User("peer", "sentinel-peer-password", SENTINEL_PEER_RULES, "sentinel", "internal")
SENTINEL_ADMIN = User("admin", "sentinel-admin-password", SENTINEL_ADMIN_RULES, "sentinel", "internal")
SENTINEL_EXPORTER = User("exporter", "sentinel-exporter-password", SENTINEL_EXPORTER_RULES, "sentinel", "internal")

REDIS_USERS = (APP, ADMIN, REPLICATION, SENTINEL, EXPORTER)
SENTINEL_USERS = (SENTINEL_CLIENT, SENTINEL_PEER, SENTINEL_ADMIN, SENTINEL_EXPORTER)
USERS = (*REDIS_USERS, *SENTINEL_USERS)


def rules(user: User, allow_scripting: bool) -> str:
    if user is APP and not allow_scripting:
        return f"{user.rules} {NO_SCRIPTING}"
    return user.rules


def users_file(server: str, allow_scripting: bool) -> str:
    """The users of `server` ("redis" or "sentinel"), one per line: NAME KEY RULES. The entrypoints turn each line
    into `user NAME on #<SHA-256 of the password in KEY> RULES`, after `user default off`."""
    chosen = REDIS_USERS if server == "redis" else SENTINEL_USERS
    return "".join(f"{user.name} {user.key} {rules(user, allow_scripting)}\n" for user in chosen)


def exporter_password_entries(url: str, password: str) -> dict[str, str]:
    """redis_exporter's --redis.password-file entries for the node it scrapes at `url`: up to 1.62 it looks the URL up
    as given, later ones with its user in it, `redis://exporter@host:port` (exporter/redis.go
    lookupPasswordInPasswordMap, v1.69.0); without a match it sends no password at all (NOAUTH). Both, so that any
    exporterImage logs in."""
    scheme, address = url.split("://", 1)
    return {url: password, f"{scheme}://{EXPORTER.name}@{address}": password}


def password_name(name: str, key: str, generation: int) -> str:
    """The RandomPassword of one generation of a key's password: generation 1 keeps the name it had before there
    were generations (`<name>-<key>`: deployed stacks keep their passwords), a later one is `<name>-<key>-gen<N>`."""
    return f"{name}-{key}" if generation == 1 else f"{name}-{key}-gen{generation}"


def current_password_name(name: str, key: str, generations: Mapping[str, tuple[int, ...]]) -> str:
    """The RandomPassword of a key's current password: the highest generation listed, 1 when not listed."""
    return password_name(name, key, max(generations.get(key, (1,))))
