"""examples/app-stack under mocks, fed the outputs of festival-redis' own mocked runs through its StackReference."""

from __future__ import annotations

import ast

import pytest

from components import connection, tls
from harness.apps import example_app, on_host
from policy import festival_policies as fp
from tests.workflow.app_stack import APP_DIR, AppRun, declared_container, run_app
from tests.workflow.contract import load_contract
from tests.workflow.mocked import Secret, reveal, run, strings

CONTAINER, DEPLOYMENT, SECRET = fp.CONTAINER, "kubernetes:apps/v1:Deployment", fp.SECRET
PASSWORD_OUTPUTS = ("redisPassword", "sentinelPassword")


APP_NAMESPACE = "festival-app"  # examples/app-stack/Pulumi.prod.yaml


@pytest.fixture(scope="module")
def redis():
    # The team lists the application's namespace among festival-redis' client namespaces.
    return {
        "dev": run("dev"),
        "dev-tls": run("dev", {"tls": True}),
        "prod": run("prod", {"clientNamespaces": f"festival,{APP_NAMESPACE}"}),
    }


def app_for(redis, stack: str, secret_outputs: set[str] | None = None, **overrides) -> AppRun:
    program = redis[stack].program
    secret = program.secret_outputs if secret_outputs is None else secret_outputs
    return run_app(stack.split("-")[0], program.outputs, secret, overrides)


def passwords(redis, stack: str) -> set[str]:
    return {redis[stack].program.outputs[key] for key in PASSWORD_OUTPUTS}


def leaks(app: AppRun, secrets: set[str]) -> list[tuple[str, str]]:
    """(resource, text) wherever a password is outside a Secret marker; the app's own outputs too."""
    found = [
        (r.name, text)
        for r in app.resources
        for text, in_secret in strings(r.inputs)
        if not in_secret and any(secret in text for secret in secrets)
    ]
    for key, value in app.outputs.items():
        found += [(f"output {key}", text) for text, _ in strings(value) if any(s in text for s in secrets)]
    return found


def test_the_app_asks_for_the_festival_redis_stack_of_its_own_name(redis):
    assert app_for(redis, "dev").references == ["organization/festival-redis/dev"]
    assert app_for(redis, "prod").references == ["organization/festival-redis/prod"]
    other = app_for(redis, "dev", redisStack="organization/festival-redis/staging")
    assert other.references == ["organization/festival-redis/staging"]


@pytest.mark.parametrize("stack", ["dev", "dev-tls"])
def test_dev_container_is_wired_from_the_outputs(redis, stack):
    outputs = redis[stack].program.outputs
    app = app_for(redis, stack)
    [container] = app.of_type(CONTAINER)
    inputs = reveal(container.inputs)
    assert inputs["networksAdvanced"] == [{"name": outputs["networkName"]}]
    # The connection variables, as festival-redis exports them; the files they name, uploaded there.
    assert sorted(inputs["envs"]) == sorted(f"{name}={value}" for name, value in outputs["clientEnv"].items())
    env = outputs["clientEnv"]
    expected = {
        env["REDIS_PASSWORD_FILE"]: outputs["redisPassword"],
        env["REDIS_SENTINEL_PASSWORD_FILE"]: outputs["sentinelPassword"],
    }
    if stack == "dev-tls":
        assert env["REDIS_TLS"] == "true"
        expected[env["REDIS_CA_FILE"]] = outputs["tlsCaCert"]
    assert {upload["file"]: upload["content"] for upload in inputs["uploads"]} == expected
    assert {upload["permissions"] for upload in inputs["uploads"]} == {"0400"}


