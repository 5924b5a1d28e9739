"""The platform team's hand-written Compose setup (the seed's redis-ha-README.md), on the local Docker engine: what
a move to the dev stack starts from (tests/docker/test_move.py, bench/move.py, docs/migration.md).

As the seed describes it: the containers festival-redis-master, festival-redis-replica-1/2 and
festival-sentinel-1..3 on one Compose network (`redis_default`: Compose's default network of a project in the
seed's `redis/` directory), each reached there by its Compose service name (redis-master, redis-replica-N,
sentinel-N); one named volume per node, `<container>-data`; the seed's Redis values (maxmemory 512mb allkeys-lru,
maxclients 10000, appendonly everysec, save 900 1 / 300 10 / 60 10000) and Sentinel values (quorum 2, down-after
5000, failover-timeout 60000, parallel-syncs 1); one password for every node (requirepass, masterauth, the
Sentinels' auth-pass) and none on the Sentinels. What differs, for the tests: the password is generated (the
seed's hard-coded one is never used), the image is the local festival-local/redis (nothing can be pulled), the
ports are published on free ports of 127.0.0.1 instead of 6379-6381 and 26379, and the Sentinels announce the
service names (`announce-hostnames`) so that a client on the host maps them to those ports (a natMap, as for the
dev stack). Everything carries the label festival-redis.test=<run> and is removed by teardown() alone; a container,
volume or network of the same name without it is never touched (NotOurs).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable

import docker
import redis
from docker.errors import NotFound

from harness.docker_runner import NotOurs, _archive, free_port_run
from harness.engine import LABEL, REDIS_IMAGE, leftovers, remove_labelled
from harness.runtime import wait_until

NETWORK = "redis_default"
MASTER = "festival-redis-master"
REPLICAS = ("festival-redis-replica-1", "festival-redis-replica-2")
SENTINELS = ("festival-sentinel-1", "festival-sentinel-2", "festival-sentinel-3")
SERVICE = {
    MASTER: "redis-master",
    **{name: f"redis-replica-{i}" for i, name in enumerate(REPLICAS, 1)},
    **{name: f"sentinel-{i}" for i, name in enumerate(SENTINELS, 1)},
}
MASTER_NAME = "festival-master"
CONF_DIR = "/etc/seed"
REDIS_USER = "999:999"  # the image's redis user


def volume_name(container: str) -> str:
    return f"{container}-data"


def redis_conf(password: str, replica_of: str | None = None) -> str:
    """redis-master.conf, or redis-replica.conf with the master's service name: the seed's values."""
    lines = [
        "port 6379",
        "dir /data",
        f'requirepass "{password}"',
        f'masterauth "{password}"',
        "maxmemory 512mb",
        "maxmemory-policy allkeys-lru",
        "maxclients 10000",
        "appendonly yes",
        "appendfsync everysec",
        "save 900 1",
        "save 300 10",
        "save 60 10000",
    ]
    if replica_of:
        lines += [f"replicaof {replica_of} 6379", "replica-read-only yes"]
    return "\n".join(lines) + "\n"


def sentinel_conf(password: str) -> str:
    """sentinel.conf: the seed's values, monitoring the master by its service name; no password of its own."""
    return (
        "\n".join(
            [
                "port 26379",
                "dir /data",
                "protected-mode no",
                "sentinel resolve-hostnames yes",
                "sentinel announce-hostnames yes",
                f"sentinel monitor {MASTER_NAME} redis-master 6379 2",
                f'sentinel auth-pass {MASTER_NAME} "{password}"',
                f"sentinel down-after-milliseconds {MASTER_NAME} 5000",
                f"sentinel failover-timeout {MASTER_NAME} 60000",
                f"sentinel parallel-syncs {MASTER_NAME} 1",
            ]
        )
        + "\n"
    )


