"""python -m components.checks: verify a deployment's replication; exit 0 healthy, 1 unhealthy, 2 unreachable
or bad usage.

Either from a stack (`--stack dev`: its settings from `pulumi config`, its passwords and host addresses from
`pulumi stack output --show-secrets`), or from explicit endpoints. Passwords never come on the command line:
from the stack, or from the environment variables REDIS_PASSWORD / SENTINEL_PASSWORD, or from files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from components.checks.invariants import EXIT_CODES, UNREACHABLE, Report
from components.checks.observe import Target, check_deployment
from components.config import NAMESPACE as CONFIG_NAMESPACE
from components.platform import topology_for
from components.settings import Settings, SettingsError

USAGE_ERROR = EXIT_CODES[UNREACHABLE]


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m components.checks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", help="read endpoints and passwords from this Pulumi stack's outputs")
    parser.add_argument("--master-name", default="festival-master")
    parser.add_argument("--redis", action="append", default=[], metavar="HOST:PORT", help="a Redis node (repeat)")
    parser.add_argument("--sentinel", action="append", default=[], metavar="HOST:PORT", help="a Sentinel (repeat)")
    parser.add_argument(
        "--nat", action="append", default=[], metavar="ANNOUNCED=REACHABLE", help="address translation (repeat)"
    )
    parser.add_argument("--redis-password-file", help="default: $REDIS_PASSWORD")
    parser.add_argument("--sentinel-password-file", help="default: $SENTINEL_PASSWORD")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds per connection and reply (default 1)")
    parser.add_argument(
        "--max-lag",
        type=int,
        default=Settings().min_replicas_max_lag,
        metavar="SECONDS",
        help="replica lag bound for explicit endpoints (default: the minReplicasMaxLag default)",
    )
    parser.add_argument(
        "--wait", type=float, default=0, metavar="SECONDS", help="re-check until healthy for up to this long"
    )
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
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


def _pulumi_json(*args: str) -> dict:
    try:
        result = subprocess.run(["pulumi", *args, "--json"], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise UsageError("--stack needs the pulumi CLI on PATH") from None
    if result.returncode != 0:
        raise UsageError(f"pulumi {' '.join(args)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def target_from_stack(stack: str, timeout: float) -> Target:
    config = _pulumi_json("config", "--stack", stack)
    outputs = _pulumi_json("stack", "output", "--show-secrets", "--stack", stack)
    prefix = f"{CONFIG_NAMESPACE}:"
    values = {key[len(prefix) :]: entry.get("value") for key, entry in config.items() if key.startswith(prefix)}
    return target_from_outputs(outputs, Settings.from_config(values), timeout)


def target_from_outputs(outputs: dict, settings: Settings, timeout: float) -> Target:
    """A Target for a dev stack: its settings, and from its outputs the passwords and natMap (host addresses)."""
    if settings.platform != "docker":
        raise UsageError(
            "--stack reads dev (Docker) stacks: inside a cluster the check Job runs the same checks; "
            "from outside, pass --redis/--sentinel/--nat for port-forwarded nodes"
        )
    missing = [k for k in ("natMap", "redisPassword", "sentinelPassword") if k not in outputs]
    if missing:
        raise UsageError(f"the stack has no output {', '.join(missing)}")
    nat_map = {announced: f"{to['host']}:{to['port']}" for announced, to in outputs["natMap"].items()}
    return Target.for_deployment(
        settings,
        topology_for(settings),
        outputs["redisPassword"],
        outputs["sentinelPassword"],
        nat_map,
        timeout=timeout,
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
    )


def format_table(report: Report) -> str:
    rows = [("NODE", "ROLE", "STATE")]
    for view in report.observation.redis:
        state = view.error or (
            f"master, {view.connected_slaves} replicas"
            if view.role == "master"
            else f"link {view.link} to {view.master}"
        )
        rows.append((view.address, view.role or "?", state))
    for view in report.observation.sentinels:
        state = (
            view.error
            or f"master {view.master}, {view.num_slaves} replicas, {view.num_other_sentinels} peers, {view.ckquorum}"
        )
        rows.append((view.address, "sentinel", state))
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{a:<{width[0]}}  {b:<{width[1]}}  {c}" for a, b, c in rows]
    lines += ["", *(f"FAIL {failure}" for failure in report.failures), report.status.upper()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        target = target_from_stack(args.stack, args.timeout) if args.stack else target_from_args(args)
    except (UsageError, SettingsError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR
    report = check_deployment(target, settle_seconds=args.wait)
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_table(report))
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
