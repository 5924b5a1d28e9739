"""Compare two versions of contract/outputs.yaml and check that the version moved as far as the changes require.

    python -m tools.contract_check BASE_FILE [NEW_FILE]
    python -m tools.contract_check --base-ref GIT_REF [NEW_FILE]     (the pull request workflow: the merge base)

NEW_FILE defaults to contract/outputs.yaml. Each change is printed with the output, what changed and the bump it
needs; the exit status is 1 when the version goes backwards or moves less than the changes need.

What application stacks read decides the bump (docs/workflow.md, "The outputs contract"):
- major: an output removed (a rename is a removal), its secrecy changed, required -> optional (an app stack that
  require_output()s it fails when it is absent), its type changed in any way but the two below (another type, a
  pattern, an enum or a bound changed, a property of an object removed or no longer required, a property added to a
  closed object: a strict validator refuses it), clientPodLabel changed;
- minor: an output added, optional -> required (it is now always there, which a consumer already handles), a
  property added to an open object or made required;
- none: descriptions.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from components.contract import CONTRACT, ContractError, parse_version

ROOT = CONTRACT.parents[1]
ENTRY_KEYS = {"type", "secret", "description", "optional"}
NONE, MINOR, MAJOR = 0, 1, 2
BUMP = {MINOR: "minor", MAJOR: "major"}
NOT_COMPARED = {"description", "title", "examples", "$comment"}


# --- loading -------------------------------------------------------------------------------------------------------
def parse_contract(text: str, name: str) -> dict:
    """The contract, every entry checked: a bad one is an error naming the key, the value and the rule."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("stacks"), dict):
        raise ContractError(f"{name}: needs a version and stacks (a mapping of stack -> outputs)")
    parse_version(data.get("version"), name)
    for stack, outputs in data["stacks"].items():
        for output, entry in outputs.items():
            key = f"stacks.{stack}.{output}"
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


def load_contract(path: Path = CONTRACT) -> dict:
    return parse_contract(path.read_text(), path.name)


# --- comparing -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    key: str  # stacks.<stack>.<output>[.type...], or clientPodLabel
    change: str
    bump: int

    def __str__(self) -> str:
        return f"{self.key}: {self.change}: needs a {BUMP[self.bump]} version"


