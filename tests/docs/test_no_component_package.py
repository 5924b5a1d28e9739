"""No doc offers a component package for other languages: it cannot run in another program's runtime
(pulumi/pulumi#5455; docs/development.md, "No component package for other languages", which says why)."""

from __future__ import annotations

import re

from tests.docs.markdown import ROOT, doc_files

OFFERS = re.compile(r"pulumi package add|festival-redis:index:|PulumiPlugin\.yaml|`package/`")
WHY = "### No component package for other languages\n"


def why_section(text: str) -> str:
    start = text.index(WHY)
    end = text.find("\n#", start + len(WHY))
    return text[start : end if end != -1 else len(text)]


def test_no_doc_offers_a_component_package():
    offering = []
    for path in doc_files():
        text = path.read_text()
        if WHY in text:
            text = text.replace(why_section(text), "")
        offering += [f"{path.relative_to(ROOT)}: {line.strip()}" for line in text.splitlines() if OFFERS.search(line)]
    assert offering == []
    assert not (ROOT / "package").exists()


def test_the_development_notes_say_why_and_what_it_would_take():
    section = why_section((ROOT / "docs" / "development.md").read_text())
    assert "[pulumi/pulumi#5455](https://github.com/pulumi/pulumi/issues/5455)" in section
    assert "drives it over gRPC" in section and "with no `components` on the caller's" in section
