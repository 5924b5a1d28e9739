"""python -m tools.move: move the live data of a running Redis master (the hand-written setup's) into a deployed
festival-redis stack, by replication, with writes stopped only at the switch (docs/migration.md).

The new stack's master becomes a replica of the old master (`REPLICAOF`) and copies its data, while the
applications keep writing to the old one. At the switch the old master is made to refuse writes
(`min-replicas-to-write` above any replica count: `NOREPLICAS`, so nothing is acknowledged there any more), the new
master catches up to the old one's replication offset and is promoted (`REPLICAOF NO ONE`); then the applications
move to the new stack. While the new master is a replica, the new stack's Sentinels would take it for a master that
lost its role and fail over to one of its own replicas (Sentinel: SDOWN once a master reports the replica role for
down-after-milliseconds plus two INFO periods), so their down-after-milliseconds is raised for the move and put back
once every Sentinel has seen the new master report itself master again. Every temporary change is undone if the
move stops before the switch.

    python -m tools.move --from 127.0.0.1:6379 --replicate-from redis-master:6379 --stack dev --dry-run
    python -m tools.move --from 127.0.0.1:6379 --replicate-from redis-master:6379 --stack dev

The old side: `--from` is the old master as reached from here, `--replicate-from` as the new master reaches it
(default: the same), its password from --from-password-file or $OLD_REDIS_PASSWORD (and --from-user if it has ACL
users). The new side as for `python -m components.checks`: `--stack NAME`, or explicit --redis/--sentinel/--nat
with the admin users' passwords in $REDIS_PASSWORD and $SENTINEL_PASSWORD (or files). Exit 0: moved; 1: refused by
the preflight, or stopped and rolled back; 2: bad usage or unreachable.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from components import tls, users
from components.checks import HEALTHY
from components.checks import cli as checks_cli
from components.checks.observe import Target, check_deployment, node_client
from components.settings import Settings, SettingsError

# A min-replicas-to-write no deployment reaches: the old master refuses every write from the switch on.
FREEZE_MIN_REPLICAS = 1_000_000
FREEZE_MAX_LAG = 10  # min-replicas-to-write only counts when min-replicas-max-lag is not 0 (Redis' default: 10)
# The new Sentinels' down-after-milliseconds during the move: longer than any sync this tool waits for.
HOLD_DOWN_AFTER_MS = 3_600_000
CANARY_PREFIX = "festival:canary:"  # the checks' expiring canary keys (components/checks/observe.py)
POLL = 0.01  # seconds between two looks at the offsets during the switch
EXIT_MOVED, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class MoveError(Exception):
    """The move cannot go on; says what was seen and what was undone."""


@dataclass(frozen=True)
class Source:
    """The old master."""

    address: str  # host:port, reached from where this tool runs
    replicate_from: str  # host:port, as the new master reaches it
    password: str
    username: str | None = None  # the old setup has no ACL users: the password alone (requirepass)
    tls_ca_cert: str = ""  # the old master speaks TLS, with this CA (the hand-written setup does not)
    timeout: float = 2.0

    @property
    def tls(self) -> bool:
        return bool(self.tls_ca_cert)

    def client(self) -> redis.Redis:
        host, port = parse_address(self.address, "--from")
        return redis.Redis(
            host=host,
            port=port,
            username=self.username,
            password=self.password,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
            **(tls.client_options(self.tls_ca_cert) if self.tls else {}),
        )


# --- pure parts ----------------------------------------------------------------------------------------------
def parse_address(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise checks_cli.UsageError(f"{option} {text!r}: expected HOST:PORT with a port from 1 to 65535")
    return host, int(port)


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


@dataclass(frozen=True)
class Facts:
    """What the preflight looked at."""

    old_role: str
    old_master_of: str  # an old node that is a replica: the master it follows
    old_version: str
    old_used_memory: int
    old_keys: int
    new_master: str
    new_version: str
    new_maxmemory: int
    new_role: str
    new_foreign_keys: int  # keys on the new master that are not the checks' canaries
    new_health: str  # the replication checks' summary of the new stack
    new_healthy: bool
    same_node: bool = False  # the old and new addresses are one server (same run_id)


def preflight_problems(facts: Facts, replace_new_data: bool = False) -> list[str]:
    """Every reason not to start the move, each naming what was seen and the rule."""
    problems = []
    if facts.same_node:
        problems.append("--from names a node of the new stack itself: the old and the new master are one server")
    if facts.old_role != "master":
        problems.append(
            f"old node role={facts.old_role} (replica of {facts.old_master_of}): --from must be the old master; ask "
            "the old Sentinels: SENTINEL get-master-addr-by-name <master name>"
        )
    if version_tuple(facts.new_version) < version_tuple(facts.old_version):
        problems.append(
            f"new stack redis_version={facts.new_version} is older than the old master's {facts.old_version}: a "
            "replica cannot load a newer master's data; deploy the new stack with redisImage at least that version"
        )
    if facts.new_maxmemory and facts.old_used_memory > facts.new_maxmemory:
        problems.append(
            f"old used_memory={facts.old_used_memory} bytes exceeds the new stack's maxmemory={facts.new_maxmemory}: "
            "the new master would evict keys as it loads them; raise the stack's maxmemory first"
        )
    if facts.new_role != "master":
        problems.append(
            f"new master {facts.new_master} role={facts.new_role}: the new stack's Sentinels must name a master that "
            "is one (an earlier move not finished? restart that node, docs/migration.md)"
        )
    if facts.new_foreign_keys and not replace_new_data:
        problems.append(
            f"new master {facts.new_master} holds {facts.new_foreign_keys} keys: the copy replaces all of them; "
            "move into a new, empty stack, or pass --replace-new-data"
        )
    if not facts.new_healthy:
        problems.append(f"the new stack is not healthy: {facts.new_health}")
    return problems


def plan(source: Source, new_master: str, sentinels: tuple[str, ...], on_switch: str | None) -> list[str]:
    """The steps, as --dry-run prints them."""
    steps = [
        f"on the new Sentinels {', '.join(sentinels)}: SENTINEL SET <master> down-after-milliseconds "
        f"{HOLD_DOWN_AFTER_MS} (restored at the end)",
        f"on every new node: ACL SETUSER {users.SENTINEL.name} resetchannels: the new Sentinels may not subscribe to "
        "the hello channel, which the copy fills with the old Sentinels' hellos (reopened at the switch)",
        f"on the new master {new_master}: CONFIG SET replica-priority 0, masteruser/masterauth (and tls-replication) "
        "for the old master; "
        f"REPLICAOF {source.replicate_from.replace(':', ' ')}; wait until in sync and its replicas are linked",
        f"switch: on the old master {source.address}: CONFIG SET min-replicas-to-write {FREEZE_MIN_REPLICAS} (writes "
        "refused from now on: NOREPLICAS)",
        f"switch: wait until {new_master} has the old master's last offset; REPLICAOF NO ONE; its own "
        "masteruser/masterauth/replica-priority back; wait until it has min-replicas-to-write linked replicas",
    ]
    steps.append(f"switch: run {on_switch!r}" if on_switch else "switch: move the applications to the new stack")
    steps.append(
        "wait until every new Sentinel saw the new master report role master; down-after-milliseconds back; "
        "the replication checks"
    )
    return steps


def caught_up(info: dict, offset: int) -> bool:
    """A replica's INFO replication: linked, not loading, and it has processed the master's stream up to `offset`."""
    return (
        info.get("role") == "slave"
        and info.get("master_link_status") == "up"
        and int(info.get("master_sync_in_progress", 0)) == 0
        and int(info.get("slave_repl_offset", -1)) >= offset
    )


def online_replicas(info: dict, max_lag: int | None = None) -> int:
    """The replicas INFO replication lists as online (with lag at most `max_lag`, when given)."""
    count = 0
    for key, value in info.items():
        if key.startswith("slave") and key[5:].isdigit() and isinstance(value, dict) and value.get("state") == "online":
            if max_lag is None or int(value.get("lag", 0)) <= max_lag:
                count += 1
    return count


def majority_answer(answers: list[str | None], what: str) -> str:
    """The answer more than half of `answers` give; else MoveError saying what each said."""
    counted = Counter(a for a in answers if a)
    best = counted.most_common(1)
    if not best or best[0][1] * 2 <= len(answers):
        raise MoveError(f"no majority of the new Sentinels names {what}: they answered {answers}")
    return best[0][0]


# --- the move ------------------------------------------------------------------------------------------------
@dataclass
class Move:
    """One move from `source` into the stack `target` describes (the checks' Target: its admin users)."""

    source: Source
    target: Target
    log: Callable[[str], None] = print
    new_master: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    _saved: dict[str, object] = field(default_factory=dict)  # what the move changed, to put back
    _held: list[str] = field(default_factory=list)  # Sentinels whose down-after-milliseconds is raised
    _frozen: bool = False
    _promoted: bool = False

    # connections
    def node(self, address: str) -> redis.Redis:
        return node_client(self.target, address)

    def sentinel(self, address: str) -> redis.Redis:
        return node_client(self.target, address, sentinel=True)

    def sentinel_master(self, address: str) -> dict:
        reply = self.sentinel(address).execute_command("SENTINEL", "MASTER", self.target.master_name)
        return reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=True))

    def find_new_master(self) -> str:
        answers = []
        for address in self.target.sentinels:
            try:
                reply = self.sentinel(address).execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.target.master_name
                )
                answers.append(f"{reply[0]}:{reply[1]}" if reply else None)
            except redis.RedisError:
                answers.append(None)
        return majority_answer(answers, f"a master for {self.target.master_name}")

    # preflight
    def facts(self) -> Facts:
        old = self.source.client()
        try:
            old_info = old.info()
        except redis.RedisError as error:
            raise checks_cli.UsageError(f"the old master {self.source.address}: {error}") from error
        self.new_master = self.find_new_master()
        new = self.node(self.new_master)
        new_info = new.info()
        foreign = 0
        for key in new.scan_iter(count=1000):
            if not key.startswith(CANARY_PREFIX):
                foreign += 1
        report = check_deployment(self.target)
        return Facts(
            old_role=old_info["role"],
            old_master_of=f"{old_info.get('master_host')}:{old_info.get('master_port')}",
            old_version=str(old_info["redis_version"]),
            old_used_memory=int(old_info["used_memory"]),
            old_keys=sum(int(db["keys"]) for db in old.info("keyspace").values()),
            new_master=self.new_master,
            new_version=str(new_info["redis_version"]),
            new_maxmemory=int(new_info.get("maxmemory", 0)),
            new_role=new_info["role"],
            new_foreign_keys=foreign,
            new_health=report.summary(),
            new_healthy=report.status == HEALTHY,
            same_node=old_info.get("run_id") == new_info.get("run_id"),
        )

    # the three steps
    def sync(self, timeout: float) -> None:
        """Make the new master a replica of the old one, with the new Sentinels held off; return once it and its
        replicas are in sync. MoveError (everything undone) if not within `timeout` seconds."""
        started = time.monotonic()
        new = self.node(self.new_master)
        saved = {}
        for key in ("masteruser", "masterauth", "replica-priority", "tls-replication"):
            saved |= new.config_get(key)  # tls-replication: none in a Redis built without TLS
        self._saved["new"] = saved
        try:
            self._close_hello_channel()
            for address in self.target.sentinels:
                down_after = int(self.sentinel_master(address)["down-after-milliseconds"])
                self._saved[f"down-after {address}"] = down_after
                self._sentinel_set(address, HOLD_DOWN_AFTER_MS)
                self._held.append(address)
            new.config_set("replica-priority", 0)  # the old setup's Sentinels must never promote it
            new.config_set("masteruser", self.source.username or "")
            new.config_set("masterauth", self.source.password)
            if "tls-replication" in saved:  # a TLS-only stack replicates over TLS; the old master may not speak it
                new.config_set("tls-replication", "yes" if self.source.tls else "no")
            host, port = parse_address(self.source.replicate_from, "--replicate-from")
            new.replicaof(host, port)
            self.log(f"{self.new_master} replicates from {self.source.replicate_from}")
            replicas = len(self.target.redis_nodes) - 1
            last: dict = {}

            def in_sync() -> bool:
                nonlocal last
                last = new.info("replication")
                return caught_up(last, 0) and online_replicas(last) >= replicas

            self._wait(
                in_sync,
                timeout - (time.monotonic() - started),
                lambda: (
                    f"{self.new_master} in sync with {self.source.replicate_from} and its {replicas} replicas "
                    f"linked (master_link_status={last.get('master_link_status')}, "
                    f"master_sync_in_progress={last.get('master_sync_in_progress')}, online replicas="
                    f"{online_replicas(last)}): can it resolve and reach {self.source.replicate_from}?"
                ),
                interval=0.2,
            )
        except BaseException:
            self.undo()
            raise
        self.timings["sync_s"] = time.monotonic() - started
        self.log(f"in sync after {self.timings['sync_s']:.1f} s")

    def switch(self, timeout: float) -> None:
        """Freeze the old master, let the new one catch up, promote it; return once it accepts writes."""
        old, new = self.source.client(), self.node(self.new_master)
        started = time.monotonic()
        try:
            saved = old.config_get("min-replicas-to-write") | old.config_get("min-replicas-max-lag")
            self._saved["old"] = saved
            if int(saved["min-replicas-max-lag"]) == 0:
                old.config_set("min-replicas-max-lag", FREEZE_MAX_LAG)
            old.config_set("min-replicas-to-write", FREEZE_MIN_REPLICAS)
            self._frozen = True
            offset = int(old.info("replication")["master_repl_offset"])
            last: dict = {}

            def has_offset() -> bool:
                nonlocal last
                last = new.info("replication")
                return caught_up(last, offset)

            self._wait(
                has_offset,
                timeout,
                lambda: (
                    f"{self.new_master} to reach the old master's offset {offset} (at "
                    f"{last.get('slave_repl_offset')}, link {last.get('master_link_status')})"
                ),
                interval=POLL,
            )
            self.timings["catch_up_s"] = time.monotonic() - started
            new.replicaof("NO", "ONE")
            self._promoted = True
        except BaseException:
            self.undo()
            raise
        try:
            self._restore_new_master(new)
            # Promoted, the new master makes its replicas reconnect (a new replication ID): min-replicas-to-write
            # refuses writes until they have.
            needed = int(new.config_get("min-replicas-to-write")["min-replicas-to-write"])
            max_lag = int(new.config_get("min-replicas-max-lag")["min-replicas-max-lag"])
            self._wait(
                lambda: online_replicas(new.info("replication"), max_lag) >= needed,
                timeout,
                lambda: f"{needed} replicas (min-replicas-to-write) to link to the promoted {self.new_master}",
                interval=POLL,
            )
        except BaseException:  # switched all the same: the old master keeps refusing; the Sentinels are let go
            self._release_sentinels(timeout)
            raise
        self.timings["switch_s"] = time.monotonic() - started
        self.log(
            f"switched in {self.timings['switch_s']:.2f} s: {self.new_master} is master; the old one refuses writes"
        )

    def finish(self, timeout: float) -> None:
        """Every new Sentinel saw the promoted master report role master: their down-after-milliseconds back."""
        self._release_sentinels(timeout)
        report = check_deployment(self.target, settle_seconds=timeout)
        if report.status != HEALTHY:
            raise MoveError(f"moved, but the new stack is not healthy after {timeout:g} s: {report.summary()}")
        self.log(f"the new stack is healthy: {report.summary()}")

    # undoing
    def undo(self) -> None:
        """Put back what the move changed, before the switch completed: the old master takes writes again, the new
        one is its own master with its own settings, the Sentinels' down-after-milliseconds as it was. The data
        copied so far stays on the new stack (the next move replaces it: --replace-new-data)."""
        errors = []
        if self._frozen and not self._promoted:
            try:
                self.source.client().config_set("min-replicas-to-write", self._saved["old"]["min-replicas-to-write"])
                self.source.client().config_set("min-replicas-max-lag", self._saved["old"]["min-replicas-max-lag"])
                self._frozen = False
                self.log(f"undone: the old master {self.source.address} takes writes again")
            except redis.RedisError as error:
                errors.append(
                    f"the old master {self.source.address} still refuses writes ({error}): CONFIG SET "
                    f"min-replicas-to-write {self._saved['old']['min-replicas-to-write']}"
                )
        if "new" in self._saved:
            try:
                new = self.node(self.new_master)
                if new.info("replication")["role"] != "master":
                    new.replicaof("NO", "ONE")
                self._restore_new_master(new)
            except redis.RedisError as error:
                errors.append(f"the new master {self.new_master} ({error}): restart it")
        try:
            self._release_sentinels(30)
        except (MoveError, redis.RedisError) as error:
            errors.append(str(error))
        if errors:
            raise MoveError("undoing the move left: " + "; ".join(errors))

    def _restore_new_master(self, new: redis.Redis) -> None:
        for key, value in self._saved["new"].items():
            new.config_set(key, value)
        self._open_hello_channel()

    def _close_hello_channel(self) -> None:
        """While a new node replicates the old master's stream, it also passes on the old Sentinels' hello messages
        (PUBLISH is replicated) to the new Sentinels subscribed to it, which would take the old Sentinels for peers
        and, from a hello with a newer config epoch, follow the old master (Sentinel's sentinelProcessHelloMessage).
        So the new Sentinels' user may not subscribe to the hello channel meanwhile: changing its channels ends their
        subscriptions (Redis 7: ACL SETUSER disconnects subscribers that lost a channel)."""
        for address in self.target.redis_nodes:
            node = self.node(address)
            reply = node.execute_command("ACL", "GETUSER", users.SENTINEL.name)
            fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2], strict=True))
            self._saved[f"channels {address}"] = fields["channels"]
            node.execute_command("ACL", "SETUSER", users.SENTINEL.name, "resetchannels")

    def _open_hello_channel(self) -> None:
        for address in self.target.redis_nodes:
            channels = self._saved.pop(f"channels {address}", None)
            if channels is not None:
                self.node(address).execute_command(
                    "ACL", "SETUSER", users.SENTINEL.name, "resetchannels", *channels.split()
                )

    def _release_sentinels(self, timeout: float) -> None:
        for address in list(self._held):
            self._wait(
                lambda a=address: self.sentinel_master(a).get("role-reported") == "master",
                timeout,
                lambda a=address: f"the Sentinel {a} to see {self.new_master} report role master",
                interval=0.1,
            )
            self._sentinel_set(address, self._saved[f"down-after {address}"])
            self._held.remove(address)

    def _sentinel_set(self, address: str, down_after: int) -> None:
        self.sentinel(address).execute_command(
            "SENTINEL", "SET", self.target.master_name, "down-after-milliseconds", down_after
        )

    @staticmethod
    def _wait(predicate, timeout: float, what, interval: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if predicate():
                    return
            except redis.RedisError:
                pass  # a node reconnecting: look again
            if time.monotonic() >= deadline:
                raise MoveError(f"gave up after {timeout:g} s waiting for {what()}")
            time.sleep(interval)


# --- command line --------------------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.move", description=__doc__.split("\n\n")[0])
    old = parser.add_argument_group("the old master")
    old.add_argument("--from", dest="source", required=True, metavar="HOST:PORT", help="reached from here")
    old.add_argument("--replicate-from", metavar="HOST:PORT", help="as the new master reaches it (default: --from)")
    old.add_argument("--from-user", help="its ACL user (default: none, the password alone)")
    old.add_argument("--from-password-file", help="default: $OLD_REDIS_PASSWORD")
    old.add_argument("--from-tls-ca-cert", metavar="FILE", help="the old master speaks TLS, with this CA")
    new = parser.add_argument_group("the new stack (as python -m components.checks takes it)")
    new.add_argument("--stack", help="a deployed stack: endpoints from its outputs, admin passwords from its state")
    new.add_argument("--master-name", default=Settings().master_name)
    new.add_argument("--redis", action="append", default=[], metavar="HOST:PORT")
    new.add_argument("--sentinel", action="append", default=[], metavar="HOST:PORT")
    new.add_argument("--nat", action="append", default=[], metavar="ANNOUNCED=REACHABLE")
    new.add_argument("--redis-password-file", help="the node admin's; default: $REDIS_PASSWORD")
    new.add_argument("--sentinel-password-file", help="the Sentinel admin's; default: $SENTINEL_PASSWORD")
    new.add_argument("--tls-ca-cert", metavar="FILE")
    new.add_argument("--port-forward", action="store_true", help="a prod stack: one kubectl port-forward per pod")
    new.add_argument("--local-port", type=int, default=checks_cli.LOCAL_PORT_BASE, metavar="PORT")
    new.add_argument("--kubectl", default="kubectl")
    parser.add_argument("--dry-run", action="store_true", help="the preflight and the plan; change nothing")
    parser.add_argument("--replace-new-data", action="store_true", help="move into a new master that holds keys")
    parser.add_argument("--on-switch", metavar="COMMAND", help="run this right after the switch (the applications')")
    parser.add_argument("--sync-timeout", type=float, default=600, metavar="SECONDS", help="for the copy (default 600)")
    parser.add_argument(
        "--switch-timeout", type=float, default=30, metavar="SECONDS", help="for each step of the switch (default 30)"
    )
    parser.set_defaults(
        timeout=2.0, max_lag=Settings().min_replicas_max_lag, certificate_min_days_left=0, forwarded=False
    )
    return parser.parse_args(argv)


def source_from_args(args: argparse.Namespace) -> Source:
    parse_address(args.source, "--from")
    replicate_from = args.replicate_from or args.source
    parse_address(replicate_from, "--replicate-from")
    if args.from_password_file:
        password = Path(args.from_password_file).read_text().strip()
    elif "OLD_REDIS_PASSWORD" in os.environ:
        password = os.environ["OLD_REDIS_PASSWORD"]
    else:
        raise checks_cli.UsageError("no password for the old master: set $OLD_REDIS_PASSWORD or --from-password-file")
    ca = Path(args.from_tls_ca_cert).read_text() if args.from_tls_ca_cert else ""
    return Source(args.source, replicate_from, password, args.from_user, ca)


def run(move: Move, args: argparse.Namespace) -> int:
    facts = move.facts()
    print(f"old master {args.source}: Redis {facts.old_version}, {facts.old_keys} keys, {facts.old_used_memory} bytes")
    print(f"new master {facts.new_master}: Redis {facts.new_version}; {facts.new_health}")
    problems = preflight_problems(facts, args.replace_new_data)
    for step in plan(move.source, move.new_master, move.target.sentinels, args.on_switch):
        print(f"plan: {step}")
    for problem in problems:
        print(f"refused: {problem}", file=sys.stderr)
    if problems or args.dry_run:
        return EXIT_REFUSED if problems else EXIT_MOVED
    move.sync(args.sync_timeout)
    move.switch(args.switch_timeout)
    if args.on_switch:
        result = subprocess.run(shlex.split(args.on_switch), check=False)
        print(f"{args.on_switch!r} exited {result.returncode}")
    move.finish(args.switch_timeout)
    print("moved; the old master refuses writes: remove the old setup (docs/migration.md)")
    return EXIT_MOVED


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        source = source_from_args(args)
        if args.stack:
            settings = checks_cli.stack_settings(args.stack)
            forward = args.local_port if args.port_forward else None
            target = checks_cli.target_from_stack(args.stack, settings, args.timeout, forward)
        else:
            target = checks_cli.target_from_args(args)
        move = Move(source, target)
        if args.port_forward:
            commands = [command for _, command in checks_cli.port_forwards(settings, args.local_port, args.kubectl)]
            with checks_cli.running_port_forwards(commands):
                return run(move, args)
        return run(move, args)
    except (checks_cli.UsageError, SettingsError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (MoveError, redis.RedisError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
