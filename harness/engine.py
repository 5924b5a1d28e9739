"""What the tests that run containers share: the local Docker engine (or why there is none), the local images,
and the label every object they create carries, by which alone they remove it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import docker
import pytest

LABEL = "festival-redis.test"
# The local Redis images (images/build): the one every container test runs, Debian trixie's Redis 8.0 with Debian's
# security fixes, and the previous default, Redis 7.0.15 from bookworm, which the upgrade tests start from.
REDIS_IMAGE = "festival-local/redis:8.0-trixie"
OLD_REDIS_IMAGE = "festival-local/redis:7.0.15-bookworm"
EXPORTER_IMAGE = "festival-local/redis-exporter:trixie"  # Debian trixie's redis_exporter 1.69 (images/build exporter)
IMAGES_BUILD = Path(__file__).resolve().parents[1] / "images" / "build"
# With FESTIVAL_CONTAINER_LOGS=DIR, every container the tests remove leaves its output in DIR/<name>.<n>.log first
# (a replaced node's log is otherwise gone when a later check fails): docs/development.md.
KEEP_LOGS = os.environ.get("FESTIVAL_CONTAINER_LOGS")


def keep_logs(container) -> None:
    """Save `container`'s output under FESTIVAL_CONTAINER_LOGS, when set, before it is removed."""
    if not KEEP_LOGS:
        return
    folder = Path(KEEP_LOGS)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(list(folder.glob(f"{container.name}.*.log")))
    (folder / f"{container.name}.{n}.log").write_bytes(container.logs(timestamps=True))


def engine_or_skip(what: str) -> docker.DockerClient:
    """The engine; without one, fail when CI is set (CI must run `what`), skip saying why otherwise."""
    try:
        engine = docker.from_env(timeout=10)
        engine.ping()
        return engine
    except Exception as error:  # no socket, no daemon: both mean "no engine here"
        reason = f"no Docker engine ({type(error).__name__}: {error})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the {what} must run")
        pytest.skip(reason)


def ensure_images(engine: docker.DockerClient, images: dict[str, str]) -> None:
    """Build (images/build, never pull) those of `images` (tag -> images/build target) that are missing."""
    missing = [target for tag, target in images.items() if not engine.images.list(name=tag)]
    if missing:
        subprocess.run([str(IMAGES_BUILD), *missing], check=True, timeout=1800)


def dev_stack_engine() -> docker.DockerClient:
    """The engine of the tests that deploy the dev stack, with the Redis images present (built by images/build,
    never pulled): the current one, and the previous default the upgrade test starts from."""
    engine = engine_or_skip("docker tests")
    ensure_images(engine, {REDIS_IMAGE: "redis", OLD_REDIS_IMAGE: "redis-7.0"})
    return engine


def _labelled(engine: docker.DockerClient, value: str) -> list[tuple[str, object]]:
    only_ours = {"label": f"{LABEL}={value}"}
    return [
        *(("container", c) for c in engine.containers.list(all=True, filters=only_ours)),
        *(("volume", v) for v in engine.volumes.list(filters=only_ours)),
        *(("network", n) for n in engine.networks.list(filters=only_ours)),
    ]


def remove_labelled(engine: docker.DockerClient, value: str) -> None:
    """Remove every container (with its anonymous volumes), volume and network labelled `value`: nothing else."""
    for kind, obj in _labelled(engine, value):
        if kind == "container":
            if obj.status == "paused":
                obj.unpause()
            keep_logs(obj)
            obj.remove(force=True, v=True)
        elif kind == "volume":
            obj.remove(force=True)
        else:
            obj.remove()


def leftovers(engine: docker.DockerClient, value: str) -> list[str]:
    return [f"{kind} {obj.name}" for kind, obj in _labelled(engine, value)]
