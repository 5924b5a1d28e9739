"""The base of the dynamic providers that act on the running nodes during `pulumi up`: ReplicationCheck's
(components/checks/resource.py), RedisPasswords' (components/passwords_resource.py) and RedisRollout's
(components/kubernetes/rollout.py).

A dynamic resource's provider is pickled into the stack's state by reference (dill): the state names the
subclass's module and class, never this base, and Pulumi's dynamic-provider host imports that module to run it. So
importing a provider's module must have no side effects, and its module and class stay where they are
(docs/development.md, "Dynamic providers"; tests/program/test_provider_paths.py pins them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult


class ActionProvider(ResourceProvider):
    """Runs its action (`run`) when the resource is created and at every update that `changed` reports."""

    def run(self, props: dict) -> dict:
        """Act with the resource's inputs `props`; returns its outputs. An exception fails the update."""
        raise NotImplementedError

    def changed(self, olds: dict, news: dict) -> bool:
        """Whether an update from `olds` (the recorded outputs) to `news` (the inputs) has anything to do; by
        default every update does."""
        return True

    def create(self, props: dict) -> CreateResult:
        return CreateResult(id_=uuid.uuid4().hex, outs=self.run(props))

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        return DiffResult(changes=self.changed(olds, news))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self.run(news))


def secret_props(
    props: dict, keys: Sequence[str], opts: pulumi.ResourceOptions | None
) -> tuple[dict, pulumi.ResourceOptions]:
    """`props` with the values of `keys` made secrets, and `opts` that keep those outputs secret in the state too."""
    secret = {**props, **{key: pulumi.Output.secret(props[key]) for key in keys}}
    return secret, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(keys)))