def test_prod_deployment_is_wired_from_the_outputs_and_admitted_by_the_network_policy(redis):
    outputs = redis["prod"].program.outputs
    app = app_for(redis, "prod")
    [deployment] = app.of_type(DEPLOYMENT)
    template = reveal(deployment.inputs)["spec"]["template"]
    [container] = template["spec"]["containers"]
    env = outputs["clientEnv"]
    assert {item["name"]: item["value"] for item in container["env"]} == env
    assert env["REDIS_TLS"] == "true"  # the default prod
    # The Secret, a copy of festival-redis' files, mounted where the variables say they are.
    [mount] = container["volumeMounts"]
    assert mount == {"name": "redis", "mountPath": connection.SECRETS_DIR, "readOnly": True}
    [secret] = app.of_type(SECRET)
    assert template["spec"]["volumes"][0]["secret"]["secretName"] == secret.inputs["metadata"]["name"]
    files = {f"{mount['mountPath']}/{key}": value for key, value in reveal(secret.inputs["stringData"]).items()}
    assert files == {
        env["REDIS_PASSWORD_FILE"]: outputs["redisPassword"],
        env["REDIS_SENTINEL_PASSWORD_FILE"]: outputs["sentinelPassword"],
        env["REDIS_CA_FILE"]: outputs["tlsCaCert"],
    }
    # The pods carry the contract's label, and festival-redis' NetworkPolicy admits them from their namespace.
    labels = template["metadata"]["labels"]
    assert load_contract()["clientPodLabel"].items() <= labels.items()
    assert deployment.inputs["metadata"]["namespace"] == APP_NAMESPACE
    [policy] = [r for r in redis["prod"].program.resources if r.type == fp.NETWORK_POLICY]
    namespace_labels = {"kubernetes.io/metadata.name": APP_NAMESPACE}
    sources = [
        s
        for rule in policy.plain["spec"]["ingress"]
        for s in rule["from"]
        if "namespaceSelector" in s and fp.selects(s["namespaceSelector"], namespace_labels)
    ]
    assert any(fp.selects(source["podSelector"], labels) for source in sources)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_secrets_stay_secret_end_to_end(redis, stack):
    app = app_for(redis, stack)
    secrets = passwords(redis, stack)
    assert leaks(app, secrets) == []
    # ... and they did reach the app, inside secrets.
    inside = {text for r in app.resources for text, in_secret in strings(r.inputs) if in_secret}
    assert secrets <= inside
    assert not app.secret_outputs and app.outputs["sentinels"] == ",".join(
        redis[stack].program.outputs["sentinelEndpoints"]
    )


def test_a_password_output_not_marked_secret_would_be_caught(redis):
    # The dev run with festival-redis' passwords exported plainly: the check above sees them in the uploads.
    app = app_for(redis, "dev", secret_outputs=set())
    assert {name for name, _ in leaks(app, passwords(redis, "dev"))} == {"festival-app"}
    # In prod they only go into a Kubernetes Secret, whose stringData the kubernetes SDK always makes secret.
    app = app_for(redis, "prod", secret_outputs=set())
    assert leaks(app, passwords(redis, "prod")) == []
    [secret] = app.of_type(SECRET)
    assert isinstance(secret.inputs["stringData"], Secret)


def test_the_prod_app_passes_the_pod_policies_of_the_pack(redis):
    app = app_for(redis, "prod")
    [deployment] = app.of_type(DEPLOYMENT)
    template = reveal(deployment.inputs)["spec"]["template"]
    assert fp.restricted_problems(template) == []
    assert fp.image_problem(template["spec"]["containers"][0]["image"]) is None


def test_the_app_reads_only_outputs_of_the_contract():
    tree = ast.parse((APP_DIR / "__main__.py").read_text())
    used = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("require_output", "get_output", "redis_output")
        and isinstance(node.args[0], ast.Constant)
    }
    used |= {value.value for node in ast.walk(tree) if isinstance(node, ast.Dict) for value in node.values
             if isinstance(value, ast.Constant) and str(value.value).endswith(("Password", "CaCert"))}  # fmt: skip
    contract = load_contract()["stacks"]
    assert {"contractVersion", "clientEnv", "clientNamespaces", "networkName", "redisPassword", "tlsCaCert"} <= used
    for name in used:
        assert name in contract["dev"] or name in contract["prod"], name
    assert used - {"networkName"} <= set(contract["prod"])  # the Docker network is dev's only
    assert used - {"clientNamespaces"} <= set(contract["dev"])  # the NetworkPolicy's namespaces, prod's only


def test_the_app_runs_on_the_contract_major_it_was_written_for(redis):
    version = redis["prod"].program.outputs["contractVersion"]
    assert version == load_contract()["version"]
    assert app_for(redis, "prod").outputs["redisContractVersion"] == version
    [major, minor, patch] = version.split(".")
    newer = dict(redis["dev"].program.outputs, contractVersion=f"{major}.{int(minor) + 1}.{patch}")
    assert run_app("dev", newer, redis["dev"].program.secret_outputs).outputs["redisContractVersion"].startswith(major)


def test_a_contract_older_than_client_env_stops_the_app(redis):
    outputs = dict(redis["dev"].program.outputs, contractVersion="4.4.0")
    with pytest.raises(ValueError) as error:
        run_app("dev", outputs, redis["dev"].program.secret_outputs)
    assert (
        "organization/festival-redis/dev: contractVersion = '4.4.0': festival-app needs contract 4.5 or later "
        "(clientEnv): update festival-redis first"
    ) in str(error.value)


