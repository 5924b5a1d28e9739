"""One set of connection variables (components/connection.py): docs/clients.md's table is its definition, both
readers of it (the example application's Python code and docs/migration.md's NestJS provider, run in Node.js) read
exactly those variables and agree on what they mean, and the provider's options are the recommended ones."""

from __future__ import annotations

import re

import pytest

from components import connection, tls, users
from harness import apps, writer
from tests.docs.markdown import ROOT, blocks
from tests.workflow.app_stack import declared_container, run_app
from tests.workflow.mocked import run

CLIENTS = ROOT / "docs" / "clients.md"
MIGRATION = ROOT / "docs" / "migration.md"
VARIABLE = re.compile(r"\bREDIS_[A-Z_]+\b")
NAMES = [variable.name for variable in connection.VARIABLES]


def table_rows(path, heading: str) -> list[list[str]]:
    section = path.read_text().split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in lines[1:]]


def test_the_clients_page_table_is_the_codes_definition():
    def content(variable: connection.Variable) -> str:
        if not variable.file_from:
            return ""
        return f"the `{variable.file_from}` output (key `{connection.FILES[variable.name]}` of `redis-secret`)"

    expected = [[f"`{v.name}`", v.meaning, content(v)] for v in connection.VARIABLES]
    assert table_rows(CLIENTS, "## Connection variables")[1:] == expected  # after the header's |---|


def test_both_readers_and_the_documented_deployment_use_exactly_these_variables():
    example = apps.EXAMPLE_APP.read_text()
    assert sorted(set(VARIABLE.findall(example))) == sorted(NAMES), "examples/app-stack/app/festival_redis.py"
    assert sorted(set(VARIABLE.findall(apps.provider_source()))) == sorted(NAMES), "redis.options.ts"
    [deployment] = [b for b in blocks(MIGRATION) if b.lang == "yaml" and "kind: Deployment" in b.body]
    env = dict(re.findall(r"\{name: (\w+), value: \"?([^\"}]+)\"?\}", deployment.body))
    assert sorted(env) == sorted(NAMES)
    assert f"mountPath: {connection.SECRETS_DIR}\n" in deployment.body
    prod = connection.client_env(["x:1"], "festival-master", tls_enabled=True)
    assert {name: env[name] for name in connection.FILES} == {name: prod[name] for name in connection.FILES}


def test_the_clients_page_ioredis_settings_are_the_providers():
    [block] = [b for b in blocks(CLIENTS) if b.lang == "typescript" and "failoverDetector" in b.body]
    source = apps.provider_source()
    for setting in ("failoverDetector: true,", "connectTimeout: 500,", "commandTimeout: 500,"):
        assert setting in block.body and setting in source, setting
    reconnect = "reconnectOnError: (err) => (/^(READONLY|NOREPLICAS)/.test(err.message) ? 2 : false),"
    assert reconnect in block.body and reconnect in source


@pytest.fixture(scope="module")
def containers(tmp_path_factory):
    """The example app stack's declared container (variables and files, on the host) for dev, dev with TLS and the
    default prod, with the festival-redis outputs it was given."""
    made = {}
    for stack, overrides in {"dev": {}, "dev-tls": {"tls": True}, "prod": {"clientNamespaces": "festival-app"}}.items():
        program = run(stack.split("-")[0], overrides).program
        env, files = declared_container(run_app(stack.split("-")[0], program.outputs, program.secret_outputs))
        made[stack] = (apps.on_host(env, files, tmp_path_factory.mktemp(stack)), program.outputs)
    return made


@pytest.mark.parametrize("stack", ["dev", "dev-tls", "prod"])
def test_the_nestjs_provider_gives_the_recommended_options_and_agrees_with_the_example(containers, stack, tmp_path):
    apps.node_or_skip()
    env, outputs = containers[stack]
    result = apps.run_provider(env, tmp_path)
    assert "options" in result, result
    options = result["options"]
    assert options["sentinels"] == [
        {"host": e.rsplit(":", 1)[0], "port": int(e.rsplit(":", 1)[1])} for e in outputs["sentinelEndpoints"]
    ]
    assert (options["name"], options["username"], options["sentinelUsername"]) == (
        outputs["masterName"],
        users.APP.name,
        users.SENTINEL_CLIENT.name,
    )
    assert (options["password"], options["sentinelPassword"]) == (outputs["redisPassword"], outputs["sentinelPassword"])
    # The recommended settings (docs/clients.md), the same as the redis-py client's the tests use.
    assert options["commandTimeout"] / 1000 == options["connectTimeout"] / 1000 == writer.SOCKET_TIMEOUT
    assert options["maxRetriesPerRequest"] == writer.RETRIES and options["failoverDetector"] is True
    reconnects = {reply.split()[0]: answer for reply, answer in options["reconnectOnError"].items()}
    assert reconnects == {"READONLY": 2, "NOREPLICAS": 2, "ERR": False}  # 2: reconnect and resend
    if "tlsCaCert" in outputs:
        ca = {"ca": outputs["tlsCaCert"]}
        assert (options["tls"], options["sentinelTLS"], options["enableTLSForSentinelMode"]) == (ca, ca, True)
    else:
        assert not {"tls", "sentinelTLS", "enableTLSForSentinelMode"} & set(options)
    # Both readers make the same connection of the same variables.
    assert apps.from_ioredis(options) == apps.example_app().from_env(env)
    assert apps.from_ioredis(options).tls == (
        tls.client_options(outputs["tlsCaCert"]) if "tlsCaCert" in outputs else {}
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"REDIS_MASTER_NAME": ""}, "REDIS_MASTER_NAME is not set: give the container festival-redis' clientEnv"),
        ({"REDIS_TLS": "yes"}, "REDIS_TLS is 'yes': must be true or false"),
    ],
)
def test_the_nestjs_provider_stops_naming_a_missing_or_bad_variable(containers, change, message, tmp_path):
    apps.node_or_skip()
    env, _ = containers["prod"]
    assert apps.run_provider({**env, **change}, tmp_path)["error"].startswith(message)
