"""ReplicationCheck: a resource that runs the replication checks from the deployer's machine after every
node exists, on every `pulumi up`, and fails the update when an invariant fails."""

from __future__ import annotations

import pulumi
from pulumi.dynamic import Resource

from components.checks.invariants import HEALTHY, SETTLE_SECONDS
from components.checks.observe import Target, check_deployment
from components.dynamic import ActionProvider, secret_props

PASSWORD_PROPS = ("redis_password", "sentinel_password")


class ReplicationCheckProvider(ActionProvider):
    """Checks on create and on every update (ActionProvider's default `changed`): verify again after any change."""

    def run(self, props: dict) -> dict:
        report = check_deployment(Target.from_props(props), settle_seconds=float(props["settle_seconds"]))
        if report.status != HEALTHY:
            raise RuntimeError(f"replication check failed: {report.summary()}")
        return {**props, "summary": report.summary()}


class ReplicationCheck(Resource):
    summary: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        target: Target,
        settle_seconds: float = SETTLE_SECONDS,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`target`'s passwords may be Outputs; they stay secrets in the state."""
        props = {**target.props(), "settle_seconds": settle_seconds, "summary": None}
        super().__init__(ReplicationCheckProvider(), name, *secret_props(props, PASSWORD_PROPS, opts))
