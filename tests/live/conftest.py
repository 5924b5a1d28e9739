import pytest

from components.settings import Settings
from harness.local import FAST, STABLE, LocalDeployment, require_binaries


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
    errors = []
    for deployment in deployments:
        try:
            deployment.stop_all()  # raises when something it started outlived the stop
        except RuntimeError as error:
            errors.append(str(error))
    assert not errors, errors


@pytest.fixture
def deployment(make_deployment) -> LocalDeployment:
    """A healthy loopback deployment of the default topology (1 master, 2 replicas, 3 Sentinels)."""
    deployment = make_deployment()
    deployment.start_all()
    return deployment


@pytest.fixture
def stable_deployment(make_deployment) -> LocalDeployment:
    """The default topology with STABLE Sentinel timings, healthy: every Sentinel knows every replica and peer."""
    deployment = make_deployment(**STABLE)
    deployment.start_all()
    return deployment
