"""Running the runbook's blocks (docs/operations.md, docs/dev.md, docs/prod.md) as a reader would: the pages, the
stand-in tools, and one block's commands run in order. Shared by tests/docs/test_runbook.py and
tests/docs/test_runbook_prod.py."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from components.render import REDIS_STOP_GRACE_SECONDS
from tests.docs import pulumi_cli
from tests.docs.markdown import ROOT, blocks
from tests.docs.pulumi_state import stack_record

OPERATIONS = ROOT / "docs" / "operations.md"
DEV = ROOT / "docs" / "dev.md"
ERROR_REPLY = re.compile(
    r"^(\(error\) )?(ERR|NOAUTH|WRONGPASS|NOPERM|READONLY|NOREPLICAS|MASTERDOWN|LOADING|BUSY|NOQUORUM|WRONGTYPE|"
    r"EXECABORT|MISCONF|NOSCRIPT|OOM|IDONTKNOW|INVALIDPASSWORD)\b|Could not connect to Redis|AUTH failed",
    re.M,
)
# The dev stack's default host ports, as the runbook writes them, by node (docs/dev.md's table).
DEFAULT_PORTS = {
    6379: "redis-master",
    6380: "redis-replica-1",
    6381: "redis-replica-2",
    26379: "sentinel-1",
    26380: "sentinel-2",
    26381: "sentinel-3",
}
HOST_PORT = re.compile(r"(-h 127\.0\.0\.1 -p )(\d+)")
NODE_NAME = re.compile(r"\bfestival-(?=redis-|sentinel-)")
FAKE_DOCKER = '''#!{python}
"""Stand-in for `docker exec <node> cat /etc/festival-secrets/<key>` in the loopback runbook test."""
import json, os, sys
args = sys.argv[1:]
nodes = {nodes}
if len(args) != 4 or args[0] != "exec" or args[1] not in nodes or args[2] != "cat" \\
        or not args[3].startswith("/etc/festival-secrets/"):
    sys.exit("test docker: only `docker exec <node> cat /etc/festival-secrets/<key>` is available here, not: "
             + " ".join(args))
passwords = json.load(open(os.environ["FESTIVAL_TEST_PASSWORDS"]))
print(passwords[args[3].rsplit("/", 1)[1]])
'''


def tagged(path: Path, tag: str):
    return [block for block in blocks(path) if block.tag == tag]


def make_tools(directory: Path, program=None, secret_files: dict[str, str] | None = None) -> dict[str, str]:
    """A bin directory with, given a mocked run of the program, the stand-in pulumi answering for its stack (and,
    given `secret_files`, the stand-in docker answering them), and the environment that selects them."""
    directory.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    env["PATH"] = f"{directory}{os.pathsep}{env['PATH']}"
    if program is not None:
        env.update(pulumi_cli.install(directory, {program.stack: stack_record(program)}))
    if secret_files is not None:
        docker = directory / "docker"
        nodes = sorted(f"festival-{node}" for node in DEFAULT_PORTS.values())
        docker.write_text(FAKE_DOCKER.format(python=sys.executable, nodes=nodes))
        docker.chmod(stat.S_IRWXU)
        passwords = directory / "passwords.json"
        passwords.touch(mode=0o600)
        passwords.write_text(json.dumps(secret_files))
        env.update(FESTIVAL_TEST_PASSWORDS=str(passwords))
    return env


# A `docker stop` may take the container's whole stop timeout (a master hands its role over, then saves).
COMMAND_TIMEOUT = REDIS_STOP_GRACE_SECONDS + 30


EXPORT = re.compile(r"export (\w+)=(.*)")


def run_block(
    commands: list[tuple[int, str]], env: dict, where: str, substitute, only_host_cli: bool = False, cwd: Path = ROOT
) -> list:
    """Run each command of a block in order, each in its own bash. An `export NAME=VALUE` line is evaluated once,
    where it stands, as in the reader's shell (a failing command substitution in it fails the line), and NAME is set
    for the commands after it. Returns (line, command, output) of every command run."""
    env = dict(env)
    ran = []
    for line, command in commands:
        command = substitute(command)
        export = EXPORT.fullmatch(command)
        if export:
            name, value = export.groups()
            script = f'{name}={value}\nprintf %s "${name}"'
        elif only_host_cli and not command.startswith("redis-cli "):
            continue
        else:
            script = command
        result = subprocess.run(
            ["bash", "-c", "set -e -o pipefail\n" + script],
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            cwd=cwd,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{where}:{line}: `{command}` exited {result.returncode}:\n{output}"
        if export:
            env[name] = result.stdout
            continue
        if "redis-cli" in command:
            error = ERROR_REPLY.search(output)
            assert not error, f"{where}:{line}: `{command}` answered an error ({error.group(0)!r}):\n{output}"
        ran.append((line, command, output))
    return ran


PROD_PAGES = (OPERATIONS, ROOT / "docs" / "prod.md")
# The prod lines tests/docs/test_runbook_prod.py does not run: listing and describing objects (the stand-in kubectl
# does not model them; their names are checked here), the previous container's log (the runner keeps none apart),
# and the health check, which tests/docs/test_checks_prod.py runs.
NOT_RUN = re.compile(
    r"^kubectl (get (pods|svc|pdb|events)|describe) |--previous|^venv/bin/python -m components\.checks "
)
