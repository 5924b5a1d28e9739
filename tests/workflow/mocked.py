"""The workflow tests' only door to the program's mock runner (harness/program.py).

`run()` runs __main__.py under the runner's mocks and also keeps what each mocked provider returned, so the tests
can build what the engine would hand a policy pack: a resource's inputs (resource policies) and its outputs,
the stack's outputs included (stack policies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from harness.program import (  # noqa: F401  (re-exported for the workflow tests)
    MOCK_PASSWORD_PREFIX,
    SECRET_SIG,
    Program,
    RecordingMocks,
    Secret,
    reveal,
    run_program,
    strings,
    unwrap,
)

DYNAMIC = "pulumi-python:dynamic:Resource"
MOCK_CHECK_SUMMARY = "healthy (mocked)"


@dataclass
class Run:
    stack: str
    program: Program
    outputs: dict[tuple[str, str], dict] = field(default_factory=dict)  # (type, name) -> outputs, Secret markers

    @property
    def stack_outputs(self) -> dict[str, Any]:
        """The stack's outputs, a secret one as Secret(value)."""
        return {
            key: Secret(value) if key in self.program.secret_outputs else value
            for key, value in self.program.outputs.items()
        }


def run(stack: str, overrides: dict[str, Any] | None = None) -> Run:
    """__main__.py for `stack` under mocks; the post-deploy check returns a summary, as its provider would."""
    outputs: dict[tuple[str, str], dict] = {}
    original = RecordingMocks.new_resource

    def new_resource(self, args):
        resource_id, result = original(self, args)
        if args.typ == DYNAMIC:
            result = {**result, "summary": MOCK_CHECK_SUMMARY}
        outputs[(args.typ, args.name)] = unwrap(result)
        return resource_id, result

    with mock.patch.object(RecordingMocks, "new_resource", new_resource):
        program = run_program(stack, overrides)
    return Run(stack, program, outputs)
