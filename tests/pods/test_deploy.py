"""Every container of every prod pod spec, run under its declared security context: all pods ready, the check Job
passes, the exporters read their password file, nothing writes outside /data and /tmp, every process is uid 999
without capabilities, and the announced pod names resolve in every pod."""

from __future__ import annotations

import re

import pytest

from components.kubernetes.names import NODES_SECRET_NAME
from harness.pod_session import FIGURES

pytestmark = pytest.mark.pods

PODS = [
    "redis-master-0",
    "redis-replica-0",
    "redis-replica-1",
    "redis-sentinel-0",
    "redis-sentinel-1",
    "redis-sentinel-2",
]
RUNTIME_WRITABLE = ("/dev/shm", "/dev/mqueue")  # every runtime's, in Kubernetes too (docs/prod-pods.md)
MAIN_PROCESS = {"redis": "redis-server", "sentinel": "redis-sentinel", "exporter": "prometheus-redis-exporter"}


def every_container(cluster):
    """(pod, container spec) of every container of every pod."""
    return [(pod, spec) for pod in cluster.pods.values() for spec in pod.spec["containers"]]


def run(cluster, pod, container, command):
    code, output = cluster.exec(pod, container, command)
    assert code == 0, f"{pod}/{container}: {command!r} exited {code}: {output}"
    return output


def test_every_pod_of_every_statefulset_becomes_ready_and_no_container_restarted(cluster):
    assert sorted(cluster.pods) == sorted(PODS)
    ran = set()
    for pod, spec in every_container(cluster):
        container = pod.containers[spec["name"]]
        container.reload()
        assert container.status == "running", f"{pod.name}/{spec['name']}: {container.status}"
        assert container.attrs["Config"]["Image"] == spec["image"]
        ran.add((pod.workload.name, spec["name"]))
    declared = {(w.name, c["name"]) for w in cluster.declared.statefulsets for c in w.template["spec"]["containers"]}
    assert ran == declared
    for pod in cluster.pods.values():
        assert pod.ready, f"{pod.name}: {pod.ready_flags}"
        assert set(pod.restarts.values()) == {0}, f"{pod.name} restarted: {pod.probe_log}"
    assert max(cluster.ready_seconds.values()) < 60, cluster.ready_seconds


def test_the_check_job_succeeds_under_its_own_pod_spec(healthy):
    job = healthy.run_job()
    FIGURES["check job (s)"] = round(job.seconds, 1)
    assert job.exit_code == 0, job.output
    master = healthy.outputs["redisEndpoints"][0]
    assert f"healthy: master {master}, 2 replicas linked, 3 Sentinels agree, canary replicated" in job.output
    host, config = job.inspect["HostConfig"], job.inspect["Config"]
    assert config["Image"] == healthy.declared.job.template["spec"]["containers"][0]["image"]
    assert config["Entrypoint"] == ["sh", "/etc/festival/check-job.sh"]
    assert config["User"] == "999:999"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["GroupAdd"] == ["999"]
    assert set(host["Tmpfs"]) == {"/tmp"}
    # /data: the image's VOLUME, which no mount covers: writable, as containerd and CRI-O make it too
    assert {m["Destination"]: m["RW"] for m in job.inspect["Mounts"]} == {
        "/etc/festival": False,
        "/etc/festival-secrets": False,
        "/data": True,
    }


def test_exporters_serve_redis_up_and_sentinel_metrics_with_the_password_file(healthy):
    for pod in PODS:
        metrics = healthy.metrics(pod)
        assert re.search(r"^redis_up 1$", metrics, re.M), f"{pod}: {metrics[:2000]}"
        if pod.startswith("redis-sentinel"):
            status = re.search(r'^redis_sentinel_master_status\{[^}]*master_status="ok"[^}]*\} 1$', metrics, re.M)
            assert status, pod
            assert re.search(r"^redis_sentinel_master_ok_slaves\{[^}]*\} 2$", metrics, re.M), pod
            assert re.search(r"^redis_sentinel_master_ckquorum_status\{[^}]*\} 1$", metrics, re.M), pod
        else:
            assert re.search(r'^redis_instance_info\{[^}]*role="(master|slave)"', metrics, re.M), pod
        argv = run(healthy, pod, "exporter", "tr '\\0' ' ' </proc/1/cmdline")
        assert "--redis.password-file=/etc/festival-exporter/" in argv
        assert not any(password in argv for password in healthy.declared.secrets[NODES_SECRET_NAME].values())


# Every mount that is not read-only (the root filesystem must be), then what in it is writable by the container's
# user; character devices (/dev/null, /dev/tty, ...) and symlinks (/dev/stdout -> /proc/self/fd/1) left out.
WRITABLE = """
awk '$2 == "/" { print "rootfs", $4 }' /proc/self/mounts
awk '$4 !~ /(^|,)ro(,|$)/ && $2 != "/proc" && $2 !~ "^/proc/" { print $2 }' /proc/self/mounts |
  while read -r m; do find "$m" -xdev ! -type c ! -type l -writable -print 2>/dev/null; done | sort -u
"""


