"""One vocabulary for the three test runtimes: LocalDeployment (loopback processes, harness/local.py),
DockerDeployment (the dev stack on Docker, harness/docker_runner.py) and PodCluster (the prod stack's pods,
harness/pod_runner.py).

`Runtime` says what every runtime answers, and in what form; `Observer` answers the questions about roles and
Sentinels once, from the few things each runtime knows how to do (`client`, `sentinel_names`, `master_name`,
`node_of`). A node is always named by its node name: the loopback node's name, the container's or the pod's.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from components import tls, users
from components.checks.observe import Target

NO_RETRY = Retry(NoBackoff(), 0)


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll predicate() until it returns a truthy value; raise with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (redis.RedisError, OSError) as error:
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


class Runtime(Protocol):
    @property
    def master_name(self) -> str:
        """The name the Sentinels monitor the master under."""

    @property
    def tls_options(self) -> dict:
        """redis-py's TLS options for the nodes ({} without TLS)."""

    def client(self, name: str, **kwargs: Any) -> redis.Redis:
        """A client of one node (Redis or Sentinel) as its admin user, reachable from the test."""

    def redis_names(self) -> list[str]:
        """The Redis nodes' names."""

    def sentinel_names(self) -> list[str]:
        """The Sentinels' names."""

    def node_of(self, host: str, port: int) -> str:
        """The node name behind an address a Sentinel or a replica announces."""

    def target(self, **overrides: Any) -> Target:
        """What the replication checks verify, reachable from the test (Target fields as overrides)."""

    def role(self, name: str) -> str:
        """The node's replication role: "master" or "slave"."""

    def sentinel_masters(self) -> dict[str, str | None]:
        """The node each Sentinel names master, by Sentinel name (None: no answer)."""

    def master(self) -> str:
        """The node every answering Sentinel names master (RuntimeError if they disagree)."""

    def failover_seconds(self) -> float:
        """How long a failover may take once its fault happened."""

    def wait_for_new_master(self, old: str, timeout: float | None = None) -> str:
        """The node every answering Sentinel names master, once it is no longer `old` (by default within
        failover_seconds())."""

    def config_epochs(self) -> set[int]:
        """The Sentinels' config epochs of the master."""

    def config_epoch(self) -> int:
        """The Sentinels' config epoch of the master: one more after each failover (RuntimeError if they disagree)."""


class Observer:
    """Runtime's observations, for a class that has `client`, `sentinel_names`, `master_name`, `node_of` and
    `tls_options` (and `failover_seconds` where 30 s is not the bound)."""

    def admin_client(self, host: str, port: int, admin_password: str, **kwargs: Any) -> redis.Redis:
        """A client of the node at host:port as the admin user; `username`/`password` to log in as another."""
        options = dict(
            username=users.ADMIN.name,
            password=admin_password,
            socket_timeout=2,
            socket_connect_timeout=2,
            decode_responses=True,
            **self.tls_options,
        )
        return redis.Redis(host=host, port=port, retry=NO_RETRY, **{**options, **kwargs})

    def role(self, name: str) -> str:
        return self.client(name).info("replication")["role"]

    def sentinel_masters(self) -> dict[str, str | None]:
        answers = {}
        for name in self.sentinel_names():
            try:
                addr = self.client(name).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
            except (redis.RedisError, OSError, KeyError):  # KeyError: a node removed by a scale-down meanwhile
                addr = None
            answers[name] = self.node_of(addr[0], int(addr[1])) if addr else None
        return answers

    def master(self) -> str:
        answers = set(self.sentinel_masters().values()) - {None}
        if len(answers) != 1:
            raise RuntimeError(f"the Sentinels do not agree on a master: {self.sentinel_masters()}")
        return answers.pop()

    def failover_seconds(self) -> float:
        return 30

    def wait_for_new_master(self, old: str, timeout: float | None = None) -> str:
        def agreed_new_master():
            answers = set(self.sentinel_masters().values()) - {None}
            return answers.pop() if len(answers) == 1 and old not in answers else None

        timeout = self.failover_seconds() if timeout is None else timeout
        return wait_until(agreed_new_master, timeout, what=f"the Sentinels to fail over from {old}")

    def config_epochs(self) -> set[int]:
        epochs = set()
        for name in self.sentinel_names():
            state = self.client(name).execute_command("SENTINEL", "MASTER", self.master_name)
            state = dict(zip(state[::2], state[1::2])) if isinstance(state, list) else state
            epochs.add(int(state["config-epoch"]))
        return epochs

    def config_epoch(self) -> int:
        epochs = self.config_epochs()
        if len(epochs) != 1:
            raise RuntimeError(f"the Sentinels disagree on the config epoch: {epochs}")
        return epochs.pop()


class FromOutputs(Observer):
    """Observer of a runtime that runs a mocked program's declaration (Docker, pods): what its outputs say."""

    @property
    def master_name(self) -> str:
        return self.outputs["masterName"]

    @property
    def tls_options(self) -> dict:
        """redis-py's TLS options from the tlsCaCert output (none without TLS)."""
        ca = self.outputs.get("tlsCaCert")
        return tls.client_options(ca) if ca else {}


class MasterSampler:
    """The master most answering Sentinels name, sampled every 0.2 s while in a `with` block: `seen`, the sequence
    of masters seen, and `changes`, how many times it changed (failovers and hand-overs). Counts what the Sentinels'
    config epoch cannot where a replaced Sentinel starts again from epoch 0."""

    def __init__(self, runtime: Runtime):
        self.runtime, self.seen, self.done = runtime, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def changes(self) -> int:
        return max(len(self.seen) - 1, 0)

    def _run(self) -> None:
        while not self.done.wait(0.2):
            try:
                answers = Counter(a for a in self.runtime.sentinel_masters().values() if a)
            except Exception:  # a Sentinel being replaced
                continue
            if answers:
                master = answers.most_common(1)[0][0]
                if not self.seen or self.seen[-1] != master:
                    self.seen.append(master)

    def __enter__(self) -> MasterSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join(5)


def refused(runtime: Runtime, name: str, user: users.User, password: str) -> bool:
    """Whether `user` with `password` is refused on node `name` of a runtime."""
    try:
        runtime.client(name, username=user.name, password=password).ping()
    except redis.AuthenticationError:
        return True
    return False
