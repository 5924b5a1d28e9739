"""requirements.txt (the lock, what everything installs) pins every requirement of requirements.in to a version
that requirement accepts, and the Kubernetes provider is one whose awaits the rollout order relies on."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def lines(name: str) -> list[str]:
    text = (ROOT / name).read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def pins() -> dict[str, Version]:
    pinned = {}
    for line in lines("requirements.txt"):
        name, _, version = line.partition("==")
        assert version, f"requirements.txt: {line!r} is not pinned with =="
        pinned[canonicalize_name(name)] = Version(version)
    return pinned


def test_every_requirement_is_pinned_to_a_version_it_accepts():
    pinned = pins()
    for line in lines("requirements.in"):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} of requirements.in is not in requirements.txt (run tools/lock)"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} is outside {requirement}"


def test_the_kubernetes_provider_is_at_least_4_29():
    (line,) = [line for line in lines("requirements.in") if line.startswith("pulumi-kubernetes")]
    assert not Requirement(line).specifier.contains(Version("4.28.99")), line
    assert pins()["pulumi-kubernetes"] >= Version("4.29")
