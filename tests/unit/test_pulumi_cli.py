"""The stand-in `pulumi` (tests/docs/pulumi_cli.py, from tests/docs/pulumi_state.py) prints what the real CLI prints:
the cases of the real CLI's own unit tests, and the rules of its source, on the state of a mocked run."""

import json
import os
import re
import subprocess

import pytest

from harness.program import MOCK_PASSWORD_PREFIX, run_program
from tests.docs import pulumi_cli
from tests.docs.pulumi_cli import ROOT_STACK_TYPE, SECRET_SIG, SIG_KEY, NotModelled, answer
from tests.docs.pulumi_state import stack_record

# pkg/cmd/pulumi/stack/stack_output_test.go: a stack whose outputs are bucketName and the secret password "hunter2",
# stored as the engine stores them (pkg/resource/stack/deployment.go SerializePropertyValue, with --show-secrets).
GO_TEST_STACK = {
    "state": {
        "version": 3,
        "deployment": {
            "manifest": {"time": "0001-01-01T00:00:00Z", "magic": "", "version": ""},
            "resources": [
                {
                    "urn": "urn:pulumi:test::test::pulumi:pulumi:Stack::test-test",
                    "custom": False,
                    "type": ROOT_STACK_TYPE,
                    "outputs": {
                        "bucketName": "mybucket-1234",
                        "password": {SIG_KEY: SECRET_SIG, "plaintext": '"hunter2"'},
                    },
                }
            ],
        },
    },
    "config": {},
}


def run(*args: str, backend: dict | None = None) -> tuple[int, str]:
    return answer(list(args), {"test": GO_TEST_STACK} if backend is None else backend)


@pytest.mark.parametrize(
    "args, want",
    [  # TestStackOutputCmd_json
        ([], {"bucketName": "mybucket-1234", "password": "[secret]"}),
        (["--show-secrets"], {"bucketName": "mybucket-1234", "password": "hunter2"}),
        (["bucketName"], "mybucket-1234"),
        (["password"], "[secret]"),  # "Should not show the secret even if requested if --show-secrets is not set"
        (["--show-secrets", "password"], "hunter2"),
    ],
)
def test_stack_output_json_as_the_real_cli_tests_it(args, want):
    code, text = run("stack", "output", "--stack", "test", "--json", *args)
    assert code == 0 and json.loads(text) == want


@pytest.mark.parametrize(
    "args, equals",
    [  # TestStackOutputCmd_plainText, the cases of one property
        (["bucketName"], "mybucket-1234\n"),
        (["password"], "[secret]\n"),
        (["--show-secrets", "password"], "hunter2\n"),
    ],
)
def test_stack_output_of_one_property_as_the_real_cli_tests_it(args, equals):
    assert run("stack", "output", "-s", "test", *args) == (0, equals)


def test_what_the_stand_in_does_not_model_it_refuses():
    for args in (
        ["stack", "output", "-s", "test"],  # the console table (TestStackOutputCmd_plainText "default")
        ["stack", "output", "-s", "test", "--shell"],
        ["stack", "output", "--json"],  # the selected stack
        ["stack", "ls"],
        ["config", "-s", "test"],
        ["config", "get", "platform", "-s", "test"],
    ):
        with pytest.raises(NotModelled):
            run(*args)
    assert run("stack", "output", "-s", "test", "--json", "nothing") == (
        1,
        "error: current stack does not have output property 'nothing'\n",
    )
    assert run("stack", "output", "-s", "other", "--json") == (1, "error: no stack named 'other' found\n")


@pytest.fixture(scope="module")
def dev():
    return run_program("dev", {"passwordGenerations": "redis-admin-password=2,sentinel-admin-password=1+2"})


@pytest.fixture(scope="module")
def backend(dev):
    return {"dev": stack_record(dev)}


def secrets_in(value):
    if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG:
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from secrets_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from secrets_in(item)


def test_stack_output_of_a_mocked_run_hides_its_secret_outputs(dev, backend):
    code, text = run("stack", "output", "-s", "dev", "--json", backend=backend)
    assert code == 0 and text.startswith("{\n  ")  # FprintJSON: indented by two spaces
    hidden = json.loads(text)
    assert dev.secret_outputs and {key for key, value in hidden.items() if value == "[secret]"} == dev.secret_outputs
    assert {k: v for k, v in hidden.items() if k not in dev.secret_outputs} == json.loads(
        json.dumps({k: v for k, v in dev.outputs.items() if k not in dev.secret_outputs})
    )
    shown = json.loads(run("stack", "output", "-s", "dev", "--json", "--show-secrets", backend=backend)[1])
    assert shown == json.loads(json.dumps(dev.outputs))


