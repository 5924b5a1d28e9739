import pytest

from components.settings import Settings
from harness.local import LocalDeployment, require_binaries

# Fast Sentinel timings for the real-process tests; the default 5000 ms is measured by bench/failover.
FAST = dict(down_after_milliseconds=1000, failover_timeout=5000)
# For a test whose claim includes that no failover happens (none at all, or no second one after the failover it
# causes), or that a node restarted at once is back before down-after: a down-after that a stalled process on a loaded
# machine cannot reach. With one of the two cores taken by a CPU hog a node can go without an answer for over a second
# (CI saw a second failover at 1000 ms); 3000 ms is three times that, and longer than the 2 s stall after which
# Sentinel distrusts its own clock (TILT) and acts on nothing. A failover costs 2 s more than with FAST.
STABLE = dict(FAST, down_after_milliseconds=3000)


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
