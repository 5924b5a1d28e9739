"""The version of contract/outputs.yaml, the outputs contract: exported as the stack output contractVersion.

Read from the file itself (next to this package, whatever the working directory), so the version has one place.
tools/contract_check.py holds the rest: the strict loader and the comparison with the base branch.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

CONTRACT = Path(__file__).resolve().parents[1] / "contract" / "outputs.yaml"
VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")


class ContractError(ValueError):
    pass


def parse_version(value: object, where: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a contract version; anything else is an error naming where, the value and the rule."""
    match = VERSION.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ContractError(f"{where}: version = {value!r}: must be MAJOR.MINOR.PATCH (e.g. 4.1.0)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def contract_version(path: Path = CONTRACT) -> str:
    """The contract's version, checked."""
    version = (yaml.safe_load(path.read_text()) or {}).get("version")
    parse_version(version, path.name)
    return version
