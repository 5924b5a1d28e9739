"""Writers that count acknowledged writes the way applications see them, for fault tests and bench/.

A Writer runs, through redis-py's Sentinel support configured exactly as docs/clients.md recommends
(`sentinel_client`, `master_client`), several threads that share one client (as a web application's request
handlers do) and write w:<n> = n with no WAIT: a write counts as acknowledged when the server answered OK.
With `wait_replicas`, a second stream of threads (its own client) writes r:<n> = n and counts a write only once
`WAIT <wait_replicas>` confirmed it: what a client that waits for replication gets. After a fault, lost() /
lost_replicated() say which acknowledged writes the current master no longer has, and longest_gap() /
longest_replicated_gap() how long writes were failing.
"""

from __future__ import annotations

import itertools
import threading
import time

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError, ResponseError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection, SentinelManagedSSLConnection

from components import users

RETRY_PAUSE = 0.02  # seconds between attempts while the master is unreachable
WRITE_PAUSE = 0.005  # seconds between two writes of one thread
THREADS = 4  # writes in flight at once, per stream
WAIT_TIMEOUT_MS = 1000
# Seconds between two acknowledged writes that count as an outage (normal: a few ms; 0.1-0.26 s when the 2 cores
# are loaded; a write failing over takes at least the 0.5 s socket timeout).
OUTAGE_GAP = 0.3
# The target write pause of a planned hand-over (a median over runs, on an idle machine), which bench/ measures.
TARGET_PLANNED_GAP = 1.5  # seconds
# A crashed master (SIGKILL, a lost container) takes with it the writes it acknowledged in its last instant and had
# not yet replicated, and a failover may promote the replica that had not yet received some WAIT-confirmed ones
# (Sentinel chooses by offsets refreshed once a second): Redis' replication is asynchronous. The crash tests allow
# losses among the writes acknowledged this long before the crash, and none older (docs/clients.md).
CRASH_WINDOW = 1.0

# The recommended redis-py settings (docs/clients.md, "redis-py"); the reason for each is written there.
SOCKET_TIMEOUT = 0.5  # seconds: a stalled (paused, partitioned) master is left after this
SENTINEL_TIMEOUT = 0.5  # seconds: a dead or stalled Sentinel costs at most this; the next one is asked
RETRIES = 3  # per command, each on a fresh connection to the master the Sentinels name then
BACKOFF = dict(cap=0.5, base=0.05)  # seconds: 0.05, 0.1, 0.2 between the retries


class FollowingConnection(SentinelManagedConnection):
    """Leaves a master that refuses writes because it lost its replicas (NOREPLICAS): it has most likely been
    replaced and not yet demoted. redis-py already does this for READONLY (a demoted master). The error
    becomes a ConnectionError, so the connection is closed and the command retried on the master the
    Sentinels name now."""

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except ResponseError as error:
            if self.connection_pool.is_master and str(error).startswith("NOREPLICAS"):
                self.disconnect()
                raise ConnectionError(f"the master refuses writes ({error}); asking the Sentinels again") from error
            raise


class FollowingSSLConnection(FollowingConnection, SentinelManagedSSLConnection):
    """FollowingConnection over TLS."""


class NatSentinel(Sentinel):
    """Maps the announced (in-network) addresses the Sentinels return to reachable ones (the dev stack's natMap
    output: announced host:port -> {host, port} published on 127.0.0.1), as docs/clients.md shows."""

    def __init__(self, sentinels, nat_map: dict[str, dict], **kwargs):
        super().__init__(sentinels, **kwargs)
        self.nat_map = nat_map  # kept by reference: an entry added later is seen at once

    def _translate(self, host, port):
        mapped = self.nat_map.get(f"{host}:{port}")
        return (mapped["host"], mapped["port"]) if mapped else (host, port)

    def discover_master(self, service_name):
        return self._translate(*super().discover_master(service_name))

    def discover_slaves(self, service_name):
        return [self._translate(host, port) for host, port in super().discover_slaves(service_name)]


