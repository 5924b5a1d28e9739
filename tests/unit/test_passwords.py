"""The pure part of a password change (components/passwords.py): the secret files, the fingerprint (the same in
Python and in the rendered passwords.sh) and the order `apply` runs passwords.sh in."""

from __future__ import annotations

import subprocess

import pytest

from components import passwords, render, users
from components.docker import topology as docker_topology
from components.settings import Settings

CURRENT = {user.key: f"current-{user.key}" for user in users.USERS}


def shell_fingerprint(tmp_path, files: dict[str, str]) -> str:
    """What the rendered passwords.sh computes from these files (no server needed)."""
    settings = Settings()
    (tmp_path / "passwords.sh").write_text(render.redis_files(settings, docker_topology(settings))[passwords.SCRIPT])
    secrets = tmp_path / "secrets"
    secrets.mkdir(exist_ok=True)
    for old in secrets.iterdir():
        old.unlink()
    for key, value in files.items():
        (secrets / key).write_text(value)
    done = subprocess.run(
        ["sh", str(tmp_path / "passwords.sh"), "fingerprint"],
        env={"PATH": "/usr/bin:/bin", "FESTIVAL_SECRETS_DIR": str(secrets), "FESTIVAL_CONF_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_every_key_has_a_previous_file_the_current_password_unless_rotating():
    files = passwords.secret_files(CURRENT, {"redis-password": "old"})
    assert files["redis-password"] == "current-redis-password" and files["redis-password.previous"] == "old"
    assert files["sentinel-password.previous"] == files["sentinel-password"]
    assert len(files) == 2 * len(users.USERS)


def test_the_fingerprint_is_the_same_in_python_and_in_sh(tmp_path):
    rotating = passwords.secret_files(CURRENT, {"redis-replication-password": "old"})
    settled = passwords.secret_files(CURRENT, {})
    for files in (rotating, settled, CURRENT):  # CURRENT: no .previous files at all
        assert shell_fingerprint(tmp_path, files) == passwords.fingerprint(files)
    # A previous file equal to the current one counts as none; a different one changes the fingerprint.
    assert passwords.fingerprint(settled) == passwords.fingerprint(CURRENT) != passwords.fingerprint(rotating)
    assert len(passwords.fingerprint(CURRENT)) == passwords.FINGERPRINT_LENGTH


class FakeNodes:
    """Nodes that answer `code` (passwords.sh's exit code) the first `not_yet[node]` times they are asked."""

    def __init__(self, not_yet: dict[str, int], fail: str = "", code: int = passwords.NOT_YET):
        self.calls: list[tuple[str, str]] = []
        self.not_yet, self.fail, self.code = dict(not_yet), fail, code

    def run(self, node, args):
        self.calls.append((args[0], node))
        if self.not_yet.get(node, 0) > 0:
            self.not_yet[node] -= 1
            return self.code, "not yet"
        return (1, "refused") if node == self.fail else (0, "")


@pytest.mark.parametrize("code", [passwords.NOT_YET, passwords.NO_ANSWER], ids=["files not mounted", "no answer"])
def test_apply_accepts_everywhere_before_any_node_uses_and_waits_for_mounted_files(monkeypatch, code):
    monkeypatch.setattr(passwords, "POLL_SECONDS", 0)
    nodes = FakeNodes({"replica": 2}, code=code)
    done = passwords.apply(nodes, ["master", "replica", "sentinel"], "f1")
    assert done == ["accept master", "accept replica", "accept sentinel", "use master", "use replica", "use sentinel"]
    assert nodes.calls.count(("accept", "replica")) == 3
    first_use = nodes.calls.index(("use", "master"))
    assert all(step == "accept" for step, _ in nodes.calls[:first_use])


def test_apply_stops_at_a_node_that_fails(monkeypatch):
    monkeypatch.setattr(passwords, "POLL_SECONDS", 0)
    with pytest.raises(passwords.PasswordsNotApplied, match="accept on replica exited 1: refused"):
        passwords.apply(FakeNodes({}, fail="replica"), ["master", "replica"], "f1")
    with pytest.raises(passwords.PasswordsNotApplied, match="exited 3"):
        passwords.apply(FakeNodes({"master": 1000}), ["master"], "f1", timeout=0)
    with pytest.raises(passwords.PasswordsNotApplied, match="exited 4"):
        passwords.apply(FakeNodes({"master": 1000}, code=passwords.NO_ANSWER), ["master"], "f1", timeout=0)


def test_redis_passwords_applies_only_when_the_fingerprint_changes(monkeypatch):
    from components import passwords_resource

    provider = passwords_resource.RedisPasswordsProvider()
    props = {"platform": "docker", "nodes": ["a"], "fingerprint": "f1", "timeout_seconds": 1, "applied": None}
    assert provider.create(props).outs["applied"] == []  # the nodes started with these files
    assert not provider.diff("id", props, {**props, "nodes": ["a", "b"]}).changes
    assert provider.diff("id", props, {**props, "fingerprint": "f2"}).changes
    runs = []
    monkeypatch.setattr(passwords_resource, "DockerScripts", lambda: FakeNodes({}))
    monkeypatch.setattr(passwords, "apply", lambda runner, nodes, expected, timeout: runs.append(expected) or ["x"])
    assert provider.update("id", props, {**props, "fingerprint": "f2"}).outs["applied"] == ["x"] and runs == ["f2"]


def test_kubernetes_exec_reads_the_scripts_exit_code_from_its_output(monkeypatch):
    import kubernetes.config
    import kubernetes.stream

    from components import passwords_resource
    from components.kubernetes import access

    calls = []

    def stream(_function, pod, namespace, container, command, **_):
        calls.append((pod, namespace, container, command))
        return "not yet\nfestival-exit=3\n"

    monkeypatch.setattr(kubernetes.config, "load_kube_config", lambda context: None)
    monkeypatch.setattr(kubernetes.stream, "stream", stream)
    monkeypatch.setattr(access, "require", lambda *_: None)  # the access check: tests/unit/test_access.py
    scripts = passwords_resource.KubernetesScripts("ctx", "festival", {"redis-sentinel-0": "sentinel"})
    assert scripts.run("redis-sentinel-0", ["accept", "f1"]) == (3, "not yet\n")
    pod, namespace, container, command = calls[0]
    assert (pod, namespace, container) == ("redis-sentinel-0", "festival", "sentinel")
    assert command[-3:] == [f"{render.CONF_DIR}/{passwords.SCRIPT}", "accept", "f1"]
