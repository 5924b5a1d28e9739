"""Every link of the README and docs/ resolves: relative files exist, anchors name a heading of their target."""

from __future__ import annotations

import re

import pytest

from tests.docs.markdown import HEADING, ROOT, anchors, doc_files, github_anchor, links, without_code

DOCS = doc_files()
# The layout the README promises, and the pages other files point to.
EXPECTED_PAGES = ["dev.md", "prod.md", "operations.md", "clients.md", "migration.md", "reference.md", "workflow.md"]


def test_the_docs_are_split_as_the_readme_says():
    for page in EXPECTED_PAGES:
        assert (ROOT / "docs" / page).exists(), page
    readme = (ROOT / "README.md").read_text()
    for page in EXPECTED_PAGES:
        assert f"(docs/{page})" in readme, f"the README does not link docs/{page}"
    assert len(readme.splitlines()) < 120, "the README is the front page: details belong in docs/"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_and_anchor_resolves(path):
    broken = []
    for line, target in links(path):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:: not checked (no network in the tests)
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{path.name}:{line}: {target}: no such file")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{path.name}:{line}: {target}: no heading #{anchor} in {resolved.name}")
    assert broken == []


def test_stack_files_cite_documents_that_exist():
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        for cited in re.findall(r"\b((?:docs/)?[\w.-]+\.md)\b", stack_file.read_text()):
            assert (ROOT / cited).exists(), f"{stack_file.name} cites {cited}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_pages_table_of_contents_lists_every_section(path):
    """The list of links before a page's first section, where it has one, names every `##` section."""
    text = without_code(path.read_text())
    first = text.find("\n## ")
    contents = {target[1:] for _, target in links(path) if target.startswith("#")} if first > 0 else set()
    contents &= {m.group(1) for m in re.finditer(r"\]\(#([\w-]+)\)", text[:first])}
    if len(contents) < 2:
        return  # no table of contents (a single link to a later section is not one)
    sections = [github_anchor(m.group(2)) for m in HEADING.finditer(text) if m.group(1) == "##"]
    assert [s for s in sections if s not in contents] == []