def sentinel_client(
    sentinels: list[tuple[str, int]],
    redis_password: str,
    sentinel_password: str,
    timeout: float = SOCKET_TIMEOUT,
    nat_map: dict[str, dict] | None = None,
    tls: dict | None = None,
    username: str | None = users.APP.name,
    sentinel_username: str | None = users.SENTINEL_CLIENT.name,
) -> Sentinel:
    """A redis-py Sentinel configured as docs/clients.md recommends, logging in as the application users (the
    passwords are theirs); with `nat_map`, one that translates the announced addresses; with `tls` (redis-py's
    ssl options, components/tls.py client_options), over TLS to the Sentinels and the nodes. `username`,
    `sentinel_username`: None for a server without ACL users, as in the hand-written setup (a password alone or
    none)."""
    tls = tls or {}
    return (NatSentinel if nat_map is not None else Sentinel)(
        sentinels,
        sentinel_kwargs={
            "username": sentinel_username,
            "password": sentinel_password,
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
            "retry": Retry(NoBackoff(), 0),  # a dead Sentinel: ask the next one at once
            **tls,
        },
        username=username,
        password=redis_password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        **tls,
        **({"nat_map": nat_map} if nat_map is not None else {}),
    )


def master_client(sentinel: Sentinel, master_name: str, **kwargs) -> redis.Redis:
    """The master's client as docs/clients.md recommends: retry on a new connection after a timeout, a lost
    connection, READONLY or NOREPLICAS."""
    tls = sentinel.connection_kwargs.get("ssl")
    return sentinel.master_for(
        master_name,
        connection_class=FollowingSSLConnection if tls else FollowingConnection,
        retry=Retry(ExponentialBackoff(**BACKOFF), RETRIES),
        **kwargs,
    )


def replica_client(sentinel: Sentinel, master_name: str) -> redis.Redis:
    """A replica's client (redis-py's `slave_for`) with the master client's retries."""
    return sentinel.slave_for(
        master_name,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT,
        retry=Retry(ExponentialBackoff(**BACKOFF), RETRIES),
    )


class _Workers:
    """Threads that each repeat `_once()` until stopped: WRITE_PAUSE after a success; after a failure (an exception
    redis-py raised once its retries were spent) the error is recorded and the next attempt is RETRY_PAUSE later."""

    def __init__(self, threads: int):
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _once(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._once()
            except (redis.RedisError, OSError) as error:
                with self._lock:
                    self.errors.append(f"{time.monotonic():.3f} {type(error).__name__}: {error}")
                time.sleep(RETRY_PAUSE)
                continue
            time.sleep(WRITE_PAUSE)

    def start(self):
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)


class _Stream(_Workers):
    """Threads writing <prefix><n> = n through one client; `wait_replicas` > 0 counts only WAIT-confirmed writes."""

    def __init__(self, client: redis.Redis, prefix: str, threads: int, wait_replicas: int):
        super().__init__(threads)
        self.client = client
        self.prefix = prefix
        self.wait_replicas = wait_replicas
        self.acknowledged: list[int] = []
        self.successes: list[float] = []  # monotonic time of each acknowledged write, in order
        self._numbers = itertools.count(1)

    def _write(self, n: int) -> None:
        key = f"{self.prefix}{n}"
        if not self.wait_replicas:
            self.client.set(key, n)
            return
        with self.client.pipeline(transaction=False) as pipe:  # WAIT counts this connection's writes
            pipe.set(key, n)
            pipe.execute_command("WAIT", self.wait_replicas, WAIT_TIMEOUT_MS)
            _, replicas = pipe.execute()
        if replicas < self.wait_replicas:
            raise redis.RedisError(f"WAIT: {replicas} of {self.wait_replicas} replicas acknowledged {key}")

    def _once(self) -> None:
        with self._lock:
            n = next(self._numbers)
        self._write(n)
        with self._lock:
            self.acknowledged.append(n)
            self.successes.append(time.monotonic())

    def acknowledged_before(self, numbers: list[int], moment: float) -> list[int]:
        """Those of `numbers` whose acknowledgement came before `moment`."""
        with self._lock:
            times = dict(zip(self.acknowledged, self.successes, strict=True))
        return [n for n in numbers if times[n] < moment]

    def lost(self, client: redis.Redis) -> list[int]:
        acknowledged = sorted(self.acknowledged)
        lost = []
        for start in range(0, len(acknowledged), 1000):
            batch = acknowledged[start : start + 1000]
            values = client.mget([f"{self.prefix}{n}" for n in batch])
            lost += [n for n, value in zip(batch, values, strict=True) if value != str(n)]
        return lost

    def gaps(self, after: float) -> list[float]:
        """The times between consecutive acknowledged writes, from the last one before `after` on."""
        times = sorted(self.successes)
        earlier = [t for t in times if t < after]
        times = earlier[-1:] + [t for t in times if t >= after]
        return [b - a for a, b in zip(times, times[1:])]

    def longest_gap(self, after: float) -> float:
        return max(self.gaps(after), default=0.0)


