"""The module paths of the dynamic providers, pinned: they are in every deployed stack's state.

A Python dynamic resource's `__provider` input is its provider pickled by dill, base64-encoded
(pulumi sdk/python/lib/pulumi/dynamic/dynamic.py `serialize_provider`). dill pickles an importable class by reference,
so the state holds `components.kubernetes.rollout`/`RedisRolloutProvider` and not the class's code. The engine's
dynamic-provider host unpickles the recorded value (sdk/python/lib/pulumi/dynamic/__main__.py `get_provider`:
`dill.loads(base64.b64decode(props["__provider"]))`); `Delete` and `Read` get the *recorded* inputs, so deleting,
destroying or refreshing a resource of an old stack imports what that stack recorded, whatever the program now
declares. A module moved or a class renamed makes those operations fail with ModuleNotFoundError / AttributeError.
"""

from __future__ import annotations

import base64
import io

import dill
import pytest
from pulumi.dynamic import ResourceProvider

from harness.program import Secret, run_program

DYNAMIC = "pulumi-python:dynamic:Resource"
# What deployed stacks' states may refer to. Never remove an entry: keep each module and class importable (at a move,
# an alias at the old path) for as long as any stack may hold it; add the new path.
PINNED = {
    ("components.checks.resource", "ReplicationCheckProvider"),
    ("components.kubernetes.rollout", "RedisRolloutProvider"),
    ("components.kubernetes.storage_guard", "StorageGuardProvider"),
    ("components.passwords_resource", "RedisPasswordsProvider"),
}
# Each stack with the settings that add, remove or change a dynamic resource.
RUNS = {
    "dev": ("dev", {}),
    "dev, tls, rotating": ("dev", {"tls": "true", "passwordGenerations": "redis-password=1+2,sentinel-password=2"}),
    "dev, exporters, debug UI": ("dev", {"devExporters": True, "debugUi": True}),
    "prod": ("prod", {}),
    "prod, no tls, rotating, unprotected, operator": (
        "prod",
        {
            "tls": "false",
            "passwordGenerations": "redis-password=1+2,sentinel-password=2",
            "protectData": False,
            "prometheusOperator": True,
            "createNamespace": False,
        },
    ),
}


class RecordingUnpickler(dill.Unpickler):
    """dill's own Unpickler (what dill.loads runs), noting every global the pickle imports."""

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self.imported: set[tuple[str, str]] = set()

    def find_class(self, module: str, name: str):
        self.imported.add((module, name))
        return super().find_class(module, name)


def unpickle_provider(recorded) -> tuple[object, set[tuple[str, str]]]:
    """What the provider host does with a recorded `__provider` value, and the globals it imported doing so."""
    assert isinstance(recorded, Secret), "__provider is a secret input"
    unpickler = RecordingUnpickler(base64.b64decode(recorded.value))
    return unpickler.load(), unpickler.imported


def recorded_providers(stack: str, overrides: dict) -> dict[str, object]:
    return {r.name: r.inputs["__provider"] for r in run_program(stack, overrides).of_type(DYNAMIC)}


@pytest.fixture(scope="module")
def providers() -> dict[str, dict[str, object]]:
    return {run: recorded_providers(stack, overrides) for run, (stack, overrides) in RUNS.items()}


def test_every_recorded_provider_unpickles_as_the_host_does_into_a_provider(providers):
    for run, recorded in providers.items():
        assert recorded, f"{run}: no dynamic resource"
        for name, value in recorded.items():
            provider, _ = unpickle_provider(value)
            assert isinstance(provider, ResourceProvider), (run, name, provider)


def test_every_module_path_the_state_gets_is_pinned(providers):
    imported = set()
    for recorded in providers.values():
        for value in recorded.values():
            imported |= unpickle_provider(value)[1]
    assert imported <= PINNED, (
        f"the state would now name {sorted(imported - PINNED)}: if a provider moved, the stacks deployed before still "
        f"name its old path, and deleting or refreshing their resources would fail unless it stays importable. Add "
        f"the new path to PINNED and keep the old one (docs/development.md, Dynamic providers)."
    )
    assert imported == PINNED  # today; a pinned path the program stopped using stays pinned (and importable)


def test_every_pinned_path_still_imports_as_a_provider():
    # What an old stack's delete or refresh needs, even once the program no longer declares such a resource.
    for module, name in sorted(PINNED):
        try:
            provider_class = dill.Unpickler(io.BytesIO(b"")).find_class(module, name)
        except (ImportError, AttributeError) as error:
            pytest.fail(
                f"{module}.{name} no longer imports ({error}): existing stacks' state names it, so deleting or "
                "refreshing their resources would fail. Keep it importable (an alias at the old path)."
            )
        assert issubclass(provider_class, ResourceProvider), (module, name)


def test_a_moved_provider_class_would_fail_to_unpickle(providers):
    """The failure the pin prevents, shown on a recorded value: the class renamed in the pickled bytes."""
    value = providers["prod"]["festival-redis-rollout"]
    data = base64.b64decode(value.value)
    assert b"components.kubernetes.rollout" in data
    moved = data.replace(b"components.kubernetes.rollout", b"components.kubernetes.rolling")
    with pytest.raises(ModuleNotFoundError, match="components.kubernetes.rolling"):
        RecordingUnpickler(moved).load()