def test_stack_export_seals_every_secret_unless_shown(backend):
    shown_text = run("stack", "export", "-s", "dev", "--show-secrets", backend=backend)[1]
    hidden_text = run("stack", "export", "-s", "dev", backend=backend)[1]
    assert hidden_text.startswith('{\n    "version": 3,\n    "deployment": {\n        "manifest": {')
    shown, hidden = json.loads(shown_text), json.loads(hidden_text)
    assert [r["urn"] for r in shown["deployment"]["resources"]] == [r["urn"] for r in hidden["deployment"]["resources"]]
    plaintexts = [json.loads(secret["plaintext"]) for secret in secrets_in(shown)]
    passwords = [p for p in plaintexts if isinstance(p, str) and p.startswith(MOCK_PASSWORD_PREFIX)]
    assert len(passwords) >= 10  # every RandomPassword's result
    assert all(set(secret) == {SIG_KEY, "plaintext"} for secret in secrets_in(shown))
    sealed = list(secrets_in(hidden))
    assert len(sealed) == len(plaintexts)
    for secret in sealed:
        assert set(secret) == {SIG_KEY, "ciphertext"}
        assert re.fullmatch(r"v1:[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*", secret["ciphertext"])
    assert MOCK_PASSWORD_PREFIX not in hidden_text and "plaintext" not in hidden_text


def test_the_state_has_the_engines_urns_ids_and_secret_outputs(backend):
    resources = backend["dev"]["state"]["deployment"]["resources"]
    root = resources[0]
    assert (
        root["type"] == ROOT_STACK_TYPE
        and root["urn"] == "urn:pulumi:dev::festival-redis::pulumi:pulumi:Stack::festival-redis-dev"
    )
    by_urn = {r["urn"]: r for r in resources}
    for resource in resources[1:]:
        stack, project, qualified, name = resource["urn"].removeprefix("urn:pulumi:").split("::")
        parent = by_urn[resource["parent"]]
        # generateURN: the parent's qualified type, unless the parent is the root stack
        expected = resource["type"] if parent is root else f"{parent['urn'].split('::')[2]}${resource['type']}"
        assert (stack, project, qualified) == ("dev", "festival-redis", expected), resource["urn"]
        assert ("id" in resource) == resource["custom"], resource["urn"]  # DeserializeResource: no id on a component
    passwords = [r for r in resources if r["type"] == "random:index/randomPassword:RandomPassword"]
    names = {r["urn"].rsplit("::", 1)[1] for r in passwords}
    assert {
        "festival-redis-admin-password-gen2",
        "festival-sentinel-admin-password",
        "festival-sentinel-admin-password-gen2",
    } <= names
    assert "festival-redis-admin-password" not in names  # generation 1 is no longer declared
    for password in passwords:  # additionalSecretOutputs (pulumi_random) makes the result secret
        assert password["outputs"]["result"][SIG_KEY] == SECRET_SIG
        assert "result" not in password["inputs"]
    dynamic = [r for r in resources if r["type"] == "pulumi-python:dynamic:Resource"]
    assert dynamic and all(r["inputs"]["__provider"][SIG_KEY] == SECRET_SIG for r in dynamic)


def test_config_json_lists_every_value_the_run_was_given(dev, backend):
    code, text = run("config", "--json", "-s", "dev", backend=backend)
    listed = json.loads(text)
    assert code == 0 and set(listed) == set(dev.config)
    assert all(entry == {"value": dev.config[key], "secret": False} for key, entry in listed.items())
    assert listed["festival-redis:replicaCount"]["value"] == "2"  # Pulumi.dev.yaml's 2: JSON text, a string


def test_the_installed_executable_answers_and_refuses(backend, tmp_path):
    env = {**os.environ, **pulumi_cli.install(tmp_path, backend)}
    done = subprocess.run(
        ["pulumi", "stack", "output", "redisPassword", "-s", "dev"], env=env, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "[secret]\n")
    refused = subprocess.run(["pulumi", "up", "-s", "dev"], env=env, capture_output=True, text=True)
    assert refused.returncode == pulumi_cli.NOT_MODELLED and "not modelled" in refused.stderr


def test_a_later_run_records_nothing_into_an_earlier_one(dev):
    """The state's parents and protect flags come from the options a run records: another run must not change them
    (the mocks' root stack, and with it each run's recording transformation, outlives the run)."""
    names = set(dev.options)
    run_program("prod")
    assert set(dev.options) == names
    assert dev.options["festival-redis-password"].protect is False  # prod protects it, dev does not