class Reader(_Workers):
    """Threads that read, through redis-py's replica client (`slave_for`, with the master client's retries), keys a
    stream has written; counts reads and errors (an error: a read that failed after its retries)."""

    def __init__(self, sentinel: Sentinel, master_name: str, stream: _Stream, threads: int):
        super().__init__(threads)
        self.client = replica_client(sentinel, master_name)
        self.stream = stream
        self.reads = 0

    def _once(self) -> None:
        written = self.stream.acknowledged[-1:] or [0]
        self.client.get(f"{self.stream.prefix}{written[0]}")
        with self._lock:
            self.reads += 1


class Writer:
    """`threads` writers without WAIT (acknowledged, lost(), longest_gap()) and, with `wait_replicas`, as many
    writers with WAIT beside them (replicated, lost_replicated(), longest_replicated_gap())."""

    def __init__(
        self,
        sentinels: list[tuple[str, int]],
        master_name: str,
        redis_password: str,
        sentinel_password: str,
        wait_replicas: int = 0,
        timeout: float = SOCKET_TIMEOUT,
        threads: int = THREADS,
        nat_map: dict[str, dict] | None = None,
        tls: dict | None = None,
        username: str | None = users.APP.name,  # None: no user (the old setup's `requirepass`)
        sentinel_username: str | None = users.SENTINEL_CLIENT.name,
        prefix: str = "",  # of every key it writes, to run beside another writer
    ):
        self.sentinels, self.timeout, self.nat_map, self.tls = sentinels, timeout, nat_map, tls
        self.users = {"username": username, "sentinel_username": sentinel_username}
        self.sentinel = sentinel_client(
            sentinels, redis_password, sentinel_password, timeout, nat_map, tls, **self.users
        )
        self.readers: list[Reader] = []
        self.retired: list[redis.Redis] = []  # clients replaced by use_passwords
        self.master_name = master_name
        self.wait_replicas = wait_replicas
        self.plain = _Stream(self.client(), f"{prefix}w:", threads, 0)
        self.waiting = _Stream(self.client(), f"{prefix}r:", threads, wait_replicas) if wait_replicas else None

    def client(self) -> redis.Redis:
        return master_client(self.sentinel, self.master_name, decode_responses=True)

    @property
    def streams(self) -> list[_Stream]:
        return [self.plain] + ([self.waiting] if self.waiting else [])

    # The writes acknowledged without WAIT: what an application configured as recommended sees.
    @property
    def acknowledged(self) -> list[int]:
        return self.plain.acknowledged

    @property
    def successes(self) -> list[float]:
        return self.plain.successes

    @property
    def errors(self) -> list[str]:
        return self.plain.errors

    # The writes WAIT confirmed (empty without wait_replicas).
    @property
    def replicated(self) -> list[int]:
        return self.waiting.acknowledged if self.waiting else []

    def reader(self, threads: int = 2) -> Reader:
        """Readers (not started) of this writer's keys on the replicas, through this writer's Sentinel client."""
        reader = Reader(self.sentinel, self.master_name, self.plain, threads)
        self.readers.append(reader)
        return reader

    def use_passwords(self, redis_password: str, sentinel_password: str) -> None:
        """Log in with these from now on, as an application redeployed with new passwords does: every stream and
        reader moves to new clients (the old ones finish the request they are sending)."""
        self.sentinel = sentinel_client(
            self.sentinels, redis_password, sentinel_password, self.timeout, self.nat_map, self.tls, **self.users
        )
        self._move_clients()

    def switch_to(
        self,
        sentinels: list[tuple[str, int]],
        master_name: str,
        redis_password: str,
        sentinel_password: str,
        nat_map: dict[str, dict] | None = None,
        tls: dict | None = None,
        username: str | None = users.APP.name,
        sentinel_username: str | None = users.SENTINEL_CLIENT.name,
    ) -> None:
        """Write to another deployment from now on, as an application redeployed with its settings does (a move
        from the hand-written setup, docs/migration.md); the keys keep their numbers, so lost() counts every write
        acknowledged before and after."""
        self.sentinels, self.master_name, self.nat_map, self.tls = sentinels, master_name, nat_map, tls
        self.users = {"username": username, "sentinel_username": sentinel_username}
        self.sentinel = sentinel_client(
            sentinels, redis_password, sentinel_password, self.timeout, nat_map, tls, **self.users
        )
        self._move_clients()

    def _move_clients(self) -> None:
        """Every stream and reader moves to new clients of self.sentinel (the old ones finish the request they are
        sending)."""
        for holder in (*self.streams, *self.readers):
            # Kept: a client closes its connections when collected, under a request still being sent through it.
            self.retired.append(holder.client)
        for stream in self.streams:
            stream.client = self.client()
        for reader in self.readers:
            reader.client = replica_client(self.sentinel, self.master_name)

    def start(self) -> Writer:
        for stream in self.streams:
            stream.start()
        return self

    def stop(self) -> None:
        for stream in self.streams:
            stream._stop.set()
        for stream in self.streams:
            stream.stop()

    def wait_for_writes(self, count: int, timeout: float = 20) -> None:
        """Block until `count` more writes have been acknowledged (in each stream)."""
        targets = [(stream, len(stream.acknowledged) + count) for stream in self.streams]
        deadline = time.monotonic() + timeout
        for stream, target in targets:
            while len(stream.acknowledged) < target:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{stream.prefix}* writes not acknowledged within {timeout}s; last errors: {stream.errors[-3:]}"
                    )
                time.sleep(0.05)

    def lost(self) -> list[int]:
        """Writes acknowledged without WAIT that the current master does not have."""
        return self.plain.lost(self.client())

    def lost_replicated(self) -> list[int]:
        """WAIT-confirmed writes the current master does not have."""
        return self.waiting.lost(self.client()) if self.waiting else []

    def longest_gap(self, after: float = 0.0) -> float:
        """The longest time between two consecutive acknowledged writes (no WAIT), counting from `after`."""
        return self.plain.longest_gap(after)

    def outages(self, after: float = 0.0, longer_than: float = OUTAGE_GAP) -> list[float]:
        """Every gap between consecutive acknowledged writes (no WAIT) longer than `longer_than`, from `after` on."""
        return [round(gap, 2) for gap in self.plain.gaps(after) if gap > longer_than]

    def longest_replicated_gap(self, after: float = 0.0) -> float:
        return self.waiting.longest_gap(after) if self.waiting else 0.0

    def lost_before(self, moment: float) -> dict[str, list[int]]:
        """The lost writes, without WAIT and with WAIT, that had been acknowledged before `moment`."""
        lost = {"lost": self.plain.acknowledged_before(self.lost(), moment)}
        if self.waiting:
            lost["wait_lost"] = self.waiting.acknowledged_before(self.lost_replicated(), moment)
        return lost

    def counts(self) -> dict[str, int | float]:
        """Both counts after stop(): acknowledged and lost, without WAIT and with WAIT (when it ran)."""
        result: dict[str, int | float] = {"acknowledged": len(self.acknowledged), "lost": len(self.lost())}
        if self.waiting:
            result |= {"wait_acknowledged": len(self.replicated), "wait_lost": len(self.lost_replicated())}
        return result

    def assert_nothing_lost(self, counts: dict | None = None, crashed_at: float | None = None) -> None:
        """No acknowledged write lost, with or without WAIT (`counts`: counts() as already taken, with any figures);
        after a crash at `crashed_at`, none but those of its last instant (CRASH_WINDOW)."""
        if crashed_at is None:
            counts = self.counts() if counts is None else counts
            assert counts["lost"] == 0, f"acknowledged writes lost without WAIT: {counts}"
            assert counts.get("wait_lost", 0) == 0, f"WAIT-confirmed writes lost: {counts}"
        else:
            older = self.lost_before(crashed_at - CRASH_WINDOW)
            assert not any(older.values()), f"writes acknowledged before the crash's last instant lost: {older}"

    def delete_keys(self) -> None:
        """Delete every key the streams wrote (so the next writer starts clean)."""
        client = self.client()
        for stream in self.streams:
            keys = list(client.scan_iter(match=f"{stream.prefix}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])


def start_writer(runtime, wait_replicas: int = 1) -> Writer:
    """The runtime's writer (harness.runtime.Runtime), started, once it has 20 acknowledged writes."""
    writer = runtime.writer(wait_replicas=wait_replicas).start()
    writer.wait_for_writes(20)
    return writer
