"""Fixtures of the tests that run the dev stack's declaration on the local Docker engine.

Without an engine these tests fail when CI is set and skip (saying why) otherwise. Every deployment is torn
down when its fixture ends, also after a failing test, and the teardown is checked to have left nothing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _engine_or_skip():
    try:
        import docker

        engine = docker.from_env(timeout=10)
        engine.ping()
        return engine
    except Exception as error:  # no SDK, no socket, no daemon: all mean "no engine here"
        reason = f"no Docker engine ({type(error).__name__}: {error})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the docker tests must run")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine():
    """The engine, with the Redis image present (built by images/build, never pulled)."""
    from harness.docker_runner import REDIS_IMAGE

    engine = _engine_or_skip()
    if not engine.images.list(name=REDIS_IMAGE):
        subprocess.run([str(ROOT / "images" / "build"), "redis"], check=True, timeout=900)
    return engine


class Deployments:
    """Deployments made for a test or module; all torn down by close()."""

    def __init__(self):
        self.made = []

    def new(self, **overrides):
        from harness.docker_runner import DockerDeployment

        deployment = DockerDeployment(**overrides)
        self.made.append(deployment)
        deployment.deploy()
        return deployment

    def close(self):
        left = []
        for deployment in self.made:
            try:
                deployment.teardown()
            finally:
                left += deployment.leftovers()
        assert left == [], f"teardown left {left}"


@pytest.fixture(scope="module")
def deployments(docker_engine):
    made = Deployments()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(scope="module")
def deployment(deployments):
    """One deployment shared by the tests of a module."""
    return deployments.new()
