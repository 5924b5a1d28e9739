"""ReplicationCheck: a resource that runs the replication checks from the deployer's machine after every
node exists, on every `pulumi up`, and fails the update when an invariant fails."""

from __future__ import annotations

import uuid

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from components.checks.invariants import HEALTHY, SETTLE_SECONDS
from components.checks.observe import Target, check_deployment

PASSWORD_PROPS = ("redis_password", "sentinel_password")


class ReplicationCheckProvider(ResourceProvider):
    """Pickled into the state by reference: Pulumi's dynamic provider host imports this module from the
    project directory, so importing it must have no side effects."""

    def run_checks(self, props: dict) -> dict:
        report = check_deployment(Target.from_props(props), settle_seconds=float(props["settle_seconds"]))
        if report.status != HEALTHY:
            raise RuntimeError(f"replication check failed: {report.summary()}")
        return {**props, "summary": report.summary()}

    def create(self, props: dict) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=self.run_checks(props))

    def diff(self, _id: str, _olds: dict, _news: dict) -> DiffResult:
        return DiffResult(changes=True)  # verify again on every update

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self.run_checks(news))


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
        for key in PASSWORD_PROPS:
            props[key] = pulumi.Output.secret(props[key])
        secrets = pulumi.ResourceOptions(additional_secret_outputs=list(PASSWORD_PROPS))
        super().__init__(ReplicationCheckProvider(), name, props, pulumi.ResourceOptions.merge(opts, secrets))
