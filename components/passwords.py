"""Applying changed passwords to running nodes, without restarting them (docs/security.md, "Rotating a password").

Every node's secrets hold, for every user's password key KEY (users.User.key), the file KEY (the current
password: what this node sends) and KEY.previous (while KEY is rotated, the other password its user still accepts;
otherwise the current one again, or no file). The entrypoints build the users and what the node sends from them
at every start; on a running node, the rendered passwords.sh does the same at run time:

- `passwords.sh accept` sets every user of the node's server to exactly the passwords its files allow;
- `passwords.sh use` makes the node send the current passwords: a Redis node's `masterauth`, a Sentinel's
  `auth-pass` towards the nodes and `sentinel-pass` towards its peers.

`apply` runs `accept` on every node and only then `use` on every node, so no node ever sends a password a
peer does not yet accept. No pulumi import: the loopback harness, the Docker provider (docker exec) and the
Kubernetes provider (pod exec) run the same `apply` through their own `ScriptRunner`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from components import users

SCRIPT = "passwords.sh"
PREVIOUS = ".previous"  # KEY + PREVIOUS: the other accepted password while KEY is rotated
NOT_YET = 3  # passwords.sh's exit code when the node's mounted files are not yet those expected
NO_ANSWER = 4  # ... when the node did not answer in time (a loaded host) or at all (a restarting container)
ASK_AGAIN = (NOT_YET, NO_ANSWER)  # both are asked again until the deadline; any other failure stops
FINGERPRINT_LENGTH = 16
POLL_SECONDS = 2.0
# How long every node may take to have the expected files mounted (kubelet's Secret volume sync: about a minute).
TIMEOUT_SECONDS = 300
KEYS = tuple(user.key for user in users.USERS)  # in this order in the fingerprint (render: PASSWORD_KEYS)

T = TypeVar("T")


def secret_files(current: Mapping[str, T], previous: Mapping[str, T]) -> dict[str, T]:
    """What a node's secrets hold: KEY (current) and KEY.previous (the other accepted password while rotating, else
    the current one again: on Docker a file of the secrets volume is overwritten, never removed)."""
    files = {}
    for key, value in current.items():
        files[key] = value
        files[key + PREVIOUS] = previous.get(key, value)
    return files


def fingerprint(files: Mapping[str, str]) -> str:
    """A digest of the passwords a node's secret files hold (KEY and KEY.previous for every user), the same as
    passwords.sh computes from the mounted files: for every key, the current password and the previous one (empty
    when absent or equal to the current one), each followed by a newline; SHA-256, first 16 hex digits."""
    text = ""
    for key in KEYS:
        current = files[key]
        previous = files.get(key + PREVIOUS, "")
        text += f"{current}\n{previous if previous != current else ''}\n"
    return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_LENGTH]


class ScriptRunner(Protocol):
    def run(self, node: str, args: Sequence[str]) -> tuple[int, str]:
        """Run `passwords.sh ARGS...` on the node named `node` (a container, a pod); its exit code and output."""


class PasswordsNotApplied(RuntimeError):
    pass


def apply(runner: ScriptRunner, nodes: Sequence[str], expected: str, timeout: float = TIMEOUT_SECONDS) -> list[str]:
    """`accept` on every node (by name), then `use` on every node, each once the node's mounted files match the
    `expected` fingerprint (a Kubernetes Secret volume catches up with the Secret within a minute or two) and has
    answered; what was done."""
    done = []
    deadline = time.monotonic() + timeout
    for step in ("accept", "use"):
        for node in nodes:
            while True:
                code, output = runner.run(node, [step, expected])
                if code == 0:
                    break
                if code not in ASK_AGAIN or time.monotonic() > deadline:
                    raise PasswordsNotApplied(f"{SCRIPT} {step} on {node} exited {code}: {output.strip()}")
                time.sleep(POLL_SECONDS)
            done.append(f"{step} {node}")
    return done
