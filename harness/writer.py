"""A Sentinel-aware writer that counts acknowledged writes, for fault tests and bench/.

It writes w:<n> = n in a loop through redis-py's Sentinel client, reconnecting after errors, and keeps
every write the server acknowledged (with `WAIT 1`, only those a replica also acknowledged). After a
fault, lost() says which acknowledged writes the current master no longer has, and gaps() how long
writes were failing.
"""

from __future__ import annotations

import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

RETRY_PAUSE = 0.02  # seconds between attempts while the master is unreachable


class Writer:
    def __init__(
        self,
        sentinels: list[tuple[str, int]],
        master_name: str,
        redis_password: str,
        sentinel_password: str,
        wait_replicas: int = 0,
        timeout: float = 0.5,
    ):
        self.sentinel = Sentinel(
            sentinels,
            sentinel_kwargs={
                "password": sentinel_password,
                "socket_timeout": timeout,
                "socket_connect_timeout": timeout,
            },
            password=redis_password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        self.master_name = master_name
        self.wait_replicas = wait_replicas
        self.acknowledged: list[int] = []
        self.successes: list[float] = []  # monotonic time of each acknowledged write
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def client(self) -> redis.Redis:
        return self.sentinel.master_for(self.master_name, retry=Retry(NoBackoff(), 0), decode_responses=True)

    def _run(self) -> None:
        client = self.client()
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                client.set(f"w:{n}", n)
                if self.wait_replicas and client.execute_command("WAIT", self.wait_replicas, 1000) < self.wait_replicas:
                    raise redis.RedisError(f"WAIT: fewer than {self.wait_replicas} replicas acknowledged w:{n}")
            except (redis.RedisError, OSError) as error:
                self.errors.append(f"{time.monotonic():.3f} {type(error).__name__}: {error}")
                time.sleep(RETRY_PAUSE)
                continue
            self.acknowledged.append(n)
            self.successes.append(time.monotonic())
            time.sleep(0.005)

    def start(self) -> Writer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def wait_for_writes(self, count: int, timeout: float = 20) -> None:
        """Block until `count` more writes have been acknowledged."""
        target = len(self.acknowledged) + count
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"writes not acknowledged within {timeout}s; last errors: {self.errors[-3:]}")
            time.sleep(0.05)

    def lost(self) -> list[int]:
        """Acknowledged writes the current master does not have."""
        client = self.client()
        lost = []
        for start in range(0, len(self.acknowledged), 1000):
            batch = self.acknowledged[start : start + 1000]
            values = client.mget([f"w:{n}" for n in batch])
            lost += [n for n, value in zip(batch, values, strict=True) if value != str(n)]
        return lost

    def longest_gap(self, after: float = 0.0) -> float:
        """The longest time between two consecutive acknowledged writes, counting from `after`."""
        times = [t for t in self.successes if t >= after]
        earlier = [t for t in self.successes if t < after]
        if earlier:
            times.insert(0, earlier[-1])
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)
