"""Applications wired as the docs say, run for real against a deployment.

Two readers of the connection variables (components/connection.py, docs/clients.md "Connection variables"): the
example application's Python code (examples/app-stack/app/festival_redis.py) and the NestJS provider's
`redis.options.ts` (docs/migration.md), which runs in Node.js after the TypeScript compiler stripped its types
(harness/provider_options.js; ioredis itself cannot be installed here, so its options go to redis-py). Each gives a
RedisConnection, from which `writer` builds the client docs/clients.md recommends (harness/writer.py).

They run on the host, not in a container of the deployment's network: `on_host` writes the files the container would
have under a directory of the test's and points the variables that name them there, and `writer` reaches the
Sentinels and the nodes through the deployment's NAT map, as every host-side client of the harness does.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest

from harness.runtime import wait_until
from harness.writer import Writer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_APP = ROOT / "examples" / "app-stack" / "app" / "festival_redis.py"
MIGRATION = ROOT / "docs" / "migration.md"
PROVIDER_FILE = "redis.options.ts"  # the block of docs/migration.md that starts with `// redis.options.ts`
NODE_RUNNER = Path(__file__).with_name("provider_options.js")
NODE_MODULES = "/usr/share/nodejs"  # Debian's node-typescript (./test installs it)
NODE_TIMEOUT = 60  # seconds: compiling one file and running it; generous on 2 loaded cores


@functools.cache
def example_app():
    """examples/app-stack/app/festival_redis.py, loaded from its file (the example is not a package)."""
    spec = importlib.util.spec_from_file_location("festival_redis", EXAMPLE_APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def on_host(env: dict[str, str], files: dict[str, str], root: Path) -> dict[str, str]:
    """The container's variables, for the host: each declared file (path -> content) written in `root` under its own
    name, readable by its owner only, and the variables that name it pointed there; nothing else changes."""
    moved = {}
    for path, content in files.items():
        target = root / PurePosixPath(path).name
        target.write_text(content)
        target.chmod(0o400)
        moved[path] = str(target)
    return {name: moved.get(value, value) for name, value in env.items()}


def node_or_skip() -> None:
    """Node.js with Debian's TypeScript compiler; without them, fail when CI is set (./test installs them), skip
    saying why otherwise (a laptop without them)."""
    if shutil.which("node") and Path(NODE_MODULES, "typescript", "package.json").exists():
        return
    reason = f"no node on PATH or no TypeScript compiler in {NODE_MODULES} (Debian's node-typescript)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the NestJS provider's options must run")
    pytest.skip(reason)


def provider_source() -> str:
    """The TypeScript of docs/migration.md's `redis.options.ts` block."""
    found = re.findall(rf"```typescript\n(// {re.escape(PROVIDER_FILE)}\n.*?)```", MIGRATION.read_text(), re.S)
    if len(found) != 1:
        raise LookupError(f"{MIGRATION.name}: {len(found)} typescript blocks start with // {PROVIDER_FILE}")
    return found[0]


def run_provider(env: dict[str, str], workdir: Path) -> dict:
    """What the provider's redisOptions() returns in a process with exactly this environment (plus PATH):
    {"options": ...}, {"error": message} when it throws, or {"compileErrors": [...]}."""
    source = workdir / PROVIDER_FILE
    source.write_text(provider_source())
    result = subprocess.run(
        ["node", str(NODE_RUNNER), str(source)],
        env={"PATH": os.environ["PATH"], "NODE_PATH": NODE_MODULES, **env},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"node exited {result.returncode}: {result.stderr}")
    return json.loads(result.stdout)


def from_ioredis(options: dict):
    """The ioredis options as redis-py arguments (docs/clients.md pairs them): the same Sentinels, master set,
    users and passwords; `tls` with `sentinelTLS` and `enableTLSForSentinelMode` becomes TLS to the nodes and the
    Sentinels, verifying the CA and the host names (ioredis checks them by default, through Node's tls.connect)."""
    app = example_app()
    tls_args = {}
    if any(options.get(key) for key in ("tls", "sentinelTLS", "enableTLSForSentinelMode")):
        nodes, sentinels = options.get("tls") or {}, options.get("sentinelTLS") or {}
        if not nodes.get("ca") or nodes != sentinels or options.get("enableTLSForSentinelMode") is not True:
            raise ValueError(f"TLS is not the same to the nodes and to the Sentinels: {sorted(options)}")
        tls_args = {"ssl": True, "ssl_ca_data": nodes["ca"], "ssl_check_hostname": True}
    return app.RedisConnection(
        sentinels=[(sentinel["host"], sentinel["port"]) for sentinel in options["sentinels"]],
        master_name=options["name"],
        username=options["username"],
        password=options["password"],
        sentinel_username=options["sentinelUsername"],
        sentinel_password=options["sentinelPassword"],
        tls=tls_args,
    )


def app_writers(env: dict[str, str], nat_map: dict[str, dict], workdir: Path) -> dict[str, Writer]:
    """A writer (not started) for each reader of these variables, each writing keys of its own: "example" (the example
    application's Python code) and "nestjs" (the provider's options, from Node.js)."""
    node_or_skip()
    provider = run_provider(env, workdir)
    if "options" not in provider:
        raise RuntimeError(f"{PROVIDER_FILE}: {provider}")
    connections = {"example": example_app().from_env(env), "nestjs": from_ioredis(provider["options"])}
    return {name: writer(made, nat_map, prefix=f"{name}:") for name, made in connections.items()}


def writer(connection, nat_map: dict[str, dict], threads: int = 2, prefix: str = "") -> Writer:
    """harness.writer.Writer (not started) with this connection's values, from the host: the Sentinels it names
    reached through the NAT map, as are the nodes they announce."""
    sentinels = [(nat_map[f"{h}:{p}"]["host"], nat_map[f"{h}:{p}"]["port"]) for h, p in connection.sentinels]
    return Writer(
        sentinels,
        connection.master_name,
        connection.password,
        connection.sentinel_password,
        threads=threads,
        nat_map=nat_map,
        tls=connection.tls or None,
        username=connection.username,
        sentinel_username=connection.sentinel_username,
        prefix=prefix,
    )


def through_a_failover(writers: dict[str, Writer], fail_over: Callable[[], object], bound: float) -> dict[str, dict]:
    """Start every writer, and a reader of its keys on the replicas; once each has writes acknowledged, fail_over();
    once each has written and read again after it, stop them. What each saw: writes acknowledged and those the master
    no longer has (read back through the writer's own client), reads after the failover, the longest write gap. No
    step waits longer than `bound` seconds."""
    readers = {name: writer.reader() for name, writer in writers.items()}
    for worker in (*writers.values(), *readers.values()):
        worker.start()
    try:
        for writer in writers.values():
            writer.wait_for_writes(50, timeout=bound)
        started = time.monotonic()
        fail_over()
        reads = {name: reader.reads for name, reader in readers.items()}
        for writer in writers.values():
            writer.wait_for_writes(50, timeout=bound)
        wait_until(
            lambda: all(reader.reads >= reads[name] + 20 for name, reader in readers.items()),
            bound,
            what="20 reads on the replicas after the failover, by each application",
        )
    finally:
        for reader in readers.values():
            reader.stop()
        for writer in writers.values():
            writer.stop()
    return {
        name: {
            "acknowledged": len(writer.acknowledged),
            "lost": writer.lost(),
            "reads after the failover": readers[name].reads - reads[name],
            "longest write gap (s)": round(writer.longest_gap(after=started), 2),
        }
        for name, writer in writers.items()
    }
