"""The dev stack's declaration, deployed on the Docker engine: healthy, reachable as the README says, and exposed
and configured no more than declared."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from components import users
from harness.docker_runner import LABEL, REDIS_IMAGE, NotOurs, UntranslatedInput, translate
from harness.program import Secret, run_program
from harness.runtime import wait_until

pytestmark = pytest.mark.docker


def test_every_container_is_healthy_and_the_declared_check_passed(deployment, record_property):
    assert deployment.check_summary.startswith("healthy:"), deployment.check_summary
    assert {name: deployment.health(name) for name in deployment.container_names()} == {
        name: "healthy" for name in deployment.container_names()
    }
    assert len(deployment.container_names()) == 6
    print(f"\nfrom nothing to healthy (check passed, Docker healthy): {deployment.healthy_seconds:.1f}s")
    record_property("healthy_seconds", round(deployment.healthy_seconds, 1))


def test_a_sentinel_aware_client_on_the_host_writes_and_reads(deployment):
    sentinel = deployment.nat_sentinel()
    name = deployment.outputs["masterName"]
    sentinel.master_for(name).set("hello", "festival")
    replica = sentinel.slave_for(name, decode_responses=True)
    assert wait_until(lambda: replica.get("hello") == "festival", 5, what="the write on a replica")


def _host_addresses() -> set[str]:
    """The host's own non-loopback IPv4 addresses (our networks' gateways among them)."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], check=True, capture_output=True, text=True).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()} - {"127.0.0.1"}


def test_every_published_port_is_bound_to_loopback_only(deployment):
    published = []
    for name in deployment.container_names():
        attrs = deployment.container(name).attrs
        for bindings in [*attrs["HostConfig"]["PortBindings"].values(), *attrs["NetworkSettings"]["Ports"].values()]:
            for binding in bindings or []:
                assert binding["HostIp"] == "127.0.0.1", (name, binding)
                published.append(int(binding["HostPort"]))
    assert len(set(published)) == 6

    addresses = _host_addresses()
    assert addresses, "no non-loopback address to try"
    for address in addresses:
        for port in set(published):
            with socket.socket() as sock:
                sock.settimeout(2)
                assert sock.connect_ex((address, port)) != 0, f"{address}:{port} accepted a connection"


def test_nodes_run_as_uid_999(deployment):
    for name in deployment.container_names():
        assert deployment.container(name).attrs["Config"]["User"] == "999:999"
        code, status = deployment.exec(name, "grep -E '^(Uid|Gid):' /proc/1/status")
        assert code == 0
        ids = {line.split(":")[0]: set(line.split()[1:]) for line in status.splitlines()}
        assert ids == {"Uid": {"999"}, "Gid": {"999"}}, (name, status)


def _expected_files(deployment, name: str) -> dict[str, tuple[str, str, str]]:
    """Path -> (uid, gid, mode) for every file uploaded into this container, or into a volume it mounts at the
    same place (the secrets holder's uploads)."""
    declared = deployment.declared(name).plain
    mounts = {(m["volumeName"], m["containerPath"]) for m in declared.get("volumes", [])}
    expected = {}
    for resource in deployment.plan["docker:index/container:Container"]:
        other = resource.plain
        shared = {(m["volumeName"], m["containerPath"]) for m in other.get("volumes", [])} & mounts
        for upload in other.get("uploads", []):
            inside = any(upload["file"].startswith(path + "/") for _, path in shared)
            if other["name"] == name or inside:
                mode = format(int(upload["permissions"], 8), "o")
                expected[upload["file"]] = (upload["owner"], upload["group"], mode)
    return expected


def test_uploaded_files_have_the_declared_owner_and_mode(deployment):
    for name in deployment.container_names():
        expected = _expected_files(deployment, name)
        code, out = deployment.exec(name, "stat -c '%n %u %g %a' " + " ".join(expected))
        assert code == 0, out
        found = {path: tuple(rest) for path, *rest in (line.split() for line in out.splitlines())}
        assert found == expected, name
        passwords = {path: mode for path, (_, _, mode) in found.items() if path.startswith("/etc/festival-secrets/")}
        keys = [key for user in users.USERS for key in (user.key, f"{user.key}.previous")]  # components/passwords.py
        assert passwords == {f"/etc/festival-secrets/{key}": "400" for key in keys}, name


def test_no_password_in_docker_inspect_or_logs(deployment):
    passwords = [deployment.password(user.key) for user in users.USERS]
    engine = deployment.engine
    only_ours = {"label": f"{LABEL}={deployment.prefix}"}
    inspected = [c.attrs for c in engine.containers.list(all=True, filters=only_ours)]
    assert len(inspected) == len(deployment.plan["docker:index/container:Container"])
    inspected += [v.attrs for v in engine.volumes.list(filters=only_ours)]
    inspected += [n.attrs for n in engine.networks.list(filters=only_ours)]
    text = json.dumps(inspected)
    logs = "".join(c.logs().decode(errors="replace") for c in engine.containers.list(all=True, filters=only_ours))
    assert "Config" in text and logs
    for password in passwords:
        assert password not in text
        assert password not in logs


def test_an_input_the_runner_does_not_translate_fails_with_its_name():
    program = run_program("dev", {"redisImage": REDIS_IMAGE})
    node = program.named("festival-redis-master-festival-redis-master")
    node.inputs["privileged"] = True
    with pytest.raises(UntranslatedInput, match=r"input privileged is not translated"):
        translate(program)
    del node.inputs["privileged"]
    uploads = node.inputs["uploads"]
    blocks = uploads.value if isinstance(uploads, Secret) else uploads
    blocks[0]["source"] = "/etc/passwd"
    with pytest.raises(UntranslatedInput, match=r"input uploads\[0\]\.source is not translated"):
        translate(program)


def test_refuses_an_object_it_did_not_create(docker_engine, deployments):
    from harness.docker_runner import REDIS_IMAGE, DockerDeployment

    deployment = DockerDeployment()
    deployments.made.append(deployment)
    volume_name = deployment.plan["docker:index/volume:Volume"][0].plain["name"]
    master = deployment.redis_names()[0]
    # As a developer's own stack would have them: same names, not labelled by this deployment.
    foreign_volume = docker_engine.volumes.create(volume_name)
    foreign_container = docker_engine.containers.create(REDIS_IMAGE, name=master, entrypoint=["true"])
    try:
        with pytest.raises(NotOurs, match=volume_name):
            deployment.deploy()
        with pytest.raises(NotOurs, match=master):
            deployment.kill(master)
        deployment.teardown()
        assert docker_engine.volumes.get(volume_name).id == foreign_volume.id
        assert docker_engine.containers.get(master).id == foreign_container.id
    finally:
        foreign_container.remove(force=True, v=True)
        foreign_volume.remove()