def test_nothing_in_a_container_can_write_outside_its_writable_volumes(cluster):
    for pod, spec in every_container(cluster):
        where = f"{pod.name}/{spec['name']}"
        writable = [m["mountPath"] for m in spec.get("volumeMounts", []) if not m.get("readOnly")]
        read_only = [m["mountPath"] for m in spec.get("volumeMounts", []) if m.get("readOnly")]
        rootfs, *found = run(cluster, pod.name, spec["name"], WRITABLE).splitlines()
        assert rootfs.split()[0] == "rootfs" and "ro" in rootfs.split()[1].split(","), f"{where}: {rootfs}"
        outside = [d for d in found if not any(d == p or d.startswith(p + "/") for p in (*writable, *RUNTIME_WRITABLE))]
        assert outside == [], f"{where} can write to {outside}"
        assert set(writable) <= set(found), f"{where}: {writable} not all writable"
        # /var/tmp is world-writable in the images: only the read-only root filesystem stops the write
        denied = ["/", "/etc", "/usr/local/bin", "/var/lib", "/var/tmp", *read_only]
        denied += ["/tmp"] if "/tmp" not in writable else []
        script = 'for d; do touch "$d/festival-write-test" 2>&1 | sed "s|^|$d |"; rm -f "$d/festival-write-test"; done'
        output = run(cluster, pod.name, spec["name"], f"set -- {' '.join(denied + writable)}; {script}")
        errors = dict(line.split(" ", 1) for line in output.splitlines())
        assert {path: "Read-only file system" in errors.get(path, "") for path in denied} == dict.fromkeys(
            denied, True
        ), f"{where}: {output}"
        assert set(errors) == set(denied), f"{where} cannot write to its writable mounts: {output}"


def status_fields(text: str) -> list[dict[str, str]]:
    processes = []
    for block in text.split("\n\n"):
        fields = dict(line.split(":\t", 1) for line in block.splitlines() if ":\t" in line)
        if fields:
            processes.append(fields)
    return processes


def test_every_process_runs_as_999_without_capabilities_or_privilege_escalation(cluster):
    for pod, spec in every_container(cluster):
        name = spec["name"]
        text = run(cluster, pod.name, name, 'for f in /proc/[0-9]*/status; do cat "$f" 2>/dev/null; echo; done')
        # runc:[2:INIT] is the runtime setting up a concurrent `docker exec` (a probe), before it applies the
        # container's settings and becomes the probe's process; not a process of the pod.
        processes = [p for p in status_fields(text) if not p["Name"].startswith("runc:")]
        assert any(p["Name"] == MAIN_PROCESS[name][:15] for p in processes), f"{pod.name}/{name}: {processes}"
        for p in processes:
            where = f"{pod.name}/{name} {p['Name']}"
            assert p["Uid"].split() == ["999"] * 4, where
            assert p["Gid"].split() == ["999"] * 4, where
            assert p["Groups"].split() == ["999"], where
            for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                assert int(p[cap], 16) == 0, f"{where}: {cap} {p[cap]}"
            assert p["NoNewPrivs"] == "1", where
            assert p["Seccomp"] == "2", f"{where}: seccomp mode {p['Seccomp']} (2: filter, the runtime's default)"


def test_config_and_secret_files_have_the_declared_modes_and_fsgroup(cluster):
    pod = cluster.pods["redis-master-0"]
    volumes = {v["name"]: v for v in pod.spec["volumes"]}
    for spec in pod.spec["containers"]:
        for mount in spec.get("volumeMounts", []):
            volume = volumes.get(mount["name"])
            source = volume and (volume.get("configMap") or volume.get("secret"))
            if not source:
                continue
            listing = run(cluster, pod.name, spec["name"], f"stat -L -c '%a %u %g %n' {mount['mountPath']}/*")
            for line in listing.splitlines():
                mode, uid, gid, path = line.split()
                assert (int(mode, 8), uid, gid) == (source["defaultMode"], "0", "999"), line
            assert listing.strip(), mount
    data = run(cluster, pod.name, "redis", "stat -c '%a %g' /data; stat -c '%u %g %a' /data/redis.conf")
    assert data.split() == ["2775", "999", "999", "999", "600"]


def test_passwords_are_in_no_argv_and_no_container_environment(cluster):
    """The scripts hand passwords to redis-cli through REDISCLI_AUTH, in that short-lived process's own environment
    (readable by uid 999 only); never in any process's argv, the container's environment or its main process's."""
    for pod, spec in every_container(cluster):
        where = f"{pod.name}/{spec['name']}"
        argv = run(cluster, pod.name, spec["name"], "cat /proc/[0-9]*/cmdline 2>/dev/null; true")
        main_env = run(cluster, pod.name, spec["name"], "cat /proc/1/environ")
        for secret in cluster.declared.secrets[NODES_SECRET_NAME].values():  # every user's password
            assert secret not in argv, where
            assert secret not in main_env, where
            assert not any(secret in e for e in pod.containers[spec["name"]].attrs["Config"]["Env"]), where


def test_the_names_the_nodes_announce_resolve_in_every_pod(cluster):
    names = [e.rsplit(":", 1)[0] for e in cluster.outputs["redisEndpoints"] + cluster.outputs["sentinelEndpoints"]]
    ips = {}
    for pod in cluster.pods.values():
        pod.holder.reload()
        ips[pod.name] = pod.holder.attrs["NetworkSettings"]["Networks"][cluster.network_name]["IPAddress"]
    for pod in cluster.pods.values():
        first = pod.spec["containers"][0]["name"]
        node_host = run(cluster, pod.name, first, "printenv FESTIVAL_NODE_HOST").strip()
        assert (
            node_host == f"{pod.name}.{pod.workload.spec['serviceName']}.{cluster.declared.namespace}.svc.cluster.local"
        )
        answers = run(cluster, pod.name, first, "getent ahostsv4 " + " ".join(names) + " | awk '$2 == \"STREAM\"'")
        resolved = {}
        for line in answers.splitlines():
            ip, _, name = line.split()[:3]
            resolved[name] = ip
        for name in names:
            assert resolved.get(name) == ips[name.split(".")[0]], f"in {pod.name}: {name} -> {resolved.get(name)}"
