"""python -m components.checks: verify a deployment's replication; exit 0 healthy, 1 unhealthy, 2 unreachable
or bad usage.

Either from a stack (`--stack dev`: its settings from `pulumi config --json`, its host addresses and CA from
`pulumi stack output --json`), or from explicit endpoints. Passwords never come on the command line: from the
stack, or from the environment variables REDIS_PASSWORD / SENTINEL_PASSWORD, or from files: the admin users'
passwords, which may run INFO and SENTINEL. A stack does not export them (every stack referencing it could read
them): the CLI reads them from the stack's state (`pulumi stack export --show-secrets`), which whoever may run
`pulumi up` may read: the result of the RandomPassword of each one's current generation (passwordGenerations).

A prod (Kubernetes) stack's nodes announce in-cluster DNS names that a laptop cannot resolve or reach. With
`--stack prod --port-forward` the CLI starts one `kubectl --context <kubeContext> port-forward` per pod (to
127.0.0.1, ports from --local-port, default 16379 onwards), maps every announced name to its forwarded port, runs
the checks and stops the port-forwards. A port-forward reaches the pod's own loopback, so the NetworkPolicy does not
apply to it. With `--forwarded` it assumes you started those port-forwards yourself (`--print-port-forwards`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from components import users
from components.checks.invariants import EXIT_CODES, UNREACHABLE, Report
from components.checks.observe import Target, check_deployment, nat_addresses
from components.settings import CONFIG_NAMESPACE, IN_CLUSTER, Settings, SettingsError
from components.topology import topology_for

USAGE_ERROR = EXIT_CODES[UNREACHABLE]
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
ADMINS = (users.ADMIN, users.SENTINEL_ADMIN)
LOCAL_PORT_BASE = 16379
PORT_FORWARD_WAIT_SECONDS = 20


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m components.checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", help="read endpoints and passwords from this Pulumi stack's outputs and state")
    parser.add_argument("--master-name", default="festival-master")
    parser.add_argument("--redis", action="append", default=[], metavar="HOST:PORT", help="a Redis node (repeat)")
    parser.add_argument("--sentinel", action="append", default=[], metavar="HOST:PORT", help="a Sentinel (repeat)")
    parser.add_argument(
        "--nat", action="append", default=[], metavar="ANNOUNCED=REACHABLE", help="address translation (repeat)"
    )
    parser.add_argument("--redis-password-file", help="default: $REDIS_PASSWORD")
    parser.add_argument("--sentinel-password-file", help="default: $SENTINEL_PASSWORD")
    parser.add_argument("--tls-ca-cert", metavar="FILE", help="connect with TLS, verifying the nodes with this CA")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds per connection and reply (default 1)")
    parser.add_argument(
        "--max-lag",
        type=int,
        default=Settings().min_replicas_max_lag,
        metavar="SECONDS",
        help="replica lag bound for explicit endpoints (default: the minReplicasMaxLag default)",
    )
    parser.add_argument(
        "--certificate-min-days-left",
        type=int,
        default=Settings().certificate_min_days_left,
        metavar="DAYS",
        help="with --tls-ca-cert, fail a node whose certificate expires sooner (default: the certificateMinDaysLeft "
        "default; a stack's own setting with --stack)",
    )
    parser.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="re-check until healthy for up to this long"
    )
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    prod = parser.add_argument_group("prod (Kubernetes) stacks")
    prod.add_argument(
        "--port-forward", action="store_true", help="start a kubectl port-forward per pod for the check, then stop it"
    )
    prod.add_argument("--forwarded", action="store_true", help="the port-forwards run already (--print-port-forwards)")
    prod.add_argument(
        "--print-port-forwards", action="store_true", help="print the kubectl port-forward commands and exit"
    )
    prod.add_argument(
        "--local-port",
        type=int,
        default=LOCAL_PORT_BASE,
        metavar="PORT",
        help=f"first local port of the port-forwards (default {LOCAL_PORT_BASE})",
    )
    prod.add_argument("--kubectl", default="kubectl", help="the kubectl binary (default: kubectl on PATH)")
    return parser.parse_args(argv)


def _address(text: str, what: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"{what} {text!r}: expected HOST:PORT")
    return text


def _password(file: str | None, variable: str) -> str:
    if file:
        with open(file) as handle:
            return handle.read().strip()
    if variable in os.environ:
        return os.environ[variable]
    raise UsageError(f"no password: set ${variable} or pass --{variable.lower().replace('_', '-')}-file")


def _pulumi_json(*args: str, flag: tuple[str, ...] = ("--json",)) -> dict:
    try:
        result = subprocess.run(["pulumi", *args, *flag], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise UsageError("--stack needs the pulumi CLI on PATH") from None
    if result.returncode != 0:
        raise UsageError(f"pulumi {' '.join(args)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def stack_settings(stack: str) -> Settings:
    config = _pulumi_json("config", "--stack", stack)
    prefix = f"{CONFIG_NAMESPACE}:"
    values = {key[len(prefix) :]: entry.get("value") for key, entry in config.items() if key.startswith(prefix)}
    return Settings.from_config(values)


def admin_passwords(state: dict, settings: Settings) -> dict[str, str]:
    """The admin users' current passwords by key (users.ADMIN, users.SENTINEL_ADMIN), from a stack's state as
    `pulumi stack export --show-secrets` prints it: the result of each one's RandomPassword of the generation that
    passwordGenerations makes current (users.current_password_name)."""
    resources = state.get("deployment", {}).get("resources") or []
    generations = settings.password_generation_numbers
    found = {}
    for user in ADMINS:
        name = users.current_password_name(settings.name_prefix, user.key, generations)
        matches = [r for r in resources if r.get("type") == RANDOM_PASSWORD and r["urn"].rsplit("::", 1)[-1] == name]
        if len(matches) != 1:
            raise UsageError(
                f"the stack's state has {len(matches) or 'no'} RandomPassword {name}: the {user.server} admin's "
                f"password, generation {max(generations.get(user.key, (1,)))} of {user.key} by passwordGenerations "
                f"({settings.password_generations!r}); if passwordGenerations changed, run pulumi up first"
            )
        result = (matches[0].get("outputs") or {}).get("result")
        if isinstance(result, dict):  # a secret: {"<sig key>": "<secret sig>", "plaintext": "<the value as JSON>"}
            if "plaintext" not in result:
                raise UsageError(f"RandomPassword {name}'s result is encrypted: export the state with --show-secrets")
            result = json.loads(result["plaintext"])
        if not isinstance(result, str):
            raise UsageError(f"RandomPassword {name} has no result in the stack's state")
        found[user.key] = result
    return found


def target_from_stack(stack: str, settings: Settings, timeout: float, local_port_base: int | None = None) -> Target:
    """A Target for a deployed stack: its outputs, and the admin passwords from its state."""
    outputs = _pulumi_json("stack", "output", "--stack", stack)
    state = _pulumi_json("stack", "export", "--show-secrets", "--stack", stack, flag=())
    return target_from_outputs(outputs, admin_passwords(state, settings), settings, timeout, local_port_base)


def port_forwards(settings: Settings, base: int, kubectl: str = "kubectl") -> list[tuple[str, list[str]]]:
    """(announced address, kubectl command) of every pod of a prod stack, forwarded to 127.0.0.1:base, base+1, ..."""
    topology = topology_for(settings)
    return [
        (
            str(node.address),
            [
                kubectl,
                *(["--context", settings.kube_context] if settings.kube_context != IN_CLUSTER else []),
                "--namespace",
                settings.namespace,
                "port-forward",
                "--address",
                "127.0.0.1",
                f"pod/{node.name}",
                f"{base + i}:{node.address.port}",
            ],
        )
        for i, node in enumerate(topology.nodes)
    ]


def _kubernetes_nat_map(settings: Settings, local_port_base: int | None) -> dict[str, str]:
    if local_port_base is None:
        commands = "\n".join("  " + " ".join(cmd) for _, cmd in port_forwards(settings, LOCAL_PORT_BASE))
        raise UsageError(
            "a prod (Kubernetes) stack's nodes announce in-cluster DNS names, unreachable from here. Inside the "
            "cluster the check Job runs the same checks on every `pulumi up`. From here, add --port-forward (this "
            "tool starts and stops one kubectl port-forward per pod), or start these yourself and add --forwarded:\n"
            + commands
        )
    return {
        announced: f"127.0.0.1:{cmd[-1].split(':')[0]}" for announced, cmd in port_forwards(settings, local_port_base)
    }


def target_from_outputs(
    outputs: dict, passwords: dict[str, str], settings: Settings, timeout: float, local_port_base: int | None = None
) -> Target:
    """A Target for a stack: its settings, its outputs, the admin users' passwords by key (admin_passwords), and how
    to reach the announced names: a dev stack's natMap output (published host ports), or a prod stack's
    port-forwards from local_port_base."""
    if settings.platform != "docker":
        nat_map = _kubernetes_nat_map(settings, local_port_base)  # says what to do when there are no forwards
    elif "natMap" not in outputs:
        raise UsageError("the stack has no natMap output (deployed before it existed? run pulumi up)")
    else:
        nat_map = nat_addresses(outputs["natMap"])
    tls_ca_cert = outputs.get("tlsCaCert", "")  # with TLS on: connect with TLS, verifying the nodes with the CA
    return Target.for_deployment(
        settings,
        topology_for(settings),
        passwords[users.ADMIN.key],
        passwords[users.SENTINEL_ADMIN.key],
        nat_map,
        timeout=timeout,
        tls_ca_cert=tls_ca_cert,
    )


def target_from_args(args: argparse.Namespace) -> Target:
    if not args.redis or not args.sentinel:
        raise UsageError("give --stack, or at least one --redis and one --sentinel")
    nat_map = {}
    for pair in args.nat:
        announced, sep, reachable = pair.partition("=")
        if not sep:
            raise UsageError(f"--nat {pair!r}: expected ANNOUNCED=REACHABLE")
        nat_map[_address(announced, "--nat")] = _address(reachable, "--nat")
    return Target(
        master_name=args.master_name,
        redis_nodes=tuple(_address(a, "--redis") for a in args.redis),
        sentinels=tuple(_address(a, "--sentinel") for a in args.sentinel),
        redis_password=_password(args.redis_password_file, "REDIS_PASSWORD"),
        sentinel_password=_password(args.sentinel_password_file, "SENTINEL_PASSWORD"),
        max_lag_seconds=args.max_lag,
        nat_map=nat_map,
        timeout=args.timeout,
        tls_ca_cert=Path(args.tls_ca_cert).read_text() if args.tls_ca_cert else "",
        certificate_min_days_left=args.certificate_min_days_left,
    )


def format_table(report: Report) -> str:
    rows = [("NODE", "ROLE", "STATE")]
    for view in report.observation.redis:
        state = view.error or (
            f"master, {view.connected_slaves} replicas"
            if view.role == "master"
            else f"link {view.link} to {view.master}"
        )
        rows.append((view.address, view.role or "?", state + _certificate_text(view)))
    for view in report.observation.sentinels:
        state = (
            view.error
            or f"master {view.master}, {view.num_slaves} replicas, {view.num_other_sentinels} peers, {view.ckquorum}"
        )
        rows.append((view.address, "sentinel", state + _certificate_text(view)))
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{a:<{width[0]}}  {b:<{width[1]}}  {c}" for a, b, c in rows]
    lines += ["", *(f"FAIL {failure}" for failure in report.failures), report.status.upper()]
    return "\n".join(lines)


def _certificate_text(view) -> str:
    """'; certificate 351.2 days left (to 2027-...Z)' for a node observed over TLS."""
    seen = view.certificate
    if view.error or seen is None:
        return ""
    if seen.days_left is None:
        return f"; certificate unreadable: {seen.error}"
    return f"; certificate {seen.days_left:.1f} days left (to {seen.not_after})"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running_port_forwards(commands: list[list[str]], wait: float = PORT_FORWARD_WAIT_SECONDS):
    """Start every kubectl port-forward, wait until each local port accepts connections, and stop them all
    (the processes this started, by their handles) on the way out, whatever happens."""
    processes: list[subprocess.Popen] = []
    try:
        for command in commands:
            try:
                processes.append(
                    subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                )
            except FileNotFoundError:
                raise UsageError(f"--port-forward needs {command[0]} on PATH") from None
        deadline = time.monotonic() + wait
        for command, process in zip(commands, processes):
            port = int(command[-1].split(":")[0])
            while not _listening(port):
                if process.poll() is not None:
                    error = (process.stderr.read() if process.stderr else "").strip()
                    raise UsageError(f"{' '.join(command)} exited {process.returncode}: {error}")
                if time.monotonic() > deadline:
                    raise UsageError(f"{' '.join(command)}: 127.0.0.1:{port} not listening after {wait:g} s")
                time.sleep(0.1)
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    forwarding = args.port_forward or args.forwarded
    try:
        if args.print_port_forwards:
            if not args.stack:
                raise UsageError("--print-port-forwards needs --stack")
            for _, command in port_forwards(stack_settings(args.stack), args.local_port, args.kubectl):
                print(" ".join(command) + " &")
            return 0
        if forwarding and not args.stack:
            raise UsageError("--port-forward and --forwarded need --stack (a prod stack)")
        if args.stack:
            settings = stack_settings(args.stack)
            if forwarding and settings.platform == "docker":
                raise UsageError(
                    "--port-forward and --forwarded are for prod (Kubernetes) stacks: dev publishes its ports"
                )
            target = target_from_stack(args.stack, settings, args.timeout, args.local_port if forwarding else None)
        else:
            target = target_from_args(args)
        if args.port_forward:
            commands = [command for _, command in port_forwards(settings, args.local_port, args.kubectl)]
            with running_port_forwards(commands):
                report = check_deployment(target, settle_seconds=args.wait)
        else:
            report = check_deployment(target, settle_seconds=args.wait)
    except (UsageError, SettingsError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_table(report))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
