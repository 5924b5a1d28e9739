"""tools/contract_check.py: each kind of change, with a version that is enough for it and one that is not."""

from __future__ import annotations

import copy
import subprocess

import pytest
import yaml

from tools import contract_check
from tools.contract_check import CONTRACT, changes, version_problems

BASE = {
    "version": "2.3.1",
    "clientPodLabel": {"festival-redis-client": "true"},
    "stacks": {
        "dev": {
            "host": {"type": {"type": "string", "pattern": "^[a-z.]+$"}, "secret": False, "description": "a host"},
            "password": {"type": {"type": "string"}, "secret": True, "description": "a password"},
            "port": {"type": {"type": "integer"}, "secret": False, "description": "a port"},
            "mode": {"type": {"type": "string", "enum": ["a", "b"]}, "secret": False, "description": "a mode"},
            "ui": {"type": {"type": "string"}, "secret": False, "optional": True, "description": "a UI"},
            "env": {
                "type": {
                    "type": "object",
                    "properties": {"A": {"type": "string"}, "B": {"type": "string"}},
                    "required": ["A", "B"],
                    "additionalProperties": False,
                },
                "secret": False,
                "description": "a closed object",
            },
            "labels": {
                "type": {"type": "object", "properties": {"A": {"type": "string"}}},
                "secret": False,
                "description": "an open object",
            },
        }
    },
}


def dev(contract: dict) -> dict:
    return contract["stacks"]["dev"]


def edited(edit, version: str) -> dict:
    new = copy.deepcopy(BASE)
    edit(new)
    new["version"] = version
    return new


def check(edit, version: str) -> tuple[list[str], list[str]]:
    new = edited(edit, version)
    found = changes(BASE, new)
    return [str(finding) for finding in found], version_problems(BASE, new, found)


MAJOR_CHANGES = [
    (lambda c: dev(c).pop("port"), "stacks.dev.port: output removed"),
    (
        lambda c: dev(c).update(sentinelPort=dev(c).pop("port")),
        "stacks.dev.port: output removed (renamed to sentinelPort? keep it beside the new name for one more minor",
    ),
    (lambda c: dev(c)["port"]["type"].update(type="string"), "stacks.dev.port.type.type: changed from 'integer' to"),
    (lambda c: dev(c)["password"].update(secret=False), "stacks.dev.password: secret -> plain"),
    (lambda c: dev(c)["port"].update(secret=True), "stacks.dev.port: plain -> secret"),
    (lambda c: dev(c)["port"].update(optional=True), "stacks.dev.port: required -> optional"),
    (
        lambda c: dev(c)["host"]["type"].update(pattern="^[a-z]+$"),
        "stacks.dev.host.type.pattern: changed from '^[a-z.]+$' to '^[a-z]+$'",
    ),
    (lambda c: dev(c)["port"]["type"].update(minimum=1024), "stacks.dev.port.type.minimum: added: 1024"),
    (lambda c: dev(c)["mode"]["type"].update(enum=["a"]), "stacks.dev.mode.type.enum: changed from ['a', 'b'] to"),
    (lambda c: dev(c)["mode"]["type"].update(enum=["a", "b", "c"]), "stacks.dev.mode.type.enum: changed from"),
    (lambda c: dev(c)["env"]["type"]["properties"].pop("B"), "stacks.dev.env.type.properties: property B removed"),
    (
        lambda c: dev(c)["env"]["type"].update(required=["A"]),
        "stacks.dev.env.type.required: property B no longer required (it may be missing)",
    ),
    (
        lambda c: dev(c)["env"]["type"]["properties"].update(C={"type": "string"}),
        "stacks.dev.env.type.properties: property C added to a closed object (strict validators refuse it)",
    ),
    (
        lambda c: dev(c)["env"]["type"]["properties"]["A"].update(type="integer"),
        "stacks.dev.env.type.properties.A.type: changed from 'string' to 'integer'",
    ),
    (lambda c: dev(c)["env"]["type"].pop("additionalProperties"), "stacks.dev.env.type.additionalProperties: removed"),
    (lambda c: c.update(clientPodLabel={"app": "client"}), "clientPodLabel: changed from"),
    (lambda c: c["stacks"].pop("dev"), "stacks.dev.host: output removed"),
]

MINOR_CHANGES = [
    (lambda c: dev(c).update(tls={"type": {"type": "string"}, "secret": False, "description": "x"}), "output added"),
    (
        lambda c: dev(c).update(ui2={"type": {"type": "string"}, "secret": False, "optional": True, "description": ""}),
        "stacks.dev.ui2: output added (optional)",
    ),
    (lambda c: dev(c)["ui"].pop("optional"), "stacks.dev.ui: optional -> required"),
    (lambda c: dev(c)["ui"].update(optional=False), "stacks.dev.ui: optional -> required"),
    (
        lambda c: dev(c)["labels"]["type"]["properties"].update(B={"type": "string"}),
        "stacks.dev.labels.type.properties: property B added",
    ),
    (lambda c: dev(c)["labels"]["type"].update(required=["A"]), "stacks.dev.labels.type.required: property A now"),
    (lambda c: c["stacks"].update(prod={"a": {"type": {}, "secret": False, "description": ""}}), "stacks.prod.a"),
]


