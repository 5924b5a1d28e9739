"""A resource's URN (type, name, parent) is its identity in every existing stack: a refactor that changes one
makes `pulumi up` delete and recreate it (containers, volumes, StatefulSets). The files under urns/ list the
URNs deployed stacks have; every one must still be declared (or, after a deliberate move, aliased)."""

from pathlib import Path

import pulumi
import pytest

from harness.program import run_program

URNS = Path(__file__).parent / "urns"


@pytest.mark.parametrize(
    "stack, overrides, baseline",
    [("dev", {}, "dev.txt"), ("dev", {"debugUi": True}, "dev-debug-ui.txt"), ("prod", {}, "prod.txt")],
)
def test_every_deployed_urn_is_still_declared(stack, overrides, baseline):
    run_program(stack, overrides)
    declared = set(pulumi.runtime.settings.get_monitor().get_registered_resources())
    missing = [urn for urn in (URNS / baseline).read_text().split() if urn not in declared]
    assert missing == [], f"URNs of deployed {stack} stacks no longer declared (add aliases): {missing}"
