"""Runs what the dev stack's program declares on the local Docker engine, for the tests in tests/docker and bench/.

`__main__.py` runs under Pulumi mocks (harness/program.py) with the real Pulumi.dev.yaml plus
overrides; every declared `docker:` resource is then created with the Docker SDK, input by input, the way
pulumi-docker creates it. A declared input this runner does not translate is an error naming it, so a field
added to the program later is never silently dropped. The post-deploy ReplicationCheck runs through the dynamic
provider the program declares, with its declared inputs.

Everything created carries the label festival-redis.test=<namePrefix> and is removed by teardown(); an object of
the same name without that label is never touched.
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import secrets
import socket
import tarfile
import threading
import time
from collections.abc import Callable
from typing import Any

import dill
import docker
import redis
from docker.errors import NotFound
from pulumi.dynamic import ResourceProvider

from components import users
from components.checks import HEALTHY, Report
from components.checks.observe import Target, check_deployment, nat_addresses
from components.render import SECRETS_DIR
from harness.engine import LABEL, REDIS_IMAGE, keep_logs, leftovers, remove_labelled
from harness.program import MOCK_IMAGE_ID_PREFIX, Program, Recorded, reveal, run_program, stack_config
from harness.runtime import FromOutputs, wait_until
from harness.writer import NatSentinel, Writer, sentinel_client

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
IMAGE = "docker:index/remoteImage:RemoteImage"
DYNAMIC = "pulumi-python:dynamic:Resource"
PROVIDER_KEY = "__provider"
CHECK_SUFFIX = "-replication-check"  # the declared ReplicationCheck (the other dynamic resource: RedisPasswords)

# Every input this runner translates, by resource type and nested block; anything else is an error.
CONTAINER_INPUTS = {
    "name",
    "hostname",
    "image",
    "user",
    "entrypoints",
    "envs",
    "uploads",
    "volumes",
    "networksAdvanced",
    "ports",
    "healthcheck",
    "restart",
    "memory",
    "start",
    "mustRun",
    "stopTimeout",
    "destroyGraceSeconds",
}
BLOCK_INPUTS = {
    "uploads": {"file", "content", "executable", "owner", "group", "permissions"},
    "volumes": {"volumeName", "containerPath", "readOnly"},
    "networksAdvanced": {"name", "aliases"},
    "ports": {"internal", "external", "ip"},
    "healthcheck": {"tests", "interval", "timeout", "retries", "startPeriod"},
}
NETWORK_INPUTS = {"name", "driver"}
VOLUME_INPUTS = {"name"}
IMAGE_INPUTS = {"name", "keepLocally"}


class UntranslatedInput(Exception):
    """The program declares something this runner does not know how to create."""


class NotOurs(Exception):
    """A Docker object this runner did not create: never touched."""


DEV_PORTS = range(20000, 30000)  # the dev stacks' published ports
POD_PORTS = range(10000, 20000)  # the pod runner's (harness/pod_runner.py)


def free_port_run(count: int, avoid: set[int] = frozenset(), within: range = DEV_PORTS) -> int:
    """The first of `count` consecutive ports that are free on 127.0.0.1, from `within`: below the ephemeral range
    (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999), which the loopback harness's nodes and every client's
    outgoing connections take ports from."""
    for _ in range(200):
        base = secrets.randbelow(len(within) - count) + within.start
        ports = range(base, base + count)
        if avoid & set(ports):
            continue
        sockets = []
        try:
            for port in ports:
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


def duration_ns(text: str) -> int:
    """A Go duration as pulumi-docker takes it ("10s", "1m30s", "500ms") in nanoseconds."""
    units = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return int(sum(float(n) * units[u] for n, u in parts))


def deployment_overrides(**overrides: Any) -> dict[str, Any]:
    """A unique namePrefix, free host ports and short Sentinel timings, for a deployment that clashes with nothing."""
    config = {**_dev_config(), **overrides}
    redis_port = free_port_run(int(config["replicaCount"]) + 1)
    sentinel_port = free_port_run(int(config["sentinelCount"]), avoid=set(range(redis_port, redis_port + 10)))
    return {
        "redisImage": REDIS_IMAGE,
        "namePrefix": "frt" + secrets.token_hex(3),
        "devRedisPort": redis_port,
        "devSentinelPort": sentinel_port,
        "downAfterMilliseconds": 1000,
        "failoverTimeout": 5000,
        **overrides,
    }


def _dev_config() -> dict[str, Any]:
    return {key.split(":", 1)[1]: value for key, value in stack_config("dev").items()}


class DockerDeployment(FromOutputs):
    """The dev stack's declaration, on the engine. Not started until deploy()."""

    def __init__(self, **overrides: Any):
        self.overrides = deployment_overrides(**overrides)
        self.prefix = self.overrides["namePrefix"]
        self.labels = {LABEL: self.prefix}
        self.engine = docker.from_env(timeout=60)
        self.program = run_program("dev", self.overrides)
        self.plan = self._translate(self.program)
        self.check_result: dict | None = None
        self.removed_logs: list[tuple[str, str]] = []  # (name, log) of each container replaced or deleted
        self.healthy_seconds: float | None = None

    @property
    def outputs(self) -> dict[str, Any]:
        return self.program.outputs

    # --- declared program -> engine ----------------------------------------------------------------------
    def _translate(self, program: Program) -> dict[str, list[Recorded]]:
        plan, self.images = translate(program)
        return plan

    def deploy(self) -> dict:
        """Create every declared object (images checked, network, volumes, then the containers in the engine's order:
        each once those it depends on exist, independent ones at the same time), then run the declared
        ReplicationCheck's provider, as the end of `pulumi up` does. Its outputs."""
        started = time.monotonic()
        for image in self.plan[IMAGE]:
            self._image(image)
        for network in self.plan[NETWORK]:
            self._network(network)
        for volume in self.plan[VOLUME]:
            self._volume(volume.plain["name"])
        in_engine_order(self.program, {r.name: (lambda r=r: self._create_container(r)) for r in self.plan[CONTAINER]})
        self.check_result = self.run_checks()
        self.wait_docker_healthy()
        self.healthy_seconds = time.monotonic() - started
        return self.check_result

    def run_checks(self) -> dict:
        """The declared dynamic resources, in declaration order, through their providers (deserialized from the
        declaration), as the engine does: a new one is created, one that exists is updated when its provider's
        diff finds changes. Their outputs."""
        results = {}
        for resource in self.plan[DYNAMIC]:
            props = reveal(resource.inputs)
            provider = dill.loads(base64.b64decode(props.pop(PROVIDER_KEY)))
            if not isinstance(provider, ResourceProvider):
                raise UntranslatedInput(f"{resource.name}: {PROVIDER_KEY} is not a dynamic provider")
            olds = (self.check_result or {}).get(resource.name)
            try:
                if olds is None:
                    results[resource.name] = provider.create(props).outs
                elif provider.diff(resource.name, olds, props).changes:
                    results[resource.name] = provider.update(resource.name, olds, props).outs
                else:
                    results[resource.name] = olds
            except RuntimeError as error:
                raise RuntimeError(f"{error}\nwhat the nodes logged:\n{self.role_events()}") from error
        return results

    def role_events(self) -> str:
        """The lines of every container's log (removed ones included) that say how roles were decided: the
        scripts' own lines and Sentinel's master events. A failed check quotes them (a CI log has nothing else)."""
        ours = {"label": f"{LABEL}={self.prefix}"}
        logs = self.removed_logs + [
            (container.name, container.logs(timestamps=True).decode(errors="replace"))
            for container in self.engine.containers.list(all=True, filters=ours)
        ]
        wanted = ("festival ", "switch-master", "failover", "odown", "convert-to-slave", "config-update-from")
        lines = [
            f"{line[11:23]} {name}: {line[31:]}"
            for name, text in logs
            for line in text.splitlines()
            if any(word in line for word in wanted)
        ]
        return "\n".join(sorted(lines)[-150:])

    @property
    def check_summary(self) -> str:
        """The summary of the declared ReplicationCheck's last run."""
        (summary,) = [o["summary"] for name, o in (self.check_result or {}).items() if name.endswith(CHECK_SUFFIX)]
        return summary

    def _image(self, resource: Recorded) -> None:
        inputs = resource.plain
        if inputs.get("keepLocally") is not True:
            raise UntranslatedInput(f"{resource.name}: keepLocally must be true (this runner never removes images)")
        try:
            self.engine.images.get(inputs["name"])
        except docker.errors.ImageNotFound as error:
            raise RuntimeError(f"image {inputs['name']} is not present locally (images/build redis)") from error

    def _network(self, resource: Recorded) -> None:
        inputs = resource.plain
        self._refuse_existing(self.engine.networks.list(names=[inputs["name"]]), inputs["name"])
        self.engine.networks.create(inputs["name"], driver=inputs.get("driver", "bridge"), labels=self.labels)

    def _volume(self, name: str) -> None:
        try:
            existing = [self.engine.volumes.get(name)]
        except NotFound:
            existing = []
        self._refuse_existing(existing, name)
        self.engine.volumes.create(name, labels=self.labels)

    def _refuse_existing(self, found: list, name: str) -> None:
        for obj in found:
            if obj.name == name:
                owner = (obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}).get(LABEL)
                raise NotOurs(f"{name} exists already ({'created by ' + owner if owner else 'not created by us'})")

    def _create_container(self, resource: Recorded) -> None:
        """As pulumi-docker does: create (not started), copy each upload in as a tar archive with the declared
        owner, group and mode, then start."""
        d = resource.plain
        name = d["name"]
        try:
            self._refuse_existing([self.engine.containers.get(name)], name)
        except NotFound:
            pass
        api = self.engine.api
        networks = d.get("networksAdvanced", [])
        ports = d.get("ports", [])
        healthcheck = d.get("healthcheck")
        host_config = api.create_host_config(
            binds={
                v["volumeName"]: {"bind": v["containerPath"], "mode": "ro" if v.get("readOnly") else "rw"}
                for v in d.get("volumes", [])
            },
            port_bindings={f"{int(p['internal'])}/tcp": (p.get("ip", "0.0.0.0"), int(p["external"])) for p in ports},
            restart_policy={"Name": d["restart"]} if "restart" in d else None,
            mem_limit=int(d["memory"]) * 1024 * 1024 if "memory" in d else None,
        )
        networking_config = None
        if networks:
            first = networks[0]
            endpoint = api.create_endpoint_config(aliases=first.get("aliases"))
            networking_config = api.create_networking_config({first["name"]: endpoint})
        created = api.create_container(
            image=self._image_name(resource, d["image"]),
            name=name,
            hostname=d.get("hostname"),
            user=d.get("user"),
            entrypoint=d.get("entrypoints"),
            environment=d.get("envs"),
            ports=[(int(p["internal"]), "tcp") for p in ports],
            healthcheck=_healthcheck(healthcheck) if healthcheck else None,
            stop_timeout=int(d["stopTimeout"]) if "stopTimeout" in d else None,
            labels=self.labels,
            host_config=host_config,
            networking_config=networking_config,
            detach=True,
        )
        for extra in networks[1:]:
            self.engine.networks.get(extra["name"]).connect(created["Id"], aliases=extra.get("aliases"))
        for upload in d.get("uploads", []):
            api.put_archive(created["Id"], "/", _archive(upload))
        if d.get("start", True):
            api.start(created["Id"])
            if d.get("mustRun", True) and not self.container(name).attrs["State"]["Running"]:
                raise RuntimeError(f"{name} is not running after its start (mustRun)")

    def _image_name(self, resource: Recorded, image: str) -> str:
        if image not in self.images:
            raise UntranslatedInput(f"{resource.name}: image {image!r} is not a declared RemoteImage's id")
        return self.images[image]

    def declared(self, name: str) -> Recorded:
        """The container declared with that name."""
        for resource in self.plan[CONTAINER]:
            if resource.plain["name"] == name:
                return resource
        raise KeyError(f"no container {name} declared")

    # --- teardown ----------------------------------------------------------------------------------------
    def teardown(self) -> None:
        """Remove every container, volume and network carrying this deployment's label (nothing else)."""
        remove_labelled(self.engine, self.prefix)

    def leftovers(self) -> list[str]:
        return leftovers(self.engine, self.prefix)

    # --- faults --------------------------------------------------------------------------------------------
    def container(self, name: str):
        """One of this deployment's containers (refusing any other)."""
        container = self.engine.containers.get(name)
        if container.labels.get(LABEL) != self.prefix:
            raise NotOurs(f"container {name} was not created by this deployment")
        return container

    @property
    def network(self):
        network = self.engine.networks.get(self.outputs["networkName"])
        if network.attrs.get("Labels", {}).get(LABEL) != self.prefix:
            raise NotOurs(f"network {network.name} was not created by this deployment")
        return network

    def kill(self, name: str) -> None:
        self.container(name).kill()

    def start(self, name: str) -> None:
        self.container(name).start()

    def stop(self, name: str, timeout: int = 10) -> None:
        self.container(name).stop(timeout=timeout)

    def restart(self, name: str, timeout: int = 10) -> None:
        self.container(name).restart(timeout=timeout)

    def pause(self, name: str) -> None:
        self.container(name).pause()

    def unpause(self, name: str) -> None:
        self.container(name).unpause()

    def disconnect(self, name: str) -> None:
        self.network.disconnect(self.container(name))

    def connect(self, name: str) -> None:
        """Back on the network with its declared aliases."""
        networks = self.declared(name).plain.get("networksAdvanced", [])
        aliases = next(n.get("aliases") for n in networks if n["name"] == self.network.name)
        self.network.connect(self.container(name), aliases=aliases)

    def remove(self, name: str, grace: int | None = None) -> None:
        """pulumi-docker's delete: with destroy_grace_seconds declared, a stop (SIGTERM, SIGKILL after that long),
        then a forced removal with the anonymous volumes; named volumes stay."""
        grace = grace if grace is not None else self.declared(name).plain.get("destroyGraceSeconds")
        container = self.container(name)
        if grace:
            container.stop(timeout=int(grace))
        keep_logs(container)
        self.removed_logs.append((f"{name} (removed)", container.logs(timestamps=True).decode(errors="replace")))
        container.remove(force=True, v=True)

    def remove_with_volume(self, name: str) -> None:
        """A lost disk: the container and its own volumes (not those other containers mount, like the secrets)."""
        others = {
            m["volumeName"] for r in self.plan[CONTAINER] if r.plain["name"] != name for m in r.plain.get("volumes", [])
        }
        self.container(name).remove(force=True, v=True)  # the disk is gone: no stop, no hand-over
        for mount in self.declared(name).plain.get("volumes", []):
            if mount["volumeName"] in others:
                continue
            volume = self.engine.volumes.get(mount["volumeName"])
            if volume.attrs.get("Labels", {}).get(LABEL) != self.prefix:
                raise NotOurs(f"volume {volume.name} was not created by this deployment")
            volume.remove()

    def recreate(self, name: str) -> None:
        """From the same declaration: its missing volumes, then the container."""
        declared = self.declared(name)
        for mount in declared.plain.get("volumes", []):
            try:
                self.engine.volumes.get(mount["volumeName"])
            except NotFound:
                self._volume(mount["volumeName"])
        self._create_container(declared)

    def replace_changed(self, program: Program) -> list[str]:
        """apply(), returning the names of the replaced containers."""
        return self.apply(program)["replaced"]

    def apply(self, program: Program) -> dict[str, list[str]]:
        """Apply a new run of the program as `pulumi up` does: create the new volumes; then take each container's
        step in the engine's order (in_engine_order): create a new one, replace one whose declared inputs changed
        (delete, then create: fixed names and host ports), nothing for an unchanged one; then the checks (the
        ReplicationCheck depends on every node); then, last, delete the containers no longer declared (reverse
        declaration order, each stopped with its declared grace) and their volumes unless retained
        (retain_on_delete). The names created, replaced and deleted, each list in the order the steps finished."""
        new_plan = self._translate(program)
        if {r.name: r.plain for r in new_plan[NETWORK]} != {r.name: r.plain for r in self.plan[NETWORK]}:
            raise UntranslatedInput(f"a change to a {NETWORK} is not supported by apply")
        for image in new_plan[IMAGE]:  # a changed RemoteImage is pulled (here: present); keepLocally keeps the old
            self._image(image)
        old_program, old_plan = self.program, self.plan
        old = {r.plain["name"]: r.plain for r in old_plan[CONTAINER]}
        new_names = {r.plain["name"] for r in new_plan[CONTAINER]}
        changed = [r for r in new_plan[CONTAINER] if r.plain["name"] in old and old[r.plain["name"]] != r.plain]
        for resource in changed:
            options = program.options.get(resource.name)
            if not (options and options.delete_before_replace):
                raise UntranslatedInput(f"{resource.name}: a replacement needs delete_before_replace")
        # An already running writer keeps the natMap it was given: it sees the new nodes' entries too.
        nat_map = old_program.outputs.get("natMap")
        if isinstance(nat_map, dict):
            nat_map.clear()
            nat_map.update(program.outputs["natMap"])
            program.outputs["natMap"] = nat_map
        self.program, self.plan = program, new_plan
        old_volumes = {r.plain["name"] for r in old_plan[VOLUME]}
        for volume in new_plan[VOLUME]:
            if volume.plain["name"] not in old_volumes:
                self._volume(volume.plain["name"])
        done: dict[str, list[str]] = {"created": [], "replaced": [], "deleted": []}
        changed_names = {r.plain["name"] for r in changed}

        def step(resource: Recorded) -> None:
            name = resource.plain["name"]
            if name not in old:
                self._create_container(resource)
                done["created"].append(name)
            elif name in changed_names:
                # delete_before_replace: DeleteReplacementStep, then CreateReplacementStep (pulumi
                # pkg/resource/deploy/step_generator.go, generateStepsFromDiff). No dependent is replaced with it: the
                # containers' depends_on edges carry no property (calculateDependentReplacements).
                self.remove(name, old[name].get("destroyGraceSeconds"))
                self._create_container(resource)
                done["replaced"].append(name)

        in_engine_order(program, {r.name: (lambda r=r: step(r)) for r in new_plan[CONTAINER]})
        self.check_result = self.run_checks()
        for resource in reversed(old_plan[CONTAINER]):
            name = resource.plain["name"]
            if name not in new_names:
                self.remove(name, resource.plain.get("destroyGraceSeconds"))
                done["deleted"].append(name)
        new_volumes = {r.plain["name"] for r in new_plan[VOLUME]}
        for volume in old_plan[VOLUME]:
            options = old_program.options.get(volume.name)
            if volume.plain["name"] not in new_volumes and not (options and options.retain_on_delete):
                self._remove_volume(volume.plain["name"])
        return done

    def _remove_volume(self, name: str) -> None:
        volume = self.engine.volumes.get(name)
        if volume.attrs.get("Labels", {}).get(LABEL) != self.prefix:
            raise NotOurs(f"volume {name} was not created by this deployment")
        volume.remove()

    # --- observing -------------------------------------------------------------------------------------------
    def container_names(self) -> list[str]:
        """The containers the declaration starts (not those only created, like the secrets holder)."""
        return [r.plain["name"] for r in self.plan[CONTAINER] if r.plain.get("start", True)]

    def redis_names(self) -> list[str]:
        return [self.outputs["bootstrapMasterEndpoint"].split(":")[0]] + [
            e.split(":")[0] for e in self.outputs["replicaEndpoints"]
        ]

    def sentinel_names(self) -> list[str]:
        return [e.split(":")[0] for e in self.outputs["sentinelEndpoints"]]

    def health(self, name: str) -> str | None:
        state = self.container(name).attrs["State"]
        return state.get("Health", {}).get("Status") if state["Running"] else state["Status"]

    def wait_docker_healthy(self, names: list[str] | None = None, timeout: float = 90) -> None:
        """Every started container that declares a healthcheck (the nodes) reports healthy; the others (exporters,
        which have nothing to probe with) run."""
        probed = [r.plain["name"] for r in self.plan[CONTAINER] if "healthcheck" in r.plain]
        names = names or probed

        def all_healthy():
            return all(self.health(name) == "healthy" for name in names)

        try:
            wait_until(all_healthy, timeout, interval=0.5, what=f"Docker to report {', '.join(names)} healthy")
        except TimeoutError as error:
            states = {name: self.health(name) for name in names}
            raise TimeoutError(f"{error}; states: {states}\n{self.logs()}") from error
        stopped = [n for n in self.container_names() if n not in probed and self.health(n) is not None]
        if stopped:
            raise RuntimeError(f"not running: {stopped}\n{self.logs()}")

    def target(self, **overrides: Any) -> Target:
        """What the checks verify, reached from the host through the natMap output."""
        outputs = self.outputs
        [check] = [reveal(r.inputs) for r in self.plan[DYNAMIC] if r.name.endswith(CHECK_SUFFIX)]
        values = dict(
            master_name=outputs["masterName"],
            redis_nodes=tuple([outputs["bootstrapMasterEndpoint"], *outputs["replicaEndpoints"]]),
            sentinels=tuple(outputs["sentinelEndpoints"]),
            redis_password=self.password(users.ADMIN.key),
            sentinel_password=self.password(users.SENTINEL_ADMIN.key),
            max_lag_seconds=int(check["max_lag_seconds"]),
            nat_map=nat_addresses(outputs["natMap"]),
            tls_ca_cert=outputs.get("tlsCaCert", ""),
        )
        return Target(**{**values, **overrides})

    def wait_healthy(self, timeout: float = 60) -> Report:
        """The replication checks pass (one master, every replica linked, every Sentinel agreeing)."""
        report = check_deployment(self.target(), settle_seconds=timeout)
        if report.status != HEALTHY:
            raise TimeoutError(f"not healthy after {timeout}s: {report.summary()}\n{self.logs()}")
        return report

    def password(self, key: str) -> str:
        """A user's password (users.User.key) as declared: the secrets holder's upload of it (no stack output holds
        the admin users' passwords)."""
        file = f"{SECRETS_DIR}/{key}"
        for container in self.plan[CONTAINER]:
            for upload in container.plain.get("uploads", []):
                if upload["file"] == file:
                    return upload["content"]
        raise KeyError(f"no container uploads {file}")

    def client(self, name: str, **kwargs) -> redis.Redis:
        """A client of one node through its published port, as its admin user."""
        nat = self.outputs["natMap"]
        # by the natMap, not the declaration: a node being removed by a scale-down is still reachable
        is_sentinel = f"{name}:26379" in nat
        mapped = nat[f"{name}:{26379 if is_sentinel else 6379}"]
        password = self.password((users.SENTINEL_ADMIN if is_sentinel else users.ADMIN).key)
        return self.admin_client(mapped["host"], mapped["port"], password, **kwargs)

    def node_of(self, host: str, port: int) -> str:
        return host  # the container's name: what each node announces

    def _sentinels(self) -> list[tuple[str, int]]:
        return [(h, int(p)) for h, p in (e.rsplit(":", 1) for e in self.outputs["sentinelHostEndpoints"])]

    def nat_sentinel(self) -> NatSentinel:
        """A Sentinel-aware client on the host, built from the stack outputs as docs/clients.md says."""
        outputs = self.outputs
        return sentinel_client(
            self._sentinels(),
            outputs["redisPassword"],
            outputs["sentinelPassword"],
            nat_map=outputs["natMap"],
            tls=self.tls_options,
        )

    def client_settings(self) -> dict[str, Any]:
        """What an application on the host connects with, from the stack outputs (Writer's and switch_to's
        arguments)."""
        outputs = self.outputs
        return dict(
            sentinels=self._sentinels(),
            master_name=outputs["masterName"],
            redis_password=outputs["redisPassword"],
            sentinel_password=outputs["sentinelPassword"],
            nat_map=outputs["natMap"],
            tls=self.tls_options,
        )

    def writer(self, wait_replicas: int = 0, threads: int = 2) -> Writer:
        """A Sentinel-aware writer (not started) on the host, from the stack outputs."""
        return Writer(**self.client_settings(), wait_replicas=wait_replicas, threads=threads)

    def exec(self, name: str, command: str, **kwargs) -> tuple[int, str]:
        result = self.container(name).exec_run(["sh", "-c", command], **kwargs)
        output = result.output.decode(errors="replace") if isinstance(result.output, bytes) else result.output
        return result.exit_code, output

    def logs(self, tail: int = 40) -> str:
        parts = []
        for name in self.container_names():
            try:
                text = self.container(name).logs(tail=tail).decode(errors="replace")
            except NotFound:
                text = "(no container)"
            parts.append(f"--- {name} ---\n{text}")
        return "\n".join(parts)