class SeedSetup:
    """The old setup, not started until start()."""

    def __init__(self, image: str = REDIS_IMAGE):
        self.image = image
        self.password = secrets.token_urlsafe(24)  # a test password: the seed's is never used
        self.run = "seed" + secrets.token_hex(3)
        self.labels = {LABEL: self.run}
        self.engine = docker.from_env(timeout=60)
        redis_port = free_port_run(1 + len(REPLICAS))
        sentinel_port = free_port_run(len(SENTINELS), avoid=set(range(redis_port, redis_port + 10)))
        self.host_ports = {
            **{name: redis_port + i for i, name in enumerate((MASTER, *REPLICAS))},
            **{name: sentinel_port + i for i, name in enumerate(SENTINELS)},
        }

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> None:
        """`docker compose up -d`: the network, the volumes, the nodes, the Sentinels; returns once the replicas
        are linked and every Sentinel knows both replicas and its two peers."""
        for name in (*self.host_ports, NETWORK, *map(volume_name, self.host_ports)):
            self._refuse_existing(name)
        self.engine.networks.create(NETWORK, driver="bridge", labels=self.labels)
        replica_conf = redis_conf(self.password, SERVICE[MASTER])
        for name in (MASTER, *REPLICAS):
            conf = redis_conf(self.password) if name == MASTER else replica_conf
            self._container(name, 6379, ["redis-server", f"{CONF_DIR}/redis.conf"], {"redis.conf": conf})
        start_sentinel = (
            f"[ -f /data/sentinel.conf ] || cp {CONF_DIR}/sentinel.conf /data/sentinel.conf; "
            "exec redis-sentinel /data/sentinel.conf"
        )
        for name in SENTINELS:
            self._container(name, 26379, ["sh", "-c", start_sentinel], {"sentinel.conf": sentinel_conf(self.password)})
        wait_until(self._settled, timeout, interval=0.5, what="the old setup's replicas and Sentinels to settle")

    def _settled(self) -> bool:
        try:
            if self.client(MASTER).info("replication")["connected_slaves"] != len(REPLICAS):
                return False
            for name in SENTINELS:
                master = self.sentinel(name).sentinel_master(MASTER_NAME)
                if int(master["num-slaves"]) != len(REPLICAS) or int(master["num-other-sentinels"]) != 2:
                    return False
            return True
        except (redis.RedisError, OSError):
            return False

    def _container(self, name: str, port: int, command: list[str], files: dict[str, str]) -> None:
        self.engine.volumes.create(volume_name(name), labels=self.labels)
        api = self.engine.api
        created = api.create_container(
            image=self.image,
            name=name,
            hostname=SERVICE[name],
            user=REDIS_USER,
            entrypoint=command,
            labels=self.labels,
            ports=[(port, "tcp")],
            host_config=api.create_host_config(
                binds={volume_name(name): {"bind": "/data", "mode": "rw"}},
                port_bindings={f"{port}/tcp": ("127.0.0.1", self.host_ports[name])},
                restart_policy={"Name": "unless-stopped"},
            ),
            networking_config=api.create_networking_config(
                {NETWORK: api.create_endpoint_config(aliases=[SERVICE[name]])}
            ),
            detach=True,
        )
        for file, content in files.items():
            api.put_archive(
                created["Id"], "/", _archive({"file": f"{CONF_DIR}/{file}", "content": content, "owner": 999})
            )
        api.start(created["Id"])

    def _refuse_existing(self, name: str) -> None:
        for kind in (self.engine.containers, self.engine.volumes, self.engine.networks):
            try:
                found = kind.get(name)
            except NotFound:
                continue
            owner = (found.attrs.get("Labels") or found.attrs.get("Config", {}).get("Labels") or {}).get(LABEL)
            raise NotOurs(f"{name} exists already ({'created by ' + owner if owner else 'not created by us'})")

    def down(self) -> None:
        """`docker compose down`: the containers removed, the network too; the volumes kept."""
        for name in (*SENTINELS, *REPLICAS, MASTER):
            try:
                self.engine.containers.get(name).remove(force=True)
            except NotFound:
                pass
        self.engine.networks.get(NETWORK).remove()

    def teardown(self) -> None:
        """Everything this run created (`docker compose down -v`), whatever state it is in."""
        remove_labelled(self.engine, self.run)

    def leftovers(self) -> list[str]:
        return leftovers(self.engine, self.run)

    # --- the path from the new stack -------------------------------------------------------------------------
    def connect(self, container: str) -> None:
        """Attach another container (the new master) to the old setup's network, where it reaches redis-master."""
        self.engine.networks.get(NETWORK).connect(container)

    def disconnect(self, container: str) -> None:
        self.engine.networks.get(NETWORK).disconnect(container)

    # --- clients --------------------------------------------------------------------------------------------
    def client(self, name: str, **kwargs) -> redis.Redis:
        """A node through its published port, with the one password (no user name: the `default` user)."""
        options = dict(password=self.password, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)
        return redis.Redis(host="127.0.0.1", port=self.host_ports[name], **{**options, **kwargs})

    def sentinel(self, name: str) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.host_ports[name], socket_timeout=2, decode_responses=True)

    def nat_map(self) -> dict[str, dict]:
        """The service names the Sentinels announce -> the published ports."""
        return {
            f"{SERVICE[name]}:{26379 if name in SENTINELS else 6379}": {"host": "127.0.0.1", "port": port}
            for name, port in self.host_ports.items()
        }

    def client_settings(self) -> dict:
        """What an application of the old setup connects with (harness.writer.Writer's arguments): the Sentinels,
        the master set, the one password and no user names, nothing for the Sentinels."""
        return dict(
            sentinels=[("127.0.0.1", self.host_ports[name]) for name in SENTINELS],
            master_name=MASTER_NAME,
            redis_password=self.password,
            sentinel_password=None,
            nat_map=self.nat_map(),
            username=None,
            sentinel_username=None,
        )


# --- the data the applications keep there --------------------------------------------------------------------
def write_dataset(client: redis.Redis, sessions: int, cache: int, ttl: int = 3600) -> None:
    """Login sessions (hashes) and cache entries (strings), both expiring, and one key of each other type."""
    pipe = client.pipeline(transaction=False)
    for n in range(sessions):
        pipe.hset(f"sess:{n}", mapping={"user": f"user-{n}", "roles": "fan", "since": str(time.time())})
        pipe.expire(f"sess:{n}", ttl)
    for n in range(cache):
        pipe.set(f"cache:{n}", "v" * 200, ex=ttl)
    pipe.rpush("queue:mail", *[f"job-{n}" for n in range(100)])
    pipe.sadd("online", *[f"user-{n}" for n in range(100)])
    pipe.zadd("leaderboard", {f"user-{n}": n for n in range(100)})
    pipe.xadd("events", {"kind": "login", "user": "user-1"})
    pipe.execute()


def dataset(client: redis.Redis, keys: Iterable[str] | None = None) -> dict[str, tuple]:
    """Each of `keys` that exists (default: every key): its type, its value read by type, and whether it expires."""
    readers = {
        "string": client.get,
        "hash": client.hgetall,
        "list": lambda key: client.lrange(key, 0, -1),
        "set": lambda key: sorted(client.smembers(key)),
        "zset": lambda key: client.zrange(key, 0, -1, withscores=True),
        "stream": lambda key: [fields for _, fields in client.xrange(key)],
    }
    found = {}
    for key in client.scan_iter(count=1000) if keys is None else keys:
        kind = client.type(key)
        if kind != "none":
            found[key] = (kind, readers[kind](key), client.pttl(key) > 0)
    return found
