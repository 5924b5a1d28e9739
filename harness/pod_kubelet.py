"""One pod as the kubelet runs it, on the Docker engine: a holder container, its volumes, its containers, their
probes, and its deletion (harness/pod_runner.py)."""

from __future__ import annotations

import concurrent.futures
import io
import tarfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import docker
from docker.errors import NotFound

from harness.docker_runner import POD_PORTS, free_port_run
from harness.engine import LABEL, REDIS_IMAGE
from harness.pod_declared import Workload
from harness.pod_fields import (
    DEFAULT_GRACE,
    IMAGE_VOLUMES_OF_HOLDER,
    MIN_GRACE_AFTER_PRESTOP,
    UnimplementedField,
    cpu_nanos,
    expand,
    quantity_bytes,
)
from harness.runtime import wait_until

if TYPE_CHECKING:
    from harness.pod_cluster import PodCluster


def _tar(files: dict[str, tuple[bytes, int, int, int]]) -> bytes:
    """Files (path -> (content, mode, uid, gid)) as a tar archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, (data, mode, uid, gid) in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class ProbeResult:
    ok: bool
    detail: str


class Pod:
    """One pod of a StatefulSet or of the Job: a holder with the network namespace, then the spec's containers."""

    def __init__(self, cluster: PodCluster, name: str, workload: Workload, aliases: list[str], claims: list[str]):
        self.cluster, self.name, self.workload = cluster, name, workload
        self.template = workload.template
        self.spec = self.template["spec"]
        self.aliases, self.claims = aliases, claims
        self.containers: dict[str, Any] = {}
        self.image_volumes: list[str] = []
        self.started: dict[str, bool] = {}
        self.ready_flags: dict[str, bool] = {}
        self.restarts: dict[str, int] = {}
        self.probe_log: list[str] = []
        self.prestop: dict[str, tuple[int, str, float]] = {}  # container -> (exit code, output, seconds)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=8)
        self.created_at = self.ready_at = 0.0
        self.holder = None

    # --- names ------------------------------------------------------------------------------------------------
    @property
    def holder_id(self) -> str:
        """Unique to this pod (a recreated pod of the same name has another), as a pod's uid."""
        return self.holder.id if self.holder is not None else ""

    @property
    def holder_name(self) -> str:
        return f"{self.cluster.run_id}-{self.name}"

    def container_name(self, container: str) -> str:
        return f"{self.holder_name}-{container}"

    def volume_name(self, volume: str) -> str:
        if volume in self.claims:  # a claim from volumeClaimTemplates: <claim>-<pod>, kept across pod deletion
            return f"{self.cluster.run_id}-{volume}-{self.name}"
        return f"{self.holder_name}-{volume}"

    # --- creation ---------------------------------------------------------------------------------------------
    @property
    def security(self) -> dict:
        return self.spec.get("securityContext", {})

    def _user(self, container: dict) -> tuple[int, int]:
        context = {**self.security, **container.get("securityContext", {})}
        uid, gid = context.get("runAsUser"), context.get("runAsGroup")
        if uid is None or gid is None:
            raise UnimplementedField(f"{self.name}: containers without runAsUser/runAsGroup (the image's user)")
        if context.get("runAsNonRoot") and uid == 0:
            raise RuntimeError(f"{self.name}/{container['name']}: runAsNonRoot with runAsUser 0 (the kubelet refuses)")
        return uid, gid

    def _host_config_common(self, container: dict) -> dict:
        context = container.get("securityContext", {})
        limits = container.get("resources", {}).get("limits", {})
        return dict(
            read_only=bool(context.get("readOnlyRootFilesystem")),
            cap_drop=list(context.get("capabilities", {}).get("drop", [])),
            security_opt=["no-new-privileges"] if context.get("allowPrivilegeEscalation") is False else [],
            group_add=[str(self.security["fsGroup"])] if "fsGroup" in self.security else [],
            mem_limit=quantity_bytes(limits["memory"]) if "memory" in limits else None,
            nano_cpus=cpu_nanos(limits["cpu"]) if "cpu" in limits else None,
        )

    def create(self) -> None:
        """Volumes, holder, then every container in spec order (the kubelet starts them in order, without
        waiting for one to be ready); then the probes."""
        self.created_at = time.monotonic()
        self._volumes()
        self._holder()
        for container in self.spec["containers"]:
            self._container(container)
        for container in self.spec["containers"]:
            self._start_probes(container)

    def _volumes(self) -> None:
        """ConfigMap / Secret files (mode as declared, owner root, group fsGroup), the claims (created once, then
        kept), and fsGroup applied to them, through one root helper container, as the kubelet does."""
        fs_group = self.security.get("fsGroup", 0)
        binds, files = {}, {}
        for volume in self.spec.get("volumes", []):
            source = volume.get("configMap") or volume.get("secret")
            if source is None:
                continue  # emptyDir: a tmpfs per container (see _container)
            name = self.volume_name(volume["name"])
            self.cluster.new_volume(name)
            binds[name] = {"bind": f"/v/{volume['name']}", "mode": "rw"}
            if "configMap" in volume:
                data = self.cluster.declared.config_maps[source["name"]]
            else:
                data = self.cluster.declared.secrets[source["secretName"]]
            items = source.get("items") or [{"key": key, "path": key} for key in data]
            for item in items:
                mode = item.get("mode", source.get("defaultMode", 0o644))
                files[f"v/{volume['name']}/{item['path']}"] = (data[item["key"]].encode(), mode, 0, fs_group)
        for claim in self.claims:
            name = self.volume_name(claim)
            if not self.cluster.volume_exists(name):
                self.cluster.new_volume(name)
            binds[name] = {"bind": f"/claims/{claim}", "mode": "rw"}
        # fsGroup on the claims: group fsGroup, g+rwX, setgid directories; with fsGroupChangePolicy
        # OnRootMismatch only when the volume's root is not so already.
        skip = ""
        if self.security.get("fsGroupChangePolicy") == "OnRootMismatch":
            skip = f'[ "$(stat -c %g:%A "$d")" = "{fs_group}:drwxrwsr-x" ] && continue; '
        script = f'set -e; for d in /claims/*; do [ -d "$d" ] || continue; {skip}'
        script += f'chgrp -R {fs_group} "$d"; chmod -R g+rwX "$d"; find "$d" -type d -exec chmod g+s {{}} +; done'
        api = self.cluster.engine.api
        helper = api.create_container(
            REDIS_IMAGE,
            command=["sh", "-c", script],
            user="0:0",
            labels=self.cluster.labels,
            host_config=api.create_host_config(
                binds={k: {**v, "mode": "rw,nocopy"} for k, v in binds.items()},
                tmpfs={path: "size=1m" for path in IMAGE_VOLUMES_OF_HOLDER},  # no anonymous volume
            ),
        )
        try:
            if files:
                api.put_archive(helper["Id"], "/", _tar(files))
            api.start(helper["Id"])
            result = api.wait(helper["Id"], timeout=60)
            if result["StatusCode"] != 0:
                raise RuntimeError(f"{self.name}: volume set-up failed: {api.logs(helper['Id']).decode()}")
        finally:
            api.remove_container(helper["Id"], force=True, v=True)

    def refresh_secrets(self) -> None:
        """The kubelet's update of the pod's Secret volumes after a Secret changed: every file written again from
        the declared Secret, in place (the containers keep running)."""
        fs_group = self.security.get("fsGroup", 0)
        binds, files = {}, {}
        for volume in self.spec.get("volumes", []):
            source = volume.get("secret")
            if source is None:
                continue
            binds[self.volume_name(volume["name"])] = {"bind": f"/v/{volume['name']}", "mode": "rw,nocopy"}
            data = self.cluster.declared.secrets[source["secretName"]]
            for item in source.get("items") or [{"key": key, "path": key} for key in data]:
                mode = item.get("mode", source.get("defaultMode", 0o644))
                files[f"v/{volume['name']}/{item['path']}"] = (data[item["key"]].encode(), mode, 0, fs_group)
        api = self.cluster.engine.api
        helper = api.create_container(
            REDIS_IMAGE,
            command=["true"],
            user="0:0",
            labels=self.cluster.labels,
            host_config=api.create_host_config(
                binds=binds, tmpfs={path: "size=1m" for path in IMAGE_VOLUMES_OF_HOLDER}
            ),
        )
        try:
            api.put_archive(helper["Id"], "/", _tar(files))
        finally:
            api.remove_container(helper["Id"], force=True, v=True)

    def _holder(self) -> None:
        """The pod's network namespace: its DNS names as aliases, every declared port published on 127.0.0.1."""
        engine = self.cluster.engine
        ports = [p["containerPort"] for c in self.spec["containers"] for p in c.get("ports", [])]
        # A recreated pod keeps its host ports (its address in the NAT map). Docker's own choice would come from the
        # ephemeral range, where a loopback node or a client's connection may take it while the pod is gone.
        known = self.cluster.host_ports.setdefault(self.name, {})
        taken = {port for pod in self.cluster.host_ports.values() for port in pod.values()}
        for port in ports:
            if port not in known:
                known[port] = free_port_run(1, avoid=taken, within=POD_PORTS)
                taken.add(known[port])
        uid, gid = self._user(self.spec["containers"][0])
        api = engine.api
        created = api.create_container(
            REDIS_IMAGE,
            name=self.holder_name,
            hostname=self.name,
            command=["sleep", "infinity"],
            user=f"{uid}:{gid}",
            labels={**self.cluster.labels, f"{LABEL}.pod": self.name},
            ports=[(p, "tcp") for p in ports],
            host_config=api.create_host_config(
                port_bindings={f"{p}/tcp": ("127.0.0.1", known[p]) for p in ports},
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                tmpfs={path: "size=1m" for path in IMAGE_VOLUMES_OF_HOLDER},  # no anonymous volume
            ),
            networking_config=api.create_networking_config(
                {self.cluster.network_name: api.create_endpoint_config(aliases=self.aliases)}
            ),
        )
        api.start(created["Id"])
        self.holder = engine.containers.get(created["Id"])

    def env_of(self, container: dict) -> dict[str, str]:
        env: dict[str, str] = {}
        for item in container.get("env", []):
            if "valueFrom" in item:
                source = item["valueFrom"]
                if "fieldRef" in source:
                    path = source["fieldRef"]["fieldPath"]
                    fields = {"metadata.name": self.name, "metadata.namespace": self.cluster.declared.namespace}
                    if path not in fields:
                        raise UnimplementedField(f"{self.name}: env {item['name']} fieldRef {path} not implemented")
                    env[item["name"]] = fields[path]
                else:
                    ref = source["secretKeyRef"]
                    env[item["name"]] = self.cluster.declared.secrets[ref["name"]][ref["key"]]
            else:
                env[item["name"]] = expand(item.get("value", ""), env)
        return env

    def _container(self, container: dict) -> None:
        api = self.cluster.engine.api
        env = self.env_of(container)
        uid, gid = self._user(container)
        volumes = {v["name"]: v for v in self.spec.get("volumes", [])}
        binds, tmpfs = {}, {}
        for mount in container.get("volumeMounts", []):
            volume = volumes.get(mount["name"])
            if mount["name"] in self.claims:
                mode = "ro" if mount.get("readOnly") else "rw"
                binds[self.volume_name(mount["name"])] = {"bind": mount["mountPath"], "mode": f"{mode},nocopy"}
            elif volume is None:
                raise UnimplementedField(f"{self.name}/{container['name']}: volumeMount {mount['name']} has no volume")
            elif "emptyDir" in volume:
                users = [
                    c["name"]
                    for c in self.spec["containers"]
                    for m in c.get("volumeMounts", [])
                    if m["name"] == mount["name"]
                ]
                if len(users) > 1:
                    raise UnimplementedField(f"{self.name}: emptyDir {mount['name']} shared by {users}")
                size = quantity_bytes(volume["emptyDir"].get("sizeLimit", "64Mi"))
                fs_group = self.security.get("fsGroup", 0)
                tmpfs[mount["mountPath"]] = f"size={size},mode=1777,gid={fs_group}"
            else:
                if not mount.get("readOnly"):
                    raise UnimplementedField(f"{self.name}: ConfigMap/Secret volume {mount['name']} mounted writable")
                binds[self.volume_name(mount["name"])] = {"bind": mount["mountPath"], "mode": "ro,nocopy"}
        # A VOLUME of the image that no mount covers (the Redis image's /data in the check Job): a labelled volume
        # of its own, as containerd gives such a path a writable directory per container (docs/prod-pods.md).
        image_volumes = self.cluster.engine.images.get(container["image"]).attrs["Config"].get("Volumes") or {}
        for path in sorted(set(image_volumes) - {m["mountPath"] for m in container.get("volumeMounts", [])}):
            name = f"{self.container_name(container['name'])}{path.replace('/', '-')}"
            self.cluster.new_volume(name)
            self.image_volumes.append(name)
            binds[name] = {"bind": path, "mode": "rw"}
        created = api.create_container(
            container["image"],
            name=self.container_name(container["name"]),
            entrypoint=[expand(a, env) for a in container["command"]] if "command" in container else None,
            command=[expand(a, env) for a in container.get("args", [])] or None,
            environment=env,
            user=f"{uid}:{gid}",
            labels={**self.cluster.labels, f"{LABEL}.pod": self.name},
            host_config=api.create_host_config(
                network_mode=f"container:{self.holder.id}",
                binds=binds,
                tmpfs=tmpfs,
                **self._host_config_common(container),
            ),
        )
        api.start(created["Id"])
        self.containers[container["name"]] = self.cluster.engine.containers.get(created["Id"])
        self.restarts.setdefault(container["name"], 0)
        self.started[container["name"]] = "startupProbe" not in container
        self.ready_flags[container["name"]] = False

    # --- probes -----------------------------------------------------------------------------------------------
    def _start_probes(self, container: dict) -> None:
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            if kind in container:
                thread = threading.Thread(target=self._probe_loop, args=(container, kind), daemon=True)
                thread.start()
                self._threads.append(thread)
        if "readinessProbe" not in container:
            self.ready_flags[container["name"]] = True  # ready once running (and started)

    def exec(self, container: str, command: list[str], timeout: float) -> tuple[int | None, str]:
        """Exec in a container as its user; (None, ...) when it did not finish within `timeout` seconds or the
        container is not running (exited, or being restarted): a failed probe, as for the kubelet."""
        future = self._executor.submit(self.containers[container].exec_run, command)
        try:
            result = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            return None, f"timed out after {timeout}s"
        except docker.errors.APIError as error:
            # 409: the container is not running; 404: it (or the exec) went while the exec ran (a restart). A raise
            # here would end the probe thread, and the pod would never be counted ready again.
            if error.status_code not in (404, 409):
                raise
            return None, f"not running: {error.explanation}"
        return result.exit_code, result.output.decode(errors="replace")

    def run_probe(self, container: dict, probe: dict) -> ProbeResult:
        timeout = probe.get("timeoutSeconds", 1)
        if "exec" in probe:
            code, output = self.exec(container["name"], probe["exec"]["command"], timeout)
            return ProbeResult(code == 0, f"exit {code}: {output.strip()[-200:]}")
        http = probe["httpGet"]
        port = http["port"]
        if isinstance(port, str):
            port = next(p["containerPort"] for p in container.get("ports", []) if p.get("name") == port)
        url = f"http://127.0.0.1:{self.cluster.host_ports[self.name][port]}{http.get('path', '/')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return ProbeResult(200 <= response.status < 400, f"HTTP {response.status}")
        except OSError as error:
            return ProbeResult(False, f"{type(error).__name__}: {error}")

    def _probe_loop(self, container: dict, kind: str) -> None:
        name, probe = container["name"], container[kind]
        period = probe.get("periodSeconds", 10)
        failures_allowed = probe.get("failureThreshold", 3)
        successes_needed = probe.get("successThreshold", 1)
        failures = successes = 0
        if self._stop.wait(probe.get("initialDelaySeconds", 0)):
            return
        while not self._stop.is_set():
            if kind == "startupProbe" and self.started[name]:
                return
            if kind != "startupProbe" and not self.started[name]:
                failures = successes = 0
                self._stop.wait(period)
                continue
            result = self.run_probe(container, probe)
            if self._stop.is_set():
                return
            if result.ok:
                failures, successes = 0, successes + 1
                if kind == "startupProbe":
                    self.started[name] = True
                elif kind == "readinessProbe" and successes >= successes_needed:
                    self.ready_flags[name] = True
            else:
                successes, failures = 0, failures + 1
                self.probe_log.append(f"{time.monotonic():.1f} {name} {kind} failed ({failures}): {result.detail}")
                if kind == "readinessProbe" and failures >= failures_allowed:
                    self.ready_flags[name] = False
                if kind in ("livenessProbe", "startupProbe") and failures >= failures_allowed:
                    self.restart_container(container, f"{kind} failed {failures} times")
                    failures = 0
            self._stop.wait(period)

    def restart_container(self, container: dict, reason: str) -> None:
        """What the kubelet does on a failed liveness or startup probe: kill (preStop, SIGTERM, SIGKILL) and
        start the same container again; it is not ready and not started until its probes say so."""
        name = container["name"]
        self.probe_log.append(f"{time.monotonic():.1f} {name} restarted: {reason}")
        self.ready_flags[name] = False
        self.started[name] = "startupProbe" not in container
        self._kill(container, time.monotonic() + self.spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE))
        self.containers[name].start()
        self.restarts[name] += 1

    @property
    def ready(self) -> bool:
        return bool(self.containers) and all(self.ready_flags.values())

    def wait_ready(self, timeout: float) -> float:
        """Seconds from the pod's creation until every container is ready."""
        try:
            wait_until(lambda: self.ready, timeout, interval=0.1, what=f"pod {self.name} to be ready")
        except TimeoutError as error:
            raise TimeoutError(f"{error}; probes: {self.probe_log[-6:]}\n{self.logs()}") from error
        if not self.ready_at:
            self.ready_at = time.monotonic()
        return self.ready_at - self.created_at

    # --- deletion ---------------------------------------------------------------------------------------------
    def _kill(self, container: dict, deadline: float) -> None:
        """preStop (bounded by the grace period), SIGTERM, SIGKILL when the grace period is spent."""
        docker_container = self.containers[container["name"]]
        hook = container.get("lifecycle", {}).get("preStop")
        if hook:
            started = time.monotonic()
            code, output = self.exec(container["name"], hook["exec"]["command"], max(deadline - started, 0))
            self.prestop[container["name"]] = (code, output, time.monotonic() - started)
        remaining = max(deadline - time.monotonic(), MIN_GRACE_AFTER_PRESTOP if hook else 0)
        try:
            docker_container.kill(signal="SIGTERM")
            docker_container.wait(timeout=remaining)
        except docker.errors.APIError:
            return  # not running
        except Exception:  # the wait timed out: the grace period is spent
            docker_container.kill(signal="SIGKILL")
            docker_container.wait(timeout=30)

    def delete(self) -> float:
        """As the kubelet deletes a pod: probes stop, every container is killed at once (preStop, SIGTERM,
        SIGKILL at the end of terminationGracePeriodSeconds), then the holder; the claims stay. Seconds taken."""
        started = time.monotonic()
        self._stop.set()
        deadline = started + self.spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
        threads = [
            threading.Thread(target=self._kill, args=(container, deadline)) for container in self.spec["containers"]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for container in self.containers.values():
            container.remove(force=True, v=True)  # v: the anonymous volume of the image's VOLUME /data
        self.holder.remove(force=True, v=True)
        for volume in self.spec.get("volumes", []):
            if volume["name"] not in self.claims and "emptyDir" not in volume:
                self.cluster.remove_volume(self.volume_name(volume["name"]))
        for name in self.image_volumes:
            self.cluster.remove_volume(name)
        self._executor.shutdown(wait=False, cancel_futures=True)
        return time.monotonic() - started

    def logs(self, tail: int = 30) -> str:
        parts = []
        for name, container in self.containers.items():
            try:
                text = container.logs(tail=tail).decode(errors="replace")
            except NotFound:
                text = "(gone)"
            parts.append(f"--- {self.name}/{name} ---\n{text}")
        return "\n".join(parts)
