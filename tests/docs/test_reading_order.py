"""The operator's order of reading (issue 22): the README and docs/prod.md open with the few facts to know before
deploying, then a quick start of at most three commands per stack; docs/clients.md gives the configuration before
its failure analysis; the laptop, the first prod deploy and the move each have one page, which the README links."""

from __future__ import annotations

import re

from tests.docs.markdown import HEADING, ROOT, blocks, without_code

README = ROOT / "README.md"
PROD = ROOT / "docs" / "prod.md"
CLIENTS = ROOT / "docs" / "clients.md"
QUICK_START_COMMANDS = 3


def sections(path) -> list[str]:
    return [m.group(2) for m in HEADING.finditer(without_code(path.read_text())) if m.group(1) == "##"]


def section_text(path, title: str) -> str:
    text = path.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def quick_start_blocks(path) -> list:
    text = path.read_text()
    start = text.index("\n## Quick start\n")
    end = text.index("\n## ", start + 1)
    first, last = text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1
    return [block for block in blocks(path) if first < block.line < last]


def test_the_readme_and_prod_page_open_with_what_to_know_then_a_quick_start():
    for path in (README, PROD):
        assert sections(path)[:2] == ["Before you deploy", "Quick start"], path.name
        facts = re.findall(r"^- \*\*", section_text(path, "Before you deploy"), re.M)
        assert 3 <= len(facts) <= 8, f"{path.name}: {len(facts)} facts before deploying: a few, in bold"


def test_each_quick_start_is_at_most_three_commands_per_stack():
    readme = quick_start_blocks(README)
    prod = quick_start_blocks(PROD)
    assert [block.lang for block in readme] == ["bash", "bash"], "one block for the laptop, one for prod"
    assert "./deploy dev" in readme[0].body and "./deploy prod" in readme[1].body
    assert len(prod) == 1 and "./deploy prod" in prod[0].body
    for block in [*readme, *prod]:
        assert 1 <= len(block.commands()) <= QUICK_START_COMMANDS, f"{block.path.name}:{block.line}"


def test_the_readme_quick_start_leads_to_one_page_per_stack_and_the_move_has_its_own():
    text = section_text(README, "Quick start")
    assert "(docs/dev.md)" in text and "(docs/prod.md)" in text
    assert "(docs/migration.md)" in README.read_text()
    assert sections(ROOT / "docs" / "migration.md")[0] == "Move the running setup and its data"


def test_the_clients_page_configures_before_it_analyses_failures():
    order = sections(CLIENTS)
    configuration = [order.index(name) for name in ("Connection variables", "redis-py (what the tests use)", "TLS")]
    analysis = [
        order.index(name) for name in ("What goes wrong with a default Sentinel client, and why", "Durability contract")
    ]
    assert max(configuration) < min(analysis), order