def test_a_namespace_festival_redis_does_not_admit_stops_the_app_naming_the_setting(redis):
    outputs = dict(redis["prod"].program.outputs, clientNamespaces=["festival"])  # the default: its own namespace
    with pytest.raises(ValueError) as error:
        run_app("prod", outputs, redis["prod"].program.secret_outputs)
    assert (
        "festival-app:namespace = 'festival-app': festival-redis admits clients only from its clientNamespaces "
        "['festival']: add it there (pulumi config set clientNamespaces festival,festival-app -s <stack>, on "
        "festival-redis)"
    ) in str(error.value)


def test_tls_without_a_ca_certificate_stops_the_app(redis):
    outputs = {key: value for key, value in redis["prod"].program.outputs.items() if key != "tlsCaCert"}
    with pytest.raises(ValueError) as error:
        run_app("prod", outputs, redis["prod"].program.secret_outputs)
    assert "organization/festival-redis/prod: REDIS_TLS = 'true', but it has no output tlsCaCert" in str(error.value)


@pytest.mark.parametrize("stack", ["dev", "dev-tls", "prod"])
def test_the_apps_connection_code_reads_what_its_container_is_given(redis, stack, tmp_path):
    """examples/app-stack/app/festival_redis.py, run on the declared container's variables and files (written to a
    directory of the test's, the variables naming them pointed there)."""
    outputs = redis[stack].program.outputs
    env, files = declared_container(app_for(redis, stack))
    got = example_app().from_env(on_host(env, files, tmp_path))
    assert got.sentinels == [(e.rsplit(":", 1)[0], int(e.rsplit(":", 1)[1])) for e in outputs["sentinelEndpoints"]]
    assert (got.master_name, got.username, got.sentinel_username) == ("festival-master", "app", "client")
    assert (got.password, got.sentinel_password) == (outputs["redisPassword"], outputs["sentinelPassword"])
    assert got.tls == (tls.client_options(outputs["tlsCaCert"]) if "tlsCaCert" in outputs else {})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"REDIS_MASTER_NAME": ""}, "REDIS_MASTER_NAME is not set: give the container festival-redis' clientEnv"),
        ({"REDIS_TLS": "yes"}, "REDIS_TLS = 'yes': must be true or false"),
        ({"REDIS_SENTINELS": "festival-sentinel-1"}, "REDIS_SENTINELS: 'festival-sentinel-1' is not host:port"),
        ({"REDIS_PASSWORD_FILE": "/nonexistent/redis-password"}, "REDIS_PASSWORD_FILE = '/nonexistent/redis-pass"),
    ],
)
def test_the_apps_connection_code_names_a_missing_or_bad_variable(redis, change, message, tmp_path):
    env, files = declared_container(app_for(redis, "prod"))
    with pytest.raises(ValueError) as error:
        example_app().from_env({**on_host(env, files, tmp_path), **change})
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("version", ["5.0.0", "3.2.0"])
def test_another_contract_major_stops_the_app_naming_the_version(redis, version):
    outputs = dict(redis["dev"].program.outputs, contractVersion=version)
    with pytest.raises(ValueError) as error:
        run_app("dev", outputs, redis["dev"].program.secret_outputs)
    # Pulumi wraps it, naming the resource whose input it stopped ("While processing resource: 'festival-app' ...")
    assert (
        f"organization/festival-redis/dev: contractVersion = '{version}': festival-app was written for contract 4.x; "
        "read what the new major changed (contract/outputs.yaml, docs/workflow.md), adapt the program and its "
        "CONTRACT_MAJOR"
    ) in str(error.value)


def test_a_festival_redis_without_contract_version_stops_the_app(redis):
    outputs = {k: v for k, v in redis["dev"].program.outputs.items() if k != "contractVersion"}
    with pytest.raises(KeyError, match="contractVersion"):
        run_app("dev", outputs, redis["dev"].program.secret_outputs)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"platform": "k8s"}, "festival-app:platform = 'k8s': must be docker or kubernetes"),
        ({"image": "ghcr.io/festival/app:latest"}, "festival-app:image = 'ghcr.io/festival/app:latest': must be"),
        ({"image": "ghcr.io/festival/app"}, "festival-app:image = 'ghcr.io/festival/app': must be pinned"),
        ({"redisStack": "festival-redis/prod"}, "festival-app:redisStack = 'festival-redis/prod': a self-managed"),
    ],
)
def test_bad_config_names_key_value_and_rule(redis, overrides, message):
    with pytest.raises(ValueError, match="festival-app:") as error:
        app_for(redis, "dev", **overrides)
    assert str(error.value).startswith(message)
