"""What the Pulumi engine hands a policy pack, built from a mocked run of the program.

Secrets travel in the engine's wire form and go through pulumi_policy's own deserializer and unknown-checking
proxy, as in `pulumi preview --policy-pack`: a policy sees a secret as its plain value.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from tests.workflow.mocked import Run, Secret

PROJECT = "festival-redis"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class EngineResource:
    type: str
    name: str
    stack: str
    inputs: dict  # with Secret markers
    outputs: dict

    @property
    def urn(self) -> str:
        return f"urn:pulumi:{self.stack}::{PROJECT}::{self.type}::{self.name}"


def resources(run: Run) -> list[EngineResource]:
    """Every resource of the run, and the stack itself (its outputs are the stack outputs)."""
    found = [
        EngineResource(r.type, r.name, run.stack, r.inputs, run.outputs.get((r.type, r.name), r.inputs))
        for r in run.program.resources
    ]
    found.append(EngineResource(STACK_TYPE, f"{PROJECT}-{run.stack}", run.stack, {}, run.stack_outputs))
    return copy.deepcopy(found)


def wire(value: Any) -> Any:
    """Secret markers as the engine's secret envelopes."""
    if isinstance(value, Secret):
        return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": wire(value.value)}
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wire(item) for item in value]
    return value


def engine_props(props: dict) -> Any:
    return unknown_checking_proxy(deserialize_properties(wire(props)))


OPTS = PolicyResourceOptions(
    protect=False,
    ignore_changes=[],
    delete_before_replace=None,
    aliases=[],
    custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
    additional_secret_outputs=[],
)


def _collect(validate: Callable[[Callable], Any]) -> list[str]:
    messages: list[str] = []
    result = validate(lambda message, urn=None: messages.append(message))
    if inspect.isawaitable(result):
        asyncio.new_event_loop().run_until_complete(result)
    return messages


def violations(policy, found: list[EngineResource]) -> list[str]:
    """Every message `policy` reports: per resource (its inputs) or once for the stack (every resource's outputs)."""
    if isinstance(policy, ResourceValidationPolicy):
        messages = []
        for r in found:
            args = ResourceValidationArgs(r.type, engine_props(r.inputs), r.urn, r.name, OPTS, None)
            messages += _collect(lambda report, args=args: policy.validate(args, report))
        return messages
    stack = [PolicyResource(r.type, engine_props(r.outputs), r.urn, r.name, OPTS, None, None, [], {}) for r in found]
    return _collect(lambda report: policy.validate(StackValidationArgs(stack), report))


def edit(found: list[EngineResource], type_: str, change: Callable[[dict], None], name: str | None = None) -> None:
    """Apply `change` to the inputs and outputs of every resource of `type_` (named `name`, if given)."""
    matched = [r for r in found if r.type == type_ and (name is None or r.name == name)]
    assert matched, f"no {type_} {name or ''} in the run"
    for r in matched:
        change(r.inputs)
        if r.outputs is not r.inputs:
            change(r.outputs)
