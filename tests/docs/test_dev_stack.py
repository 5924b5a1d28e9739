"""What the docs promise about the dev stack's declaration (under Pulumi mocks), and that the reference and the
migration guide name what the program declares."""

from __future__ import annotations

import dataclasses
import re

import pytest

from components.kubernetes import names as k8s_names
from components.settings import Settings, to_config_key
from harness.program import Secret, run_program
from tests.docs.markdown import ROOT

VOLUME = "docker:index/volume:Volume"
CONTAINER = "docker:index/container:Container"


def volumes(program) -> dict[str, bool]:
    """Every declared volume's name -> whether `pulumi destroy` keeps it (retain_on_delete)."""
    return {
        r.plain["name"]: bool(program.options[r.name].retain_on_delete) for r in program.resources if r.type == VOLUME
    }


def test_destroy_keeps_the_data_volumes_by_default_and_removes_the_secrets():
    kept = volumes(run_program("dev"))
    data = {name: retained for name, retained in kept.items() if name.endswith("-data")}
    assert len(data) == 6 and all(data.values()), data
    assert kept["festival-redis-secrets"] is False


def test_dev_keep_volumes_false_deletes_them_with_the_stack():
    kept = volumes(run_program("dev", {"devKeepVolumes": False}))
    assert not any(kept.values()), kept


def test_the_remove_everything_one_liner_names_every_kept_volume():
    kept = {name for name, retained in volumes(run_program("dev")).items() if retained}
    text = (ROOT / "docs" / "dev.md").read_text()
    line = next(
        line for line in text.splitlines() if line.startswith("pulumi destroy -s dev --yes && docker volume rm")
    )
    assert set(line.split("docker volume rm ", 1)[1].split()) == kept


@pytest.fixture(scope="module")
def with_exporters():
    return run_program("dev", {"devExporters": True})


def test_exporters_run_beside_every_node_and_read_their_password_from_a_file(with_exporters):
    program = with_exporters
    exporters = [r.plain for r in program.resources if r.type == CONTAINER and r.plain["name"].endswith("-exporter")]
    assert sorted(e["name"] for e in exporters) == sorted(
        f"{n}-exporter"
        for n in ("festival-redis-master", "festival-redis-replica-1", "festival-redis-replica-2")
        + tuple(f"festival-sentinel-{i}" for i in (1, 2, 3))
    )
    for exporter in exporters:
        assert "REDIS_PASSWORD_FILE=/etc/festival-secrets/exporter-auth.json" in exporter["envs"]
        assert not any(e.startswith("REDIS_PASSWORD=") for e in exporter["envs"])
        assert exporter["ports"][0]["ip"] == "127.0.0.1"
        assert exporter["volumes"][0]["readOnly"] is True
    (holder,) = [r for r in program.resources if r.type == CONTAINER and r.plain["name"] == "festival-redis-secrets"]
    assert isinstance(holder.inputs["uploads"], Secret)  # the password file too: the whole list is a secret
    assert any(u["file"].endswith("/exporter-auth.json") for u in holder.plain["uploads"])
    assert program.outputs["metricsEndpoints"]["festival-redis-master"] == "http://127.0.0.1:9121/metrics"
    assert program.outputs["metricsEndpoints"]["festival-sentinel-3"] == "http://127.0.0.1:9126/metrics"


def test_exporter_ports_that_clash_are_refused():
    from components.settings import SettingsError

    with pytest.raises(SettingsError, match="devExporterPort"):
        Settings(dev_exporters=True, dev_exporter_port=26376)


def test_the_reference_lists_every_setting_and_dev_output(with_exporters):
    reference = (ROOT / "docs" / "reference.md").read_text()
    keys = set(re.findall(r"^\| `(\w+)` \|", reference, re.M))
    missing = [to_config_key(f.name) for f in dataclasses.fields(Settings) if to_config_key(f.name) not in keys]
    assert missing == []
    outputs = set(re.findall(r"`(\w+)`", reference))
    assert sorted(set(with_exporters.outputs) - outputs) == []
    assert sorted(set(run_program("prod").outputs) - outputs) == []


def test_the_migration_guide_prefers_the_names_the_replicas_announce():
    text = (ROOT / "docs" / "migration.md").read_text()
    preferred = re.findall(r"\{ ip: '([^']+)', port: '(\d+)', prio: \d \}", text)
    prod = k8s_names.topology(Settings(platform="kubernetes", kube_context="x"))
    announced = {(n.address.host, str(n.address.port)) for n in prod.replicas}
    assert preferred and set(preferred) == announced
    assert not re.search(r"\{ ip: '[^']+', port: \d", text), "ioredis compares ports as strings"
    from components.docker.names import topology

    dev = {n.address.host for n in topology(Settings()).replicas}
    assert all(f"`{name}`" in text for name in dev)
