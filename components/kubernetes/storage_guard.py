"""StorageGuard: refuses a change of storageClass or storageSize on a deployed prod stack, before anything is touched.

The StatefulSets' volume claim templates are immutable: Kubernetes would need the StatefulSets replaced, and the
existing claims would keep their old class and size anyway. Pulumi calls a provider's `check` with the deployed
inputs during every preview and update, so the refusal names the key, both values and the procedure.
"""

from __future__ import annotations

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from components.settings import Settings

GUARDED = ("storageClass", "storageSize")
PROCEDURE = 'docs/prod.md, "Change the storage of a running prod stack"'


class StorageGuardProvider(ResourceProvider):
    """Pickled into the state by reference: importing this module must have no side effects."""

    def check(self, olds: dict, news: dict) -> CheckResult:
        failures = [
            CheckFailure(
                key,
                f"festival-redis:{key} = {news.get(key)!r}: cannot change on a deployed stack (it is {olds[key]!r}); "
                f"volume claims are immutable, see {PROCEDURE}",
            )
            for key in GUARDED
            if olds.get(key) is not None and olds[key] != news.get(key)
        ]
        return CheckResult(news, failures)

    def create(self, props: dict) -> CreateResult:
        return CreateResult(id_="storage", outs=props)

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        return DiffResult(changes=any(olds.get(key) != news.get(key) for key in GUARDED))

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=news)


class StorageGuard(Resource):
    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        props = {"storageClass": settings.storage_class, "storageSize": settings.storage_size}
        super().__init__(StorageGuardProvider(), name, props, opts)
