import pytest

from components.settings import Settings
from harness.local import LocalDeployment, require_binaries

# Fast Sentinel timings for the real-process tests; the default 5000 ms is measured by bench/failover.
FAST = dict(down_after_milliseconds=1000, failover_timeout=5000)


@pytest.fixture
def make_deployment(tmp_path):
    """Factory for LocalDeployments; every process they start is stopped, even when the test fails."""
    require_binaries()
    deployments = []

    def make(**overrides) -> LocalDeployment:
        deployment = LocalDeployment(Settings(**{**FAST, **overrides}), tmp_path / f"deployment-{len(deployments)}")
        deployments.append(deployment)
        return deployment

    yield make
    for deployment in deployments:
        deployment.stop_all()


@pytest.fixture
def deployment(make_deployment) -> LocalDeployment:
    """A healthy loopback deployment of the default topology (1 master, 2 replicas, 3 Sentinels)."""
    deployment = make_deployment()
    deployment.start_all()
    return deployment
