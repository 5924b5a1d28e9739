"""ReplicationCheck: a resource that runs the replication checks from the deployer's machine after every
node exists, on every `pulumi up`, and fails the update when an invariant fails."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from components.checks import HEALTHY, Target, check_deployment

SETTLE_SECONDS = 60  # new Sentinels need a few INFO periods (10 s each) to discover every replica


class ReplicationCheckProvider(ResourceProvider):
    """Pickled into the state by reference: Pulumi's dynamic provider host imports this module from the
    project directory, so importing it must have no side effects."""

    def run_checks(self, props: dict) -> dict:
        target = Target(
            master_name=props["master_name"],
            redis_nodes=tuple(props["redis_nodes"]),
            sentinels=tuple(props["sentinels"]),
            redis_password=props["redis_password"],
            sentinel_password=props["sentinel_password"],
            nat_map=dict(props.get("nat_map") or {}),
        )
        report = check_deployment(target, settle_seconds=float(props["settle_seconds"]))
        if report.status != HEALTHY:
            raise RuntimeError(f"replication check failed: {report.summary()}")
        return {**props, "summary": report.summary()}

    def create(self, props: dict) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=self.run_checks(props))

    def diff(self, _id: str, _olds: dict, _news: dict) -> DiffResult:
        return DiffResult(changes=True)  # verify again on every update

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self.run_checks(news))


@dataclass(frozen=True)
class ReplicationCheckArgs:
    master_name: str
    redis_nodes: list[str]  # announced host:port of every Redis node
    sentinels: list[str]  # announced host:port of every Sentinel
    nat_map: dict[str, str]  # announced -> reachable from the deployer's machine
    redis_password: pulumi.Input[str]
    sentinel_password: pulumi.Input[str]
    settle_seconds: float = SETTLE_SECONDS


class ReplicationCheck(Resource):
    summary: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicationCheckArgs, opts: pulumi.ResourceOptions | None = None):
        props = {
            "master_name": args.master_name,
            "redis_nodes": args.redis_nodes,
            "sentinels": args.sentinels,
            "nat_map": args.nat_map,
            "redis_password": pulumi.Output.secret(args.redis_password),
            "sentinel_password": pulumi.Output.secret(args.sentinel_password),
            "settle_seconds": args.settle_seconds,
            "summary": None,
        }
        secrets = pulumi.ResourceOptions(additional_secret_outputs=["redis_password", "sentinel_password"])
        super().__init__(ReplicationCheckProvider(), name, props, pulumi.ResourceOptions.merge(opts, secrets))
