"""Fixtures of the tests that run the dev stack's declaration on the local Docker engine.

Without an engine these tests fail when CI is set and skip (saying why) otherwise. Every deployment is torn
down when its fixture ends, also after a failing test, and the teardown is checked to have left nothing.
"""

from __future__ import annotations

import pytest

from harness.docker_runner import made_deployments
from harness.engine import dev_stack_engine


@pytest.fixture(scope="session")
def docker_engine():
    return dev_stack_engine()


@pytest.fixture(scope="module")
def deployments(docker_engine):
    with made_deployments() as made:
        yield made


@pytest.fixture(scope="module")
def deployment(deployments):
    """One deployment shared by the tests of a module."""
    return deployments.new()
