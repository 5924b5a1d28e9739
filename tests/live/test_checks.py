"""The checks against real deployments: the CLI's verdicts and exit codes, the post-deploy resource's
provider, and reaching nodes through a NAT map."""

import json

import pytest

from components.checks.observe import check_deployment
from components.checks.resource import ReplicationCheckProvider
from harness.check_runs import cli_args, cli_passwords, run_cli

pytestmark = pytest.mark.integration


def test_cli_healthy_degraded_and_unreachable(deployment):
    healthy = run_cli(*cli_args(deployment), env=cli_passwords(deployment))
    assert healthy.returncode == 0, healthy.stdout
    assert healthy.stdout.strip().endswith("HEALTHY")
    assert deployment.redis_admin_password not in healthy.stdout + healthy.stderr

    deployment.kill("redis-replica-1")
    degraded = run_cli(*cli_args(deployment), "--json", env=cli_passwords(deployment))
    assert degraded.returncode == 1
    report = json.loads(degraded.stdout)
    replica = str(deployment.nodes["redis-replica-1"].node.address)
    assert report["status"] == "unhealthy"
    assert {"invariant": "redis-reachable", "node": replica} in [
        {"invariant": f["invariant"], "node": f["node"]} for f in report["failures"]
    ]

    deployment.stop_all()
    unreachable = run_cli(*cli_args(deployment), env=cli_passwords(deployment))
    assert unreachable.returncode == 2
    assert unreachable.stdout.strip().endswith("UNREACHABLE")


def test_post_deploy_provider_passes_a_healthy_deployment_and_fails_a_degraded_one(deployment):
    provider = ReplicationCheckProvider()
    target = deployment.target()
    props = {**target.props(), "settle_seconds": 5}
    created = provider.create(props)
    assert created.outs["summary"].startswith("healthy: master ")
    assert provider.diff(created.id, props, props).changes  # verified again on every update

    deployment.kill("redis-replica-2")
    with pytest.raises(RuntimeError, match="replication check failed: unhealthy: redis-reachable"):
        provider.update(created.id, props, props)


def test_checks_reach_nodes_through_the_nat_map(deployment):
    """Announced names that don't resolve here, translated like the dev stack's natMap."""
    nat_map = {f"node-{n.name}:{n.address.port}": str(n.address) for n in deployment.topology.nodes}
    announced = {str(n.address): f"node-{n.name}:{n.address.port}" for n in deployment.topology.nodes}
    target = deployment.target(
        redis_nodes=tuple(announced[str(n.address)] for n in deployment.topology.redis_nodes),
        sentinels=tuple(announced[str(n.address)] for n in deployment.topology.sentinels),
        nat_map=nat_map,
    )
    report = check_deployment(target)
    # every node answered through the map; only the Sentinels' view (real addresses) differs from the names
    assert all(view.error is None for view in (*report.observation.redis, *report.observation.sentinels))
