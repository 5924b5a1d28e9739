"""Runs a deployment's rendered artifacts for real: redis-server and redis-sentinel processes on
127.0.0.1, free ports, started through the project's own entrypoint scripts.

Used by the live tests and bench/. Every process it starts is stopped by stop_all(), which the fixtures
call even when a test fails. Each node runs in its own session and process group, and every process it starts
carries its tag (MARKER=RUN_ID:<node directory>) in its environment: stop() ends the whole group, even when its
entrypoint has already exited, and leftover_processes() finds anything a node left behind (a process that left the
group, as `timeout` does, still carries the tag), so a test or the session can prove nothing outlived it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import redis

from components import passwords, tls, users
from components.checks import HEALTHY, Report
from components.checks.observe import Target, check_deployment
from components.render import CLI_TIMEOUT_SECONDS, deployment_files
from components.settings import Settings
from components.topology import Endpoint, Node, Topology
from harness.certs import Authority
from harness.runtime import Observer
from harness.writer import Writer

BINARIES = ("redis-server", "redis-sentinel", "redis-cli")
# Sentinel's own event when it executes SENTINEL RESET: "<pid>:X 12 Mar 2025 10:00:00.123 # +reset-master master ...".
RESET_EVENT = re.compile(r"^\d+:X (\d\d? \w{3} \d{4} [\d:]{8}\.\d{3}) [#*] \+reset-master ", re.M)

# The environment variable that tags every process a node runs, and this run's part of the tag: processes of other
# runs (another session's tests on the same machine) are never counted nor signalled.
MARKER = "FESTIVAL_HARNESS_NODE"
RUN_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
# How long a node's short-lived helpers may outlive the node's own processes: a watcher's `timeout
# CLI_TIMEOUT_SECONDS redis-cli ...` (its own process group) or `sleep 1` in flight when its shell ended. Margin: 3 s.
HELPER_GRACE_SECONDS = CLI_TIMEOUT_SECONDS + 3

# Fast Sentinel timings for the real-process tests; the default 5000 ms is measured by bench/failover.
FAST = dict(down_after_milliseconds=1000, failover_timeout=5000)
# For a test whose claim includes that no failover happens (none at all, or no second one after the failover it
# causes), or that a node restarted at once is back before down-after: a down-after that a stalled process on a loaded
# machine cannot reach. With one of the two cores taken by a CPU hog a node can go without an answer for over a second
# (CI saw a second failover at 1000 ms); 3000 ms is three times that, and longer than the 2 s stall after which
# Sentinel distrusts its own clock (TILT) and acts on nothing. A failover costs 2 s more than with FAST.
STABLE = dict(FAST, down_after_milliseconds=3000)


def leftover_processes(prefix: str = "") -> dict[int, str]:
    """pid -> command line of every live process of this run whose tag starts with RUN_ID:`prefix`."""
    wanted = f"{MARKER}={RUN_ID}:{prefix}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if not any(item.startswith(wanted) for item in environ.split(b"\0")):
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def end_leftovers(prefix: str = "", grace: float = HELPER_GRACE_SECONDS) -> dict[int, str]:
    """Wait up to `grace` seconds for this run's processes tagged RUN_ID:`prefix` to end, SIGKILL those still there;
    what had to be killed (pid -> command line)."""
    deadline = time.monotonic() + grace
    while (left := leftover_processes(prefix)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def require_binaries() -> None:
    """Fail (never skip) when the Redis binaries the real-process tests need are missing."""
    missing = [binary for binary in BINARIES if shutil.which(binary) is None]
    if missing:
        raise RuntimeError(
            f"missing {', '.join(missing)}: install Debian's redis-server, redis-sentinel and redis-tools"
        )


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def reset_events(log: str) -> list[float]:
    """When a Sentinel executed each SENTINEL RESET (seconds since the epoch), from its own log."""
    return [datetime.strptime(when, "%d %b %Y %H:%M:%S.%f").timestamp() for when in RESET_EVENT.findall(log)]


def loopback_topology(settings: Settings, redis_ports: list[int], sentinel_ports: list[int]) -> Topology:
    """Every node on 127.0.0.1 with its own port."""
    if len(redis_ports) != settings.replica_count + 1 or len(sentinel_ports) != settings.sentinel_count:
        raise ValueError("one port per Redis node and per Sentinel")

    def node(name: str, role: str, port: int) -> Node:
        return Node(name, role, Endpoint("127.0.0.1", port))

    return Topology(
        master_name=settings.master_name,
        quorum=settings.quorum,
        master=node("redis-master", "master", redis_ports[0]),
        replicas=tuple(node(f"redis-replica-{i}", "replica", p) for i, p in enumerate(redis_ports[1:], 1)),
        sentinels=tuple(node(f"sentinel-{i}", "sentinel", p) for i, p in enumerate(sentinel_ports, 1)),
    )


@dataclass
class LocalNode:
    node: Node
    root: Path
    process: subprocess.Popen | None = None

    @property
    def port(self) -> int:
        return self.node.address.port

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "process.log"

    @property
    def is_sentinel(self) -> bool:
        return self.node.role == "sentinel"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def tag(self) -> str:
        """The part after RUN_ID: of the tag every process of this node carries (its directory is unique)."""
        return f"{self.root}/"


class _LocalScripts:
    """passwords.ScriptRunner for a LocalDeployment: the node's rendered script with its environment."""

    def __init__(self, deployment: LocalDeployment):
        self.deployment = deployment

    def run(self, node: str, args) -> tuple[int, str]:
        done = self.deployment.run_script(f"{node}/{passwords.SCRIPT}", *args)
        return done.returncode, done.stdout + done.stderr


