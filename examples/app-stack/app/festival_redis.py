"""How festival-app connects to festival-redis: it reads the connection variables (docs/clients.md, "Connection
variables"), which its stack gives the container from the clientEnv output, and the files they name, once at start.

The result holds redis-py's arguments for the client docs/clients.md recommends (its timeouts, retries and
connection class stay as written there): the Sentinels, the master set name, the two users and their passwords, and
the TLS arguments for the Sentinels and the nodes alike. The tests build that client from it and write and read
through a failover on both stacks (tests/docker/test_tls.py, tests/pods/test_handover_apps.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RedisConnection:
    sentinels: list[tuple[str, int]]
    master_name: str
    username: str
    password: str = field(repr=False)
    sentinel_username: str
    sentinel_password: str = field(repr=False)
    tls: dict = field(repr=False)  # redis-py's TLS arguments, for the Sentinels and the nodes; {} without TLS


def from_env(environ: Mapping[str, str] = os.environ) -> RedisConnection:
    """The connection the variables describe; a missing or bad one stops the application, naming it."""

    def required(name: str) -> str:
        value = environ.get(name, "")
        if not value:
            raise ValueError(f"{name} is not set: give the container festival-redis' clientEnv stack output")
        return value

    def file(name: str) -> str:
        path = required(name)
        try:
            return Path(path).read_text()
        except OSError as error:
            raise ValueError(f"{name} = {path!r}: cannot read it ({error.strerror})") from error

    def endpoint(text: str) -> tuple[str, int]:
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"REDIS_SENTINELS: {text!r} is not host:port")
        return host, int(port)

    use_tls = required("REDIS_TLS")
    if use_tls not in ("true", "false"):
        raise ValueError(f"REDIS_TLS = {use_tls!r}: must be true or false")
    # Host names checked: every certificate names what Sentinel announces for its node.
    tls = {"ssl": True, "ssl_ca_data": file("REDIS_CA_FILE"), "ssl_check_hostname": True} if use_tls == "true" else {}
    return RedisConnection(
        sentinels=[endpoint(text) for text in required("REDIS_SENTINELS").split(",")],
        master_name=required("REDIS_MASTER_NAME"),
        username=required("REDIS_USERNAME"),
        password=file("REDIS_PASSWORD_FILE"),
        sentinel_username=required("REDIS_SENTINEL_USERNAME"),
        sentinel_password=file("REDIS_SENTINEL_PASSWORD_FILE"),
        tls=tls,
    )
