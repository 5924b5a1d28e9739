"""The RedisHA component package: its generated schema, and RedisHA built from an argument dictionary under mocks,
the way the component provider builds it for a TypeScript or YAML program."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.provider.server import ComponentInitError

from components.settings import CONFIG_KEYS, Settings
from package.redis_ha_component import SECRET_OUTPUTS, TOKEN, RedisHAArgs, RedisHAProvider
from tests.workflow.mocked import Program, RecordingMocks, run

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "package"
PROJECT_CONFIG = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
OUTPUTS = {
    "masterName": {"type": "string"},
    "sentinelEndpoints": {"type": "array", "items": "string"},
    "redisEndpoints": {"type": "array", "items": "string"},
    "redisUsername": {"type": "string"},
    "redisPassword": {"type": "string"},
    "sentinelUsername": {"type": "string"},
    "sentinelPassword": {"type": "string"},
    "replicationCheck": {"type": "string"},
    "tlsCaCert": {"type": "string"},
}


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(RedisHAProvider("1.0.0").schema)


def component(schema: dict) -> dict:
    return schema["resources"][TOKEN]


def words(text: str) -> str:
    return " ".join(text.split())


# --- the schema -------------------------------------------------------------------------------------------
def test_the_arguments_are_the_settings_with_their_types_and_descriptions(schema):
    inputs = component(schema)["inputProperties"]
    assert list(inputs) == list(CONFIG_KEYS)
    assert component(schema).get("requiredInputs", []) == []  # every one has the program's default
    for key, spec in inputs.items():
        assert spec["type"] == PROJECT_CONFIG[key]["type"], key
        assert spec["plain"] is True, key  # settings decide how many resources exist: no Outputs
        assert words(spec["description"]) == words(PROJECT_CONFIG[key]["description"]), key


def test_the_args_type_mirrors_the_settings():
    fields = {f.name: type(f.default) for f in dataclasses.fields(Settings)}
    assert RedisHAArgs.__annotations__ == fields
    assert RedisHAArgs.__total__ is False


def test_the_outputs_and_their_secrecy(schema):
    properties = component(schema)["properties"]
    assert sorted(component(schema)["required"]) == sorted(OUTPUTS)
    for name, expected in OUTPUTS.items():
        assert properties[name]["type"] == expected["type"], name
        if "items" in expected:
            assert properties[name]["items"]["type"] == expected["items"]
        assert properties[name].get("secret", False) is (name in SECRET_OUTPUTS), name
        assert properties[name]["description"]
    assert set(SECRET_OUTPUTS) == {"redisPassword", "sentinelPassword"}


def test_the_committed_schema_is_the_generated_one(schema):
    version = yaml.safe_load((PACKAGE_DIR / "PulumiPlugin.yaml").read_text())["version"]
    generated = json.loads(RedisHAProvider(version).schema)
    committed = json.loads((PACKAGE_DIR / "schema.json").read_text())
    assert committed == generated, "regenerate package/schema.json (docs/workflow.md, component package)"
    assert generated["name"] == yaml.safe_load((PACKAGE_DIR / "PulumiPlugin.yaml").read_text())["name"]


def test_the_plugin_entrypoint_hosts_the_provider_only_when_run():
    source = (PACKAGE_DIR / "__main__.py").read_text()
    version = re.search(r'^VERSION = "([^"]+)"', source, re.M).group(1)
    assert version == yaml.safe_load((PACKAGE_DIR / "PulumiPlugin.yaml").read_text())["version"]
    [guard] = [node for node in ast.parse(source).body if isinstance(node, ast.If)]
    assert ast.unparse(guard.test) == "__name__ == '__main__'"
    assert "RedisHAProvider(VERSION)" in ast.unparse(guard)
    plugin = yaml.safe_load((PACKAGE_DIR / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"
    assert (PACKAGE_DIR / "requirements.txt").read_text().strip() == "-r ../requirements.txt"


def test_the_yaml_example_uses_only_arguments_and_outputs_of_the_schema(schema):
    example = yaml.safe_load((PACKAGE_DIR / "example" / "Pulumi.yaml").read_text())
    assert example["runtime"] == "yaml" and example["packages"] == {"festival-redis": ".."}
    [resource] = example["resources"].values()
    assert resource["type"] == TOKEN
    inputs = component(schema)["inputProperties"]
    python_type = {"string": str, "integer": int, "boolean": bool}
    for key, value in resource["properties"].items():
        assert isinstance(value, python_type[inputs[key]["type"]]), key
    Settings.from_config(resource["properties"])  # values that pass the rules
    for expression in example["outputs"].values():
        assert re.fullmatch(r"\$\{redis\.(\w+)\}", expression).group(1) in component(schema)["properties"]


# --- RedisHA built from its argument dictionary ------------------------------------------------------------
def construct(inputs: dict[str, Any]) -> tuple[Program, dict[str, Any], set[str]]:
    """What the provider does for a `festival-redis:index:RedisHA` resource of another language's program."""
    program = Program()
    state: dict[str, Any] = {}
    secret: set[str] = set()
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(RecordingMocks(program), project="festival-redis", stack="dev", preview=False)

    @pulumi.runtime.test
    def go():
        result = RedisHAProvider("1.0.0").construct("redis", TOKEN, inputs, None)

        async def collect():
            for key, value in result.state.items():
                output = pulumi.Output.from_input(value)
                state[key] = await output.future()
                if await output.is_secret():
                    secret.add(key)

        return asyncio.ensure_future(collect())

    go()
    return program, state, secret


def stack_settings(stack: str) -> dict[str, Any]:
    values = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.partition(":")[2]: value for key, value in values.items()}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_redis_ha_declares_what_the_program_declares(stack):
    program, state, secret = construct(stack_settings(stack))
    reference = run(stack).program

    def declared(p: Program) -> list[tuple[str, str, str]]:
        return sorted((r.type, r.name, json.dumps(r.inputs, sort_keys=True, default=repr)) for r in p.resources)

    [own] = [r for r in program.resources if r.type == TOKEN]
    assert own.name == "redis"
    assert declared(Program([r for r in program.resources if r.type != TOKEN])) == declared(reference)
    assert secret == set(SECRET_OUTPUTS)
    assert state["masterName"] == reference.outputs["masterName"]
    assert state["sentinelEndpoints"] == reference.outputs["sentinelEndpoints"]
    assert state["redisPassword"] == reference.outputs["redisPassword"]
    if stack == "prod":
        assert state["redisEndpoints"] == reference.outputs["redisEndpoints"]


def test_left_out_arguments_take_the_programs_defaults():
    program, state, _ = construct({})
    defaults = {key: spec["default"] for key, spec in PROJECT_CONFIG.items()}
    assert Settings.from_config(defaults) == Settings()
    assert state["masterName"] == defaults["masterName"]
    containers = {r.inputs["name"] for r in program.resources if r.type == "docker:index/container:Container"}
    nodes = {"festival-redis-master", "festival-redis-replica-1", "festival-redis-replica-2"}
    assert nodes | {f"festival-sentinel-{i}" for i in (1, 2, 3)} <= containers


def test_a_bad_argument_names_key_value_and_rule_before_any_resource():
    with pytest.raises(ComponentInitError) as error:
        construct({"sentinelCount": 4, "quorum": 3})
    assert "festival-redis:sentinelCount = 4: " in str(error.value)