@dataclass
class LocalDeployment(Observer):
    """A deployment on loopback: one directory per node with conf/, secrets/ and data/."""

    settings: Settings
    root: Path
    # every user's password, by key (users.User.key)
    passwords: dict[str, str] = field(default_factory=lambda: {u.key: f"test-{u.key}-0123456789" for u in users.USERS})
    # while a password is rotated: the other one its user accepts, by key (components/passwords.py)
    previous: dict[str, str] = field(default_factory=dict)
    topology: Topology = field(init=False)
    nodes: dict[str, LocalNode] = field(init=False)
    # With TLS on (settings.tls_enabled): the deployment's CA, as components/certificates.py makes it.
    authority: Authority | None = field(init=False, default=None)
    # What the nodes and clients trust (tls.CA_FILE, tlsCaCert): the authority's certificate, or while the CA is
    # rotated the bundle trust() made
    ca_bundle: str = field(init=False, default="")

    def __post_init__(self) -> None:
        ports = free_ports(self.settings.replica_count + 1 + self.settings.sentinel_count)
        redis_ports = ports[: self.settings.replica_count + 1]
        self.topology = loopback_topology(self.settings, redis_ports, ports[len(redis_ports) :])
        self.nodes = {node.name: LocalNode(node, self.root / node.name) for node in self.topology.nodes}
        files = deployment_files(self.settings, self.topology)
        self.authority = Authority() if self.settings.tls_enabled else None
        self.ca_bundle = self.authority.cert_pem if self.authority else ""
        for local in self.nodes.values():
            self._install(local, files.for_role(local.node.role))
            if self.authority:
                self.install_tls(local.node.name, tls.node_cert(local.node.address.host))

    def _install(self, local: LocalNode, files: dict[str, str]) -> None:
        for sub in ("conf", "secrets", "data"):
            (local.root / sub).mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (local.root / "conf" / name).write_text(text)
        self._write_secrets(local)

    def _write_secrets(self, local: LocalNode) -> None:
        """The secret files as the platforms write them (passwords.secret_files), each replaced at once."""
        for key, password in passwords.secret_files(self.passwords, self.previous).items():
            path, new = local.root / "secrets" / key, local.root / "secrets" / f".{key}.new"
            new.write_text(password)
            new.replace(path)

    # --- passwords ---------------------------------------------------------------------------
    def change_passwords(self, current: dict[str, str], previous: dict[str, str]) -> None:
        """Rewrite every node's secret files, as `pulumi up` does after a passwordGenerations change: `current`
        (by key) replaces those passwords, `previous` is what their users accept besides while rotating."""
        self.passwords = {**self.passwords, **current}
        self.previous = dict(previous)
        for local in self.nodes.values():
            self._write_secrets(local)

    def apply_passwords(self) -> list[str]:
        """Apply the secret files to the running nodes as the deployment does (passwords.apply: accept everywhere,
        then use everywhere); what was done."""
        files = passwords.secret_files(self.passwords, self.previous)
        nodes = [node.name for node in self.topology.nodes]
        return passwords.apply(_LocalScripts(self), nodes, passwords.fingerprint(files))

    def run_passwords_script(self, name: str, step: str) -> None:
        """passwords.sh STEP on one node; raises when it fails."""
        done = self.run_script(f"{name}/{passwords.SCRIPT}", step)
        if done.returncode:
            raise RuntimeError(f"{passwords.SCRIPT} {step} on {name}: {done.returncode} {done.stderr}")

    def install_tls(self, name: str, spec: tls.CertSpec, issuer: Authority | None = None) -> None:
        """Give a node a new certificate for `spec`, issued by `issuer` (by default the deployment's CA), and the CA
        file (tls_ca_cert) in its secrets directory."""
        secrets = self.nodes[name].root / "secrets"
        (secrets / tls.CA_FILE).write_text(self.tls_ca_cert)
        for file, text in (issuer or self.authority).files(spec).items():
            (secrets / file).write_text(text)
            (secrets / file).chmod(0o600)

    def trust(self, *authorities: Authority) -> None:
        """Every node's CA file, and the clients' CA (tls_ca_cert), become the bundle of these CAs' certificates, as
        tlsCaGenerations with two generations makes it (components/certificates.py); a node reads its file when it
        starts."""
        self.ca_bundle = tls.ca_bundle(authority.cert_pem for authority in authorities)
        for local in self.nodes.values():
            (local.root / "secrets" / tls.CA_FILE).write_text(self.ca_bundle)

    @property
    def tls_ca_cert(self) -> str:
        """The CA certificates the nodes and clients trust (PEM); "" without TLS."""
        return self.ca_bundle

    @property
    def tls_options(self) -> dict:
        """redis-py's options for this deployment's TLS ({} without TLS)."""
        return tls.client_options(self.tls_ca_cert) if self.authority else {}

    @property
    def redis_password(self) -> str:
        """The application user's, on the Redis nodes."""
        return self.passwords[users.APP.key]

    @property
    def sentinel_password(self) -> str:
        """The application user's, on the Sentinels."""
        return self.passwords[users.SENTINEL_CLIENT.key]

    @property
    def redis_admin_password(self) -> str:
        return self.passwords[users.ADMIN.key]

    @property
    def sentinel_admin_password(self) -> str:
        return self.passwords[users.SENTINEL_ADMIN.key]

    def env(self, local: LocalNode) -> dict[str, str]:
        return {
            **os.environ,
            "FESTIVAL_CONF_DIR": str(local.root / "conf"),
            "FESTIVAL_SECRETS_DIR": str(local.root / "secrets"),
            "FESTIVAL_DATA_DIR": str(local.data_dir),
            "FESTIVAL_NODE_HOST": local.node.address.host,
            "FESTIVAL_NODE_PORT": str(local.port),
            "FESTIVAL_BIND_ADDRESS": "127.0.0.1",
            MARKER: f"{RUN_ID}:{local.tag}",
        }

    def run_script(self, name: str, *args: str, timeout: float = 10) -> subprocess.CompletedProcess:
        """Run one of a node's rendered scripts (probe.sh, ...) with that node's environment."""
        node_name, script = name.split("/", 1)
        local = self.nodes[node_name]
        return subprocess.run(
            ["sh", str(local.root / "conf" / script), *args],
            env=self.env(local),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def probe(self, name: str, check: str) -> int:
        """probe.sh CHECK on a node, as a healthcheck or probe runs it; its exit code."""
        return self.run_script(f"{name}/probe.sh", check).returncode

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self, name: str) -> None:
        local = self.nodes[name]
        if local.running():
            raise RuntimeError(f"{name} is already running")
        if left := end_leftovers(local.tag):  # a grace for processes just killed, still exiting
            raise RuntimeError(f"{name}: processes of its previous run were still there (now killed): {left}")
        entrypoint = "sentinel-entrypoint.sh" if local.is_sentinel else "redis-entrypoint.sh"
        log = open(local.log_path, "ab")
        local.process = subprocess.Popen(
            ["sh", str(local.root / "conf" / entrypoint)],
            env=self.env(local),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def start_all(self, wait: bool = True) -> None:
        for name in self.nodes:
            self.start(name)
        if wait:
            self.wait_healthy()

    def signal(self, name: str, sig: int) -> None:
        """`sig` to the node's process group; SIGKILL, SIGSTOP and SIGCONT also to the node's processes outside it
        (`timeout` runs its command in a group of its own), as a container runtime kills, freezes and thaws every
        process of a container."""
        local = self.nodes[name]
        if local.running():
            os.killpg(local.process.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT):
            self._signal_tagged(local, sig)

    @staticmethod
    def _signal_tagged(local: LocalNode, sig: int) -> None:
        for pid in leftover_processes(local.tag):
            try:
                os.kill(pid, sig)
            except OSError:  # gone meanwhile
                pass

    def kill(self, name: str) -> None:
        """SIGKILL, like a crashed host: no shutdown save, no goodbye to clients."""
        self.signal(name, signal.SIGKILL)
        self.nodes[name].process.wait(timeout=10)

    def terminate(self, name: str, timeout: float = 60) -> int:
        """SIGTERM to the node's entrypoint only, as `docker stop` and the kubelet send it to a container's first
        process; its exit code once it has stopped. Outside a container nothing ends what the entrypoint leaves
        running, so anything of the node still there once its helpers' grace has passed is killed and reported as
        the entrypoint's defect."""
        local = self.nodes[name]
        local.process.send_signal(signal.SIGTERM)
        status = local.process.wait(timeout=timeout)
        if left := end_leftovers(local.tag):
            raise RuntimeError(f"{name}: its entrypoint exited on SIGTERM and left running (now killed): {left}")
        return status

    def pause(self, name: str) -> None:
        self.signal(name, signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.signal(name, signal.SIGCONT)

    def stop(self, name: str, timeout: float = 10) -> None:
        """SIGTERM to the node's whole process group (SIGKILL after `timeout`); once its entrypoint has exited,
        whatever of the node is left is killed, as a container runtime does: nothing a node started outlives it."""
        local = self.nodes[name]
        if local.process is None:
            return
        if local.running():
            self.signal(name, signal.SIGCONT)
            self.signal(name, signal.SIGTERM)
            try:
                local.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal(name, signal.SIGKILL)
                local.process.wait(timeout=10)
        # By its tag, not its group id: once the group is empty its id may be anyone's.
        self._signal_tagged(local, signal.SIGKILL)
        end_leftovers(local.tag, grace=2)

    def restart(self, name: str) -> None:
        self.stop(name)
        self.start(name)

    def wipe(self, name: str) -> None:
        """Lose a node's volume: its data directory is replaced by an empty one."""
        local = self.nodes[name]
        if local.running():
            raise RuntimeError(f"{name} is running; stop or kill it before wiping its data")
        shutil.rmtree(local.data_dir)
        local.data_dir.mkdir()

    def stop_all(self) -> None:
        """Stop every node, the Sentinels first (so a master's prestop.sh finds none to hand over through and stops
        at once); raise if anything the deployment started is still running afterwards."""
        for name in sorted(self.nodes, key=lambda name: not self.nodes[name].is_sentinel):
            try:
                self.stop(name, timeout=5)
            except (OSError, subprocess.SubprocessError):
                self.signal(name, signal.SIGKILL)
        if left := end_leftovers(f"{self.root}/"):
            raise RuntimeError(f"processes of {self.root.name} survived stop_all (now killed): {left}")

    def logs(self) -> str:
        parts = []
        for name, local in self.nodes.items():
            text = local.log_path.read_text(errors="replace") if local.log_path.exists() else ""
            parts.append(f"--- {name} ---\n{text[-30000:]}")
        return "\n".join(parts)

    # --- clients ---------------------------------------------------------------------------
    def client(self, name: str, **kwargs) -> redis.Redis:
        """A client of one node as its admin user (Redis or Sentinel); `username`/`password` to log in as another."""
        local = self.nodes[name]
        password = self.sentinel_admin_password if local.is_sentinel else self.redis_admin_password
        return self.admin_client("127.0.0.1", local.port, password, **kwargs)

    def address(self, name: str) -> str:
        """A node's announced host:port."""
        return str(self.nodes[name].node.address)

    def writer(self, wait_replicas: int = 0) -> Writer:
        """A Sentinel-aware writer (not started) that counts acknowledged writes."""
        return Writer(
            [(node.address.host, node.address.port) for node in self.topology.sentinels],
            self.topology.master_name,
            self.redis_password,
            self.sentinel_password,
            wait_replicas=wait_replicas,
            tls=self.tls_options,
        )

    @property
    def master_name(self) -> str:
        return self.topology.master_name

    def redis_names(self) -> list[str]:
        return [node.name for node in self.topology.redis_nodes]

    def sentinel_names(self) -> list[str]:
        return [node.name for node in self.topology.sentinels]

    def node_of(self, host: str, port: int) -> str:
        for node in self.topology.redis_nodes:
            if str(node.address) == f"{host}:{port}":
                return node.name
        raise KeyError(f"{host}:{port}")

    def failover_seconds(self) -> float:
        """How long a failover may take once its fault happened: down-after, then a second election if the first
        one failed (Sentinel retries after twice the failover-timeout), and a 5 s margin for the promotion and for
        every Sentinel to hear of it (hello messages every 2 s)."""
        return (self.settings.down_after_milliseconds + 2 * self.settings.failover_timeout) / 1000 + 5

    def target(self, **overrides) -> Target:
        """What the replication checks need to verify this deployment."""
        target = Target.for_deployment(
            self.settings,
            self.topology,
            self.redis_admin_password,
            self.sentinel_admin_password,
            tls_ca_cert=self.tls_ca_cert,
        )
        return dataclasses.replace(target, **overrides)

    def wait_healthy(self, timeout: float = 30) -> Report:
        """The replication checks pass: one master, every replica linked, every Sentinel agreeing."""
        report = check_deployment(self.target(), settle_seconds=timeout)
        if report.status != HEALTHY:
            raise TimeoutError(f"not healthy after {timeout}s: {report.summary()}\n{self.logs()}")
        return report
