"""Fixtures of the tests that run the dev stack's declaration on the local Docker engine.

Without an engine these tests fail when CI is set and skip (saying why) otherwise. Every deployment is torn
down when its fixture ends, also after a failing test, and the teardown is checked to have left nothing.
"""

from __future__ import annotations

import pytest

from harness.engine import engine_or_skip, ensure_images


@pytest.fixture(scope="session")
def docker_engine():
    """The engine, with the Redis images present (built by images/build, never pulled): the current one, and the
    previous default the upgrade test starts from."""
    from harness.engine import OLD_REDIS_IMAGE, REDIS_IMAGE

    engine = engine_or_skip("docker tests")
    ensure_images(engine, {REDIS_IMAGE: "redis", OLD_REDIS_IMAGE: "redis-7.0"})
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
