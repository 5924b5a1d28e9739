"""Pointers in the code resolve, as test_links.py checks the Markdown ones: a path a comment, docstring or message cites
(`docs/prod.md`, `tests/program/test_dev.py`) exists, its `#anchor` names a heading, and a section it quotes
(`docs/security.md, "Rotating a password"`, `README: "..."`) is a heading of that page."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.docs.markdown import ROOT, anchors, doc_files, github_anchor

TOP = "docs|tests|components|harness|bench|tools|contract|rbac|policy|monitoring|images|examples|\\.github|\\.ci"
PATH = re.compile(rf"(?<![\w./-])((?:{TOP})/[\w./-]*\w|README\.md|Pulumi(?:\.\w+)?\.yaml)(?:#([\w-]+))?")
# A page, then a quoted section or quotation: docs/x.md, "Section" / docs/x.md "Section" / README: "Section"
SECTION = re.compile(r'(?<![\w./-])(docs/[\w-]+\.md|README(?:\.md)?)[,:]?[ \t]+\(?"([^"\n]+)"')
# Not files of the repository: Kubernetes API groups, client-go's packages, stack files a test makes up.
NOT_FILES = re.compile(r"^(?:policy/v1(?:beta1)?|tools/clientcmd|Pulumi\.staging\.yaml)$")


def code_files() -> list:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return sorted(
        ROOT / name
        for name in listed
        if (
            name.endswith((".py", ".sh", ".yaml", ".yml", ".json", ".toml", ".in"))
            or name in ("deploy", "test", ".ci/run")
        )
        and name != "tests/docs/test_code_pointers.py"  # its own examples of stale pointers
    )


def page_path(page: str):
    return ROOT / ("README.md" if page.startswith("README") else page)


def section_resolves(page: str, section: str) -> bool:
    """A heading that starts with the section, a paragraph that opens with it in bold (`**Renewal.**`), or words the
    page says (a quotation)."""
    wanted = github_anchor(section)
    if any(anchor.startswith(wanted) for anchor in anchors(page_path(page))):
        return True
    text = page_path(page).read_text()
    return re.search(r"^\*\*" + re.escape(section), text, re.M | re.I) is not None or section in " ".join(text.split())


@pytest.mark.parametrize("path", code_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_pointer_in_the_code_resolves(path):
    text = path.read_text()
    broken = []
    for match in PATH.finditer(text):
        cited, anchor = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        target = ROOT / cited
        if NOT_FILES.match(cited) or (ROOT / f"{cited}.py").exists():  # a module: bench/failover
            continue
        if not target.exists():
            broken.append(f"{line}: {cited}: no such file or directory")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{line}: {cited}#{anchor}: no such heading")
    for match in SECTION.finditer(text):
        page, section = match.groups()
        line = text.count("\n", 0, match.start()) + 1
        if page_path(page).exists() and not section_resolves(page, section):
            broken.append(f'{line}: {page}, "{section}": no such heading or bold paragraph')
    assert broken == []


def test_the_check_finds_a_moved_section_and_a_missing_file(tmp_path):
    """The patterns catch the kinds of pointer that went stale before (a README section moved to docs/)."""
    stale = 'mounted secret files (README: "How it is built"); see tests/test_program_dev.py and docs/prod.md#nowhere'
    sections = [m.groups() for m in SECTION.finditer(stale)]
    assert sections == [("README", "How it is built")]
    assert not section_resolves("README", "How it is built")
    assert section_resolves("docs/security.md", "Renewal") and section_resolves("docs/clients.md", "redis-py")
    assert [m.group(1) for m in PATH.finditer(stale)] == ["tests/test_program_dev.py", "docs/prod.md"]
    assert not (ROOT / "tests/test_program_dev.py").exists()
    assert "nowhere" not in anchors(ROOT / "docs/prod.md")


# Made at run time, not files of the repository: the policy pack's virtualenv (Pulumi creates it).
NOT_IN_GIT = {"policy/venv"}
TEST_NAME = re.compile(r"(?<![\w.])test_\w+")


def known_tests() -> set[str]:
    """Every test module's name (without .py) and every test function's name."""
    names = {path.stem for path in code_files() if path.suffix == ".py"}
    for path in (ROOT / "tests").rglob("test_*.py"):
        names |= {path.stem, *re.findall(r"^\s*def (test_\w+)", path.read_text(), re.M)}
    return names


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_and_test_a_page_names_exists(path):
    """The pages name files and tests in prose and inline code too (`tests/docs/test_dev_stack.py`,
    `test_the_migration_guide_prefers_the_names_the_replicas_announce`), where test_links.py does not look."""
    text = path.read_text()
    known = known_tests()
    broken = []
    for match in PATH.finditer(text):
        cited = match.group(1)
        if cited in NOT_IN_GIT or NOT_FILES.match(cited) or (ROOT / f"{cited}.py").exists():
            continue
        if not (ROOT / cited).exists():
            broken.append(f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}: {cited}: no such file")
    for match in TEST_NAME.finditer(text):
        if match.group(0) not in known:
            broken.append(f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}: no such test")
    assert broken == []