@pytest.mark.parametrize(("edit", "finding"), MAJOR_CHANGES)
def test_a_breaking_change_needs_a_major_version(edit, finding):
    found, problems = check(edit, "2.4.0")
    assert any(line.startswith(finding) and line.endswith(": needs a major version") for line in found), found
    assert problems == ["version 2.3.1 -> 2.4.0: the changes above need a major version (3.0.0)"]
    assert check(edit, "3.0.0")[1] == []


@pytest.mark.parametrize(("edit", "finding"), MINOR_CHANGES)
def test_an_addition_needs_a_minor_version(edit, finding):
    found, problems = check(edit, "2.3.2")
    assert found and all(line.endswith(": needs a minor version") for line in found), found
    assert any(finding in line for line in found), found
    assert problems == ["version 2.3.1 -> 2.3.2: the changes above need at least a minor version (2.4.0)"]
    assert check(edit, "2.4.0")[1] == [] and check(edit, "3.0.0")[1] == []


def test_descriptions_need_no_version_and_nothing_is_found_without_a_change():
    def describe(c):
        dev(c)["port"]["description"] = "another description"
        dev(c)["env"]["type"]["properties"]["A"]["description"] = "documented"

    assert check(describe, "2.3.1") == ([], [])
    assert check(lambda c: None, "2.3.1") == ([], [])


@pytest.mark.parametrize("version", ["2.3.0", "1.9.9", "2.2.7"])
def test_a_version_never_goes_backwards(version):
    assert check(lambda c: None, version)[1] == [f"version 2.3.1 -> {version}: a contract version never goes backwards"]
    added = MINOR_CHANGES[0][0]
    assert check(added, version)[1] == [f"version 2.3.1 -> {version}: a contract version never goes backwards"]


def write(path, contract: dict):
    path.write_text(yaml.safe_dump(contract))
    return path


def test_the_command_prints_each_finding_and_fails_on_a_short_bump(tmp_path, capsys):
    base = write(tmp_path / "base.yaml", BASE)
    short = write(tmp_path / "new.yaml", edited(lambda c: dev(c).pop("port"), "2.4.0"))
    assert contract_check.main([str(base), str(short)]) == 1
    out, err = capsys.readouterr()
    assert "contract: stacks.dev.port: output removed: needs a major version\n" in out
    assert "contract: version 2.3.1 -> 2.4.0: the changes above need a major version (3.0.0)" in err
    enough = write(tmp_path / "new.yaml", edited(lambda c: dev(c).pop("port"), "3.0.0"))
    assert contract_check.main([str(base), str(enough)]) == 0
    assert "version 2.3.1 -> 3.0.0: fits the 1 change(s)" in capsys.readouterr().out


def test_a_malformed_contract_is_an_error_naming_key_value_and_rule(tmp_path, capsys):
    base = write(tmp_path / "base.yaml", BASE)
    bad = write(tmp_path / "new.yaml", edited(lambda c: None, "2.4"))
    assert contract_check.main([str(base), str(bad)]) == 1
    assert "new.yaml: version = '2.4': must be MAJOR.MINOR.PATCH" in capsys.readouterr().err
    bad = write(tmp_path / "new.yaml", edited(lambda c: dev(c)["port"].update(secret="yes"), "2.4.0"))
    assert contract_check.main([str(base), str(bad)]) == 1
    assert "stacks.dev.port.secret = 'yes': must be true or false" in capsys.readouterr().err


def test_the_base_contract_from_a_git_commit(tmp_path, capsys):
    committed = subprocess.run(
        ["git", "show", "HEAD:contract/outputs.yaml"], cwd=CONTRACT.parents[1], capture_output=True, text=True
    )
    new = tmp_path / "outputs.yaml"
    new.write_text(committed.stdout)
    assert contract_check.main(["--base-ref", "HEAD", str(new)]) == 0
    assert "fits the 0 change(s)" in capsys.readouterr().out
    new.write_text(committed.stdout.replace("\nversion: ", "\nversion: 0.0.1\nold_version: "))
    assert contract_check.main(["--base-ref", "HEAD", str(new)]) == 1
    assert "-> 0.0.1: a contract version never goes backwards" in capsys.readouterr().err
    assert contract_check.main(["--base-ref", "no-such-ref-anywhere"]) == 1
    assert "--base-ref 'no-such-ref-anywhere': no such commit here" in capsys.readouterr().err
    # the contract against itself: nothing to bump
    assert contract_check.main([str(CONTRACT), str(CONTRACT)]) == 0
    assert "fits the 0 change(s)" in capsys.readouterr().out


def test_adding_contract_version_to_the_contract_is_a_minor_change():
    # contract 4.1.0 added contractVersion, an output every stack exports: an addition, so a minor version.
    new = yaml.safe_load(CONTRACT.read_text())
    old = copy.deepcopy(new)
    old["version"] = "4.0.0"
    for outputs in old["stacks"].values():
        outputs.pop("contractVersion")
    found = changes(old, new)
    assert [str(f) for f in found] == [
        "stacks.dev.contractVersion: output added: needs a minor version",
        "stacks.prod.contractVersion: output added: needs a minor version",
    ]
    assert version_problems(old, new, found) == []