def type_changes(old: object, new: object, key: str) -> list[Finding]:
    """How an output's JSON Schema changed, for a consumer of its values."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [Finding(key, f"changed from {old!r} to {new!r}", MAJOR)]
    found = []
    for word in sorted((set(old) | set(new)) - NOT_COMPARED):
        at, before, after = f"{key}.{word}", old.get(word), new.get(word)
        if before == after:
            continue
        if word == "properties" and isinstance(before or {}, dict) and isinstance(after or {}, dict):
            before, after = before or {}, after or {}
            closed = new.get("additionalProperties") is False
            for name in sorted(set(before) - set(after)):
                found.append(Finding(at, f"property {name} removed", MAJOR))
            for name in sorted(set(after) - set(before)):
                if closed:
                    found.append(
                        Finding(at, f"property {name} added to a closed object (strict validators refuse it)", MAJOR)
                    )
                else:
                    found.append(Finding(at, f"property {name} added", MINOR))
            for name in sorted(set(before) & set(after)):
                found += type_changes(before[name], after[name], f"{at}.{name}")
        elif word == "required" and isinstance(before or [], list) and isinstance(after or [], list):
            for name in sorted(set(before or []) - set(after or [])):
                found.append(Finding(at, f"property {name} no longer required (it may be missing)", MAJOR))
            for name in sorted(set(after or []) - set(before or [])):
                found.append(Finding(at, f"property {name} now required", MINOR))
        elif isinstance(before, dict) and isinstance(after, dict):  # items, additionalProperties, ...
            found += type_changes(before, after, at)
        elif before is None:
            found.append(Finding(at, f"added: {after!r}", MAJOR))
        elif after is None:
            found.append(Finding(at, f"removed (was {before!r})", MAJOR))
        else:
            found.append(Finding(at, f"changed from {before!r} to {after!r}", MAJOR))
    return found


def output_changes(stack: str, old: dict, new: dict) -> list[Finding]:
    found = []
    added = sorted(set(new) - set(old))
    for name in sorted(set(old) - set(new)):
        same = [
            other
            for other in added
            if (new[other]["type"], new[other]["secret"]) == (old[name]["type"], old[name]["secret"])
        ]
        renamed = f" (renamed to {same[0]}? keep it beside the new name for one more minor version)" if same else ""
        found.append(Finding(f"stacks.{stack}.{name}", f"output removed{renamed}", MAJOR))
    for name in added:
        optional = " (optional)" if new[name].get("optional", False) else ""
        found.append(Finding(f"stacks.{stack}.{name}", f"output added{optional}", MINOR))
    for name in sorted(set(old) & set(new)):
        key, before, after = f"stacks.{stack}.{name}", old[name], new[name]
        if before["secret"] != after["secret"]:
            secrecy = {True: "secret", False: "plain"}
            found.append(Finding(key, f"{secrecy[before['secret']]} -> {secrecy[after['secret']]}", MAJOR))
        optional = (before.get("optional", False), after.get("optional", False))
        if optional == (False, True):
            found.append(Finding(key, "required -> optional (an app stack that requires it fails without it)", MAJOR))
        elif optional == (True, False):
            found.append(Finding(key, "optional -> required", MINOR))
        found += type_changes(before["type"], after["type"], f"{key}.type")
    return found


def changes(old: dict, new: dict) -> list[Finding]:
    """Every change between two contracts that matters to application stacks."""
    found = []
    if old.get("clientPodLabel") != new.get("clientPodLabel"):
        change = f"changed from {old.get('clientPodLabel')!r} to {new.get('clientPodLabel')!r}"
        found.append(Finding("clientPodLabel", change, MAJOR))
    for stack in sorted(set(old["stacks"]) | set(new["stacks"])):
        found += output_changes(stack, old["stacks"].get(stack) or {}, new["stacks"].get(stack) or {})
    return found


def version_problems(old: dict, new: dict, found: list[Finding]) -> list[str]:
    """Why the new version does not fit the changes; [] when it does."""
    before, after = parse_version(old["version"], "base"), parse_version(new["version"], "new")
    moved = f"version {old['version']} -> {new['version']}"
    if after < before:
        return [f"{moved}: a contract version never goes backwards"]
    needed = max((finding.bump for finding in found), default=NONE)
    if needed == MAJOR and after[0] <= before[0]:
        return [f"{moved}: the changes above need a major version ({before[0] + 1}.0.0)"]
    if needed == MINOR and after[:2] <= before[:2]:
        return [f"{moved}: the changes above need at least a minor version ({before[0]}.{before[1] + 1}.0)"]
    return []


# --- command line --------------------------------------------------------------------------------------------------
def at_ref(ref: str) -> str | None:
    """contract/outputs.yaml at a git commit; None when that commit has none."""
    relative = CONTRACT.relative_to(ROOT).as_posix()
    commit = ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]
    exists = subprocess.run(commit, cwd=ROOT, capture_output=True)
    if exists.returncode != 0:
        raise ContractError(f"--base-ref {ref!r}: no such commit here (fetch it: the checkout needs its history)")
    shown = subprocess.run(["git", "show", f"{ref}:{relative}"], cwd=ROOT, capture_output=True, text=True)
    return shown.stdout if shown.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.contract_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("base", nargs="?", type=Path, help="the base contract file")
    parser.add_argument("new", nargs="?", type=Path, default=CONTRACT, help="the new contract (contract/outputs.yaml)")
    parser.add_argument("--base-ref", help="take the base contract from this git commit instead of a file")
    args = parser.parse_args(argv)
    if args.base_ref and args.base is not None:  # with --base-ref, the one file given is NEW_FILE
        if args.new != CONTRACT:
            parser.error("with --base-ref give at most one file, the new contract")
        args.base, args.new = None, args.base
    if args.base is None and args.base_ref is None:
        parser.error("give BASE_FILE or --base-ref GIT_REF")
    try:
        if args.base_ref:
            text = at_ref(args.base_ref)
            if text is None:
                print(f"contract: {args.base_ref} has no {CONTRACT.relative_to(ROOT)}: nothing to compare")
                return 0
            old = parse_contract(text, f"{args.base_ref}:{CONTRACT.relative_to(ROOT)}")
        else:
            old = load_contract(args.base)
        new = load_contract(args.new)
    except (ContractError, OSError) as error:
        print(f"contract: {error}", file=sys.stderr)
        return 1
    found = changes(old, new)
    for finding in found:
        print(f"contract: {finding}")
    problems = version_problems(old, new, found)
    for problem in problems:
        print(f"contract: {problem} (docs/workflow.md, 'The outputs contract')", file=sys.stderr)
    if not problems:
        print(f"contract: version {old['version']} -> {new['version']}: fits the {len(found)} change(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
