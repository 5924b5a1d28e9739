"""Pointers in the code resolve, as test_links.py checks the Markdown ones: a path a comment, docstring or message cites
(`docs/prod.md`, `tests/program/test_dev.py`) exists, its `#anchor` names a heading, and a section it quotes
(`docs/security.md, "Rotating a password"`, `README: "..."`) is a heading of that page."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.docs.markdown import ROOT, anchors, github_anchor

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
