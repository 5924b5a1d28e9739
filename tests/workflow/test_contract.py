"""The outputs contract: the program keeps it on every stack, and the check fails when an output goes or changes."""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.workflow.contract import CONTRACT, ContractError, load_contract, problems
from tests.workflow.mocked import run


@pytest.fixture(scope="module")
def contract():
    return load_contract()


@pytest.fixture(scope="module")
def runs():
    return {
        "dev": run("dev"),
        "dev-ui": run("dev", {"debugUi": True}),
        "dev-exporters": run("dev", {"devExporters": True}),
        "dev-tls": run("dev", {"tls": True}),
        "prod": run("prod"),
        "prod-plain": run("prod", {"tls": False}),
    }


@pytest.mark.parametrize(
    ("key", "stack"),
    [
        ("dev", "dev"),
        ("dev-ui", "dev"),
        ("dev-exporters", "dev"),
        ("dev-tls", "dev"),
        ("prod", "prod"),
        ("prod-plain", "prod"),
    ],
)
def test_the_program_keeps_the_contract(contract, runs, key, stack):
    program = runs[key].program
    assert problems(contract, stack, program.outputs, program.secret_outputs) == []


def test_the_optional_outputs_are_the_debug_ui_exporter_and_tls_ones_and_appear_with_them(contract, runs):
    optional = {name for name, entry in contract["stacks"]["dev"].items() if entry.get("optional")}
    tls_outputs = {"tlsCaCert", "tlsCertificateExpiry"}
    assert optional == {"debugUiUrl", "debugUiUser", "debugUiPassword", "metricsEndpoints", *tls_outputs}
    assert optional - tls_outputs - {"metricsEndpoints"} <= set(runs["dev-ui"].program.outputs)
    assert "metricsEndpoints" in runs["dev-exporters"].program.outputs
    assert tls_outputs <= set(runs["dev-tls"].program.outputs)
    assert not optional & set(runs["dev"].program.outputs)
    assert tls_outputs <= set(runs["prod"].program.outputs)
    assert not tls_outputs & set(runs["prod-plain"].program.outputs)


def test_the_passwords_are_secret_in_the_contract(contract):
    for stack in ("dev", "prod"):
        secret = {name for name, entry in contract["stacks"][stack].items() if entry["secret"]}
        assert {"redisPassword", "sentinelPassword"} <= secret


@pytest.mark.parametrize("key", ["dev", "prod", "prod-plain"])
def test_the_program_exports_the_contracts_version(contract, runs, key):
    assert runs[key].program.outputs["contractVersion"] == contract["version"]
    assert "contractVersion" not in runs[key].program.secret_outputs


def test_contract_version_is_read_from_the_file_and_checked(tmp_path):
    from components.contract import contract_version

    path = tmp_path / "outputs.yaml"
    path.write_text("version: 7.1.2\n")
    assert contract_version(path) == "7.1.2"
    path.write_text("version: 7.1\n")
    with pytest.raises(ContractError, match=r"^outputs.yaml: version = 7.1: must be MAJOR.MINOR.PATCH"):
        contract_version(path)


def check_changed(contract, runs, stack: str, change) -> list[str]:
    program = runs[stack].program
    outputs, secret = copy.deepcopy(program.outputs), set(program.secret_outputs)
    change(outputs, secret)
    return problems(contract, stack, outputs, secret)


def test_a_removed_output_fails(contract, runs):
    assert check_changed(contract, runs, "prod", lambda outputs, _: outputs.pop("sentinelHost")) == [
        f"output sentinelHost is missing: app stacks rely on it (contract {contract['version']})"
    ]


def test_an_output_that_changes_type_fails(contract, runs):
    [message] = check_changed(contract, runs, "prod", lambda outputs, _: outputs.update(sentinelPort="26379"))
    assert message.startswith("output sentinelPort = '26379': '26379' is not of type 'integer'")
    [message] = check_changed(
        contract, runs, "dev", lambda outputs, _: outputs.update(sentinelEndpoints="festival-sentinel-1:26379")
    )
    assert "is not of type 'array'" in message
    [message] = check_changed(
        contract, runs, "dev", lambda outputs, _: outputs["natMap"]["festival-redis-master:6379"].pop("port")
    )
    assert "'port' is a required property" in message


def test_an_output_that_stops_being_secret_fails(contract, runs):
    assert check_changed(contract, runs, "dev", lambda _, secret: secret.discard("redisPassword")) == [
        "output redisPassword is plain, the contract says secret"
    ]


def test_an_output_missing_from_the_contract_fails(contract, runs):
    assert check_changed(contract, runs, "dev", lambda outputs, _: outputs.update(redisUrl="redis://x")) == [
        "output redisUrl is not in contract/outputs.yaml: add it there (a new minor version)"
    ]


def test_the_client_label_is_the_one_the_network_policy_admits(contract, runs):
    [policy] = [r for r in runs["prod"].program.resources if r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy"]
    sources = [source for rule in policy.plain["spec"]["ingress"] for source in rule["from"]]
    # clients come from the namespaces clientNamespaces names (by default the deployment's own), by this label
    admitted = [s["podSelector"]["matchLabels"] for s in sources if "namespaceSelector" in s]
    assert contract["clientPodLabel"] in admitted


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(version="1.0"), "outputs.yaml: version = '1.0': must be MAJOR.MINOR.PATCH"),
        (
            lambda c: c["stacks"]["dev"]["masterName"].update(type={"type": "text"}),
            "stacks.dev.masterName.type = {'type': 'text'}: not a JSON Schema",
        ),
        (
            lambda c: c["stacks"]["prod"]["readPort"].update(secret="no"),
            "stacks.prod.readPort.secret = 'no': must be true or false",
        ),
        (lambda c: c["stacks"]["prod"]["readPort"].pop("description"), "stacks.prod.readPort = {"),
    ],
)
def test_a_bad_contract_entry_names_key_value_and_rule(tmp_path, edit, message):
    data = yaml.safe_load(CONTRACT.read_text())
    edit(data)
    path = tmp_path / "outputs.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ContractError) as error:
        load_contract(path)
    assert str(error.value).startswith(message)
