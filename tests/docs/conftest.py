"""One deployment of the dev stack's declaration on Docker for the docs tests (runbook, monitoring), with the
exporters on: deployed once per session, always torn down (tests/docker's fixtures and rules)."""

from __future__ import annotations

import pytest

from harness.docker_runner import made_deployments
from harness.engine import EXPORTER_IMAGE, dev_stack_engine, ensure_images


@pytest.fixture(scope="session")
def docker_engine():
    return dev_stack_engine()


@pytest.fixture(scope="session")
def docs_deployments(docker_engine):
    ensure_images(docker_engine, {EXPORTER_IMAGE: "exporter"})
    with made_deployments() as made:
        yield made


@pytest.fixture(scope="session")
def docker_stack(docs_deployments):
    """The dev stack as the runbook knows it, plus redis_exporter beside every node (local image)."""
    from harness.docker_runner import free_port_run

    return docs_deployments.new(
        devExporters=True,
        exporterImage=EXPORTER_IMAGE,
        devExporterPort=free_port_run(6, avoid=set(range(26379, 26400))),
    )
