"""docs/reference.md's tables are derived from the code: the settings table lists exactly the keys of
components/settings.py, in Pulumi.yaml's order and with its defaults; the output tables list exactly the outputs of
contract/outputs.yaml, with the contract's version and secrecy."""

from __future__ import annotations

import re

import pytest
import yaml

from components import settings
from components.contract import contract_version
from tests.docs.markdown import ROOT
from tools.contract_check import load_contract

REFERENCE = ROOT / "docs" / "reference.md"
PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
CONTRACT = load_contract()
# The settings whose rule is a fixed list of choices: the rule cell names each one.
CHOICES = {
    "platform": settings.PLATFORMS,
    "appendfsync": settings.APPENDFSYNC_MODES,
    "tls": settings.TLS_MODES,
    "antiAffinity": settings.ANTI_AFFINITIES,
}


def cells(row: str) -> list[str]:
    """A table row's cells; a `|` inside backticks belongs to its cell."""
    parts, current, code = [], "", False
    for char in row.strip().strip("|"):
        if char == "`":
            code = not code
        if char == "|" and not code:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def table(section: str) -> list[list[str]]:
    """The rows (as cells) of the first table under `## <section>`, header and separator left out."""
    text = REFERENCE.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    rows = [line for line in text[start : end if end > 0 else None].splitlines() if line.startswith("|")]
    return [cells(row) for row in rows[2:]]


def names(cell: str) -> list[str]:
    """`a`, `b` -> [a, b]"""
    return [name.strip().strip("`") for name in cell.split(",")]


def top_level_split(cell: str) -> list[str]:
    """Split an example cell at the commas outside backticks: '`app`, secret' -> ['`app`', 'secret']."""
    parts, current, code = [], "", False
    for char in cell:
        if char == "`":
            code = not code
        if char == "," and not code:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def documented_default(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_the_settings_table_lists_every_setting_in_the_project_files_order():
    keys = [row[0].strip("`") for row in table("Settings")]
    assert keys == list(PROJECT), "reference.md's settings are not Pulumi.yaml's, in its order"
    assert sorted(keys) == sorted(settings.CONFIG_KEYS)


def test_the_settings_table_gives_the_project_files_defaults():
    wrong = []
    for key, default, *_ in table("Settings"):
        key = key.strip("`")
        declared = documented_default(PROJECT[key]["default"])
        shown = re.match(r"`([^`]*)`", default)
        if declared == "":
            if not default.startswith("none"):
                wrong.append(f"{key}: empty default shown as {default!r}, not 'none ...'")
        elif not shown or shown.group(1) != declared:
            wrong.append(f"{key}: shown {default!r}, Pulumi.yaml {declared!r}")
    assert wrong == []


def test_a_rule_of_choices_names_every_choice():
    rules = {row[0].strip("`"): row[2] for row in table("Settings")}
    for key, choices in CHOICES.items():
        assert set(re.findall(r"`([^`]+)`", rules[key])) >= set(choices), key


@pytest.mark.parametrize(("section", "stack"), [("Stack outputs (dev)", "dev"), ("Stack outputs (prod)", "prod")])
def test_the_output_tables_list_exactly_the_contracts_outputs(section, stack):
    rows = table(section)
    documented = [name for row in rows for name in names(row[0])]
    assert sorted(documented) == sorted(CONTRACT["stacks"][stack])
    assert len(documented) == len(set(documented)), "an output is listed twice"


@pytest.mark.parametrize(("section", "stack"), [("Stack outputs (dev)", "dev"), ("Stack outputs (prod)", "prod")])
def test_the_output_tables_give_the_contracts_version_and_secrecy(section, stack):
    wrong = []
    for row in table(section):
        outputs, examples = names(row[0]), top_level_split(row[1])
        if outputs == ["contractVersion"] and examples != [f"`{contract_version()}`"]:
            wrong.append(f"contractVersion shown as {row[1]}, the contract is {contract_version()}")
        if len(outputs) > 1 and len(examples) != len(outputs):
            continue  # one example for several outputs (appEnv's "the block above")
        for output, example in zip(outputs, examples, strict=False):
            if CONTRACT["stacks"][stack][output]["secret"] != (example == "secret"):
                wrong.append(f"{output}: example {example!r}, secret in the contract: {not example == 'secret'}")
    assert wrong == []
