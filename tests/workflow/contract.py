"""contract/outputs.yaml, the outputs app stacks rely on (loaded strictly by tools/contract_check.py), checked against
a stack's outputs."""

from __future__ import annotations

from typing import Any

import jsonschema

from tools.contract_check import CONTRACT, ContractError, load_contract  # noqa: F401  (re-exported for the tests)


def problems(contract: dict, stack: str, outputs: dict[str, Any], secret_outputs: set[str]) -> list[str]:
    """How a stack's outputs break the contract; [] when they keep it."""
    found = []
    declared = contract["stacks"][stack]
    version = contract["version"]
    for name, entry in declared.items():
        if name not in outputs:
            if not entry.get("optional"):
                found.append(f"output {name} is missing: app stacks rely on it (contract {version})")
            continue
        for error in jsonschema.Draft202012Validator(entry["type"]).iter_errors(outputs[name]):
            found.append(f"output {name} = {outputs[name]!r}: {error.message} (contract type {entry['type']})")
        if (name in secret_outputs) != entry["secret"]:
            actual, expected = ("secret", "plain") if name in secret_outputs else ("plain", "secret")
            found.append(f"output {name} is {actual}, the contract says {expected}")
    for name in sorted(set(outputs) - set(declared)):
        found.append(f"output {name} is not in contract/outputs.yaml: add it there (a new minor version)")
    return found
