"""contract/outputs.yaml, the outputs app stacks rely on: loaded strictly, and checked against a stack's outputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CONTRACT = Path(__file__).resolve().parents[2] / "contract" / "outputs.yaml"
ENTRY_KEYS = {"type", "secret", "description", "optional"}


class ContractError(ValueError):
    pass


def load_contract(path: Path = CONTRACT) -> dict:
    """The contract, every entry checked: a bad one is an error naming the key, the value and the rule."""
    data = yaml.safe_load(path.read_text())
    version = data.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ContractError(f"{path.name}: version = {version!r}: must be MAJOR.MINOR.PATCH")
    for stack, outputs in data["stacks"].items():
        for name, entry in outputs.items():
            key = f"stacks.{stack}.{name}"
            if not isinstance(entry, dict) or not {"type", "secret", "description"} <= set(entry) <= ENTRY_KEYS:
                raise ContractError(f"{key} = {entry!r}: needs type, secret and description (optional is optional)")
            try:
                jsonschema.Draft202012Validator.check_schema(entry["type"])
            except jsonschema.SchemaError as error:
                raise ContractError(f"{key}.type = {entry['type']!r}: not a JSON Schema ({error.message})") from None
            for flag in ("secret", "optional"):
                if not isinstance(entry.get(flag, False), bool):
                    raise ContractError(f"{key}.{flag} = {entry[flag]!r}: must be true or false")
    return data


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
