"""The checks' command line: reading a stack's outputs and state (through the stand-in pulumi, from mocked runs) and
refusing bad usage (no Redis needed)."""

import json
from contextlib import contextmanager

import pytest

from components import users
from components.checks import cli
from components.checks.cli import UsageError, target_from_outputs
from components.kubernetes.names import NODES_SECRET_NAME
from components.render import SECRETS_DIR
from components.settings import Settings
from harness.check_runs import run_cli
from harness.program import run_program
from tests.docs import pulumi_cli
from tests.docs.pulumi_state import stack_record


def test_target_from_dev_stack_outputs():
    outputs = {
        "masterName": "festival-master",
        "sentinelEndpoints": ["festival-sentinel-1:26379"],
        "natMap": {
            "festival-redis-master:6379": {"host": "127.0.0.1", "port": 6379},
            "festival-sentinel-1:26379": {"host": "127.0.0.1", "port": 26379},
        },
    }
    settings = Settings(replica_count=0, sentinel_count=1, quorum=1, min_replicas_to_write=0, min_replicas_max_lag=7)
    passwords = {users.ADMIN.key: "p", users.SENTINEL_ADMIN.key: "s"}
    target = target_from_outputs(outputs, passwords, settings, timeout=1.0)
    assert (target.redis_password, target.sentinel_password) == ("p", "s")
    assert target.redis_nodes == ("festival-redis-master:6379",)
    assert target.sentinels == ("festival-sentinel-1:26379",)
    assert target.reachable("festival-redis-master:6379") == ("127.0.0.1", 6379)
    assert target.max_lag_seconds == 7  # the stack's minReplicasMaxLag, not a fixed bound


def test_a_tls_stacks_target_checks_the_served_certificates_against_its_threshold():
    outputs = {"natMap": {}, "tlsCaCert": "-----BEGIN CERTIFICATE-----\n..."}
    passwords = {users.ADMIN.key: "p", users.SENTINEL_ADMIN.key: "s"}
    target = target_from_outputs(outputs, passwords, Settings(tls="true", certificate_min_days_left=20), timeout=1.0)
    assert (target.tls_ca_cert, target.certificate_min_days_left) == (outputs["tlsCaCert"], 20)
    args = cli.parse_args(["--redis", "h:1", "--sentinel", "h:2", "--tls-ca-cert", "ca.crt"])
    assert args.certificate_min_days_left == Settings().certificate_min_days_left == 14
    args = cli.parse_args(["--redis", "h:1", "--sentinel", "h:2", "--certificate-min-days-left", "3"])
    assert args.certificate_min_days_left == 3


def test_the_cli_refuses_a_kubernetes_stack_with_what_to_do_instead():
    with pytest.raises(UsageError, match="check Job"):
        target_from_outputs({}, {}, Settings(platform="kubernetes", kube_context="prod"), timeout=1.0)


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "give --stack, or at least one --redis and one --sentinel"),
        (("--redis", "nohost", "--sentinel", "127.0.0.1:1"), "--redis 'nohost': expected HOST:PORT"),
        (("--redis", "127.0.0.1:1", "--sentinel", "127.0.0.1:2"), "no password: set $REDIS_PASSWORD"),
    ],
)
def test_cli_bad_usage_exits_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr


# --- the CLI against the stand-in pulumi (tests/docs/pulumi_cli.py), built from mocked runs -------------------------
# The admin passwords rotated to generation 2: the nodes' one done (step 2), the Sentinels' one under way (step 1).
ROTATED = {"passwordGenerations": "redis-admin-password=2,sentinel-admin-password=1+2"}


class Checked(Exception):
    """Raised by the stand-in check_deployment with the Target the CLI would check (nothing is connected to)."""


@pytest.fixture
def checked(monkeypatch):
    def check_deployment(target, settle_seconds=0):
        raise Checked(target)

    monkeypatch.setattr(cli, "check_deployment", check_deployment)


def with_pulumi(monkeypatch, tmp_path, program, config: dict | None = None) -> None:
    record = stack_record(program)
    record["config"].update(config or {})
    for variable, value in pulumi_cli.install(tmp_path / "bin", {program.stack: record}).items():
        monkeypatch.setenv(variable, value)


def declared_admin_passwords(program) -> tuple[str, str]:
    """The admin passwords the nodes are given: dev's uploaded secret files, prod's Secret the pods mount."""
    if program.stack == "dev":
        files = {
            upload["file"]: upload["content"]
            for container in program.of_type("docker:index/container:Container")
            for upload in container.plain.get("uploads", [])
        }
        found = {key: files[f"{SECRETS_DIR}/{key}"] for key in (users.ADMIN.key, users.SENTINEL_ADMIN.key)}
    else:
        (secret,) = [
            r.plain["stringData"]
            for r in program.of_type("kubernetes:core/v1:Secret")
            if r.plain["metadata"]["name"] == NODES_SECRET_NAME
        ]
        found = {key: secret[key] for key in (users.ADMIN.key, users.SENTINEL_ADMIN.key)}
    return found[users.ADMIN.key], found[users.SENTINEL_ADMIN.key]