class Deployments:
    """Deployments made for a test, a module or a session; all torn down by close(), which checks that nothing
    was left."""

    def __init__(self):
        self.made = []

    def new(self, **overrides):
        deployment = DockerDeployment(**overrides)
        self.made.append(deployment)
        deployment.deploy()
        return deployment

    def close(self):
        left = []
        for deployment in self.made:
            try:
                deployment.teardown()
            finally:
                left += deployment.leftovers()
        assert left == [], f"teardown left {left}"


@contextlib.contextmanager
def made_deployments():
    """Deployments, closed on exit (also after a failing test)."""
    made = Deployments()
    try:
        yield made
    finally:
        made.close()


def in_engine_order(program: Program, steps: dict[str, Callable[[], None]]) -> None:
    """Run each resource's step (by resource name) in a thread of its own once the steps of every resource it
    depends on (Program.depends_on) are done, as the engine does: the SDK registers a resource only after those it
    depends on are registered (created, updated, replaced or the same), and the step executor runs steps that do not
    depend on each other concurrently (pulumi pkg/resource/deploy/step_executor.go: "chains must be executed
    serially and antichains can be executed concurrently"). An unchanged resource's step does nothing but still
    orders its dependents. After a failed step no other step starts (the engine stops at the first error); the
    first error is raised once every started step ended."""
    finished = {name: threading.Event() for name in steps}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            for dependency in program.depends_on(name) & finished.keys():
                finished[dependency].wait()
            if not errors:
                steps[name]()
        except BaseException as error:  # noqa: BLE001 -- reported below, by the caller's thread
            errors.append(error)
        finally:
            finished[name].set()

    threads = [threading.Thread(target=run, args=(name,), name=f"step {name}", daemon=True) for name in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def translate(program: Program) -> tuple[dict[str, list[Recorded]], dict[str, str]]:
    """Every declared resource sorted by kind, each input checked against what this runner translates; and the
    image names by the image id the mocks gave each declared RemoteImage."""
    plan: dict[str, list[Recorded]] = {IMAGE: [], NETWORK: [], VOLUME: [], CONTAINER: [], DYNAMIC: []}
    known = {IMAGE: IMAGE_INPUTS, NETWORK: NETWORK_INPUTS, VOLUME: VOLUME_INPUTS, CONTAINER: CONTAINER_INPUTS}
    for resource in program.resources:
        if resource.type in known:
            _only(resource, "", resource.inputs, known[resource.type])
            if resource.type == CONTAINER:
                for key, allowed in BLOCK_INPUTS.items():
                    value = reveal(resource.inputs.get(key))
                    for i, block in enumerate([value] if isinstance(value, dict) else value or []):
                        _only(resource, f"{key}[{i}].", block, allowed)
        elif resource.type.startswith(("docker:", "pulumi:providers:")):
            raise UntranslatedInput(f"{resource.type} {resource.name}: resource type not translated")
        elif resource.type == DYNAMIC:
            if PROVIDER_KEY not in resource.inputs:
                raise UntranslatedInput(f"{resource.name}: dynamic resource without {PROVIDER_KEY}")
        else:
            continue  # random passwords (resolved by the mocks) and component resources
        plan[resource.type].append(resource)
    images = {MOCK_IMAGE_ID_PREFIX + r.plain["name"]: r.plain["name"] for r in plan[IMAGE]}
    return plan, images


def _only(resource: Recorded, where: str, inputs: Any, allowed: set[str]) -> None:
    if isinstance(inputs, dict):
        unknown = sorted(set(inputs) - allowed)
        if unknown:
            raise UntranslatedInput(f"{resource.type} {resource.name}: input {where}{unknown[0]} is not translated")


def _healthcheck(h: dict) -> dict:
    return {
        "test": h["tests"],
        "interval": duration_ns(h["interval"]) if "interval" in h else None,
        "timeout": duration_ns(h["timeout"]) if "timeout" in h else None,
        "retries": int(h["retries"]) if "retries" in h else None,
        "start_period": duration_ns(h["startPeriod"]) if "startPeriod" in h else None,
    }


def _archive(upload: dict) -> bytes:
    """One file in a tar archive, with the declared owner, group and mode (pulumi-docker's defaults otherwise)."""
    data = upload["content"].encode()
    default_mode = "0744" if upload.get("executable") else "0644"
    info = tarfile.TarInfo(upload["file"].lstrip("/"))
    info.size = len(data)
    info.mode = int(upload.get("permissions") or default_mode, 8)
    info.uid = int(upload.get("owner") or 0)
    info.gid = int(upload.get("group") or 0)
    info.mtime = int(time.time())
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