@pytest.fixture(scope="module")
def dev_rotated():
    return run_program("dev", ROTATED)


@pytest.fixture(scope="module")
def prod_rotated():
    return run_program("prod", ROTATED)


def test_the_runbooks_dev_check_uses_the_current_admin_passwords_from_the_state(
    dev_rotated, monkeypatch, tmp_path, checked
):
    with_pulumi(monkeypatch, tmp_path, dev_rotated)
    with pytest.raises(Checked) as seen:
        cli.main(["--stack", "dev"])
    target = seen.value.args[0]
    assert (target.redis_password, target.sentinel_password) == declared_admin_passwords(dev_rotated)
    assert target.redis_password.endswith("-gen2") and target.sentinel_password.endswith("-gen2")
    nat = dev_rotated.outputs["natMap"]
    assert target.nat_map == {announced: f"{to['host']}:{to['port']}" for announced, to in nat.items()}
    assert target.redis_nodes[0] == dev_rotated.outputs["bootstrapMasterEndpoint"]


def test_the_runbooks_prod_check_forwards_every_pod_and_uses_the_current_admin_passwords(
    prod_rotated, monkeypatch, tmp_path, checked
):
    with_pulumi(monkeypatch, tmp_path, prod_rotated)
    started = []

    @contextmanager
    def running_port_forwards(commands):
        started.extend(commands)
        yield

    monkeypatch.setattr(cli, "running_port_forwards", running_port_forwards)
    with pytest.raises(Checked) as seen:
        cli.main(["--stack", "prod", "--port-forward", "--local-port", "17000"])
    target = seen.value.args[0]
    assert (target.redis_password, target.sentinel_password) == declared_admin_passwords(prod_rotated)
    assert target.tls_ca_cert == prod_rotated.outputs["tlsCaCert"]  # TLS is on for prod: the nodes are verified
    settings = cli.stack_settings("prod")
    assert started == [command for _, command in cli.port_forwards(settings, 17000)]
    assert target.reachable(target.redis_nodes[0]) == ("127.0.0.1", 17000)


def test_a_rotation_not_yet_deployed_names_the_missing_password(dev_rotated, monkeypatch, tmp_path, capsys):
    generations = "redis-admin-password=3,sentinel-admin-password=2"  # `pulumi config set`, no `pulumi up` yet
    config = {"festival-redis:passwordGenerations": {"value": generations, "secret": False}}
    with_pulumi(monkeypatch, tmp_path, dev_rotated, config)
    assert cli.main(["--stack", "dev"]) == 2
    error = capsys.readouterr().err
    assert "no RandomPassword festival-redis-admin-password-gen3" in error
    assert "generation 3 of redis-admin-password by passwordGenerations" in error and "run pulumi up" in error


def test_the_admin_passwords_need_the_state_with_its_secrets_shown(dev_rotated):
    settings = Settings.from_config({key.split(":", 1)[1]: value for key, value in dev_rotated.config.items()})
    state = stack_record(dev_rotated)["state"]
    assert cli.admin_passwords(state, settings) == dict(
        zip((users.ADMIN.key, users.SENTINEL_ADMIN.key), declared_admin_passwords(dev_rotated))
    )
    sealed = json.loads(pulumi_cli.stack_export(state, show_secrets=False))
    with pytest.raises(UsageError, match="festival-redis-admin-password-gen2's result is encrypted.*--show-secrets"):
        cli.admin_passwords(sealed, settings)


def test_the_table_shows_each_nodes_certificate_and_the_failure_below_the_threshold():
    from components.checks.invariants import CertificateView, Observation, RedisView, SentinelView, verdict

    master, sentinel = "m:6379", "s:26379"
    observation = Observation(
        redis=[RedisView(master, role="master", certificate=CertificateView("2026-01-10T00:00:00Z", 9.5))],
        sentinels=[
            SentinelView(
                sentinel,
                master=master,
                num_slaves=0,
                num_other_sentinels=0,
                ckquorum="OK 1 usable",
                certificate=CertificateView("2027-01-01T00:00:00Z", 360.0),
            )
        ],
    )
    table = cli.format_table(verdict(observation, 0, 1, 10, certificate_min_days_left=14))
    assert "master, 0 replicas; certificate 9.5 days left (to 2026-01-10T00:00:00Z)" in table
    assert "certificate 360.0 days left (to 2027-01-01T00:00:00Z)" in table
    assert table.endswith(
        "FAIL certificate-days-left m:6379: expected a certificate valid at least 14 more days, saw 9.5 days left "
        "(expires 2026-01-10T00:00:00Z)\nUNHEALTHY"
    )
