"""What must never ship in a festival-redis stack, as CrossGuard policies (mandatory).

The pack knows Docker, Kubernetes and Redis, never the program: it reads resources as the engine hands them over,
with camelCase property names, secrets already decrypted (a policy cannot tell a secret from a plain value) and,
during a preview, some values unknown. `plain()` turns the engine's proxies into dicts and lists with UNKNOWN where
a value is not known yet, so each policy checks what is known and skips the rest instead of stopping at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
# Where each kind of workload keeps its pod template.
POD_PATHS = {
    "kubernetes:core/v1:Pod": (),
    "kubernetes:apps/v1:Deployment": ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# Workloads a node drain evicts and a PodDisruptionBudget can protect.
LONG_RUNNING = {"kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:ReplicaSet"}

LOOPBACK = "127.0.0.1"
CREDENTIAL_WORDS = {"password", "passwd", "pass", "secret", "auth", "token", "apikey", "credential", "credentials"}
CREDENTIAL_WORDS |= {"requirepass", "masterauth"}
REFERENCE_WORDS = {"file", "path", "dir", "ref", "key", "name"}  # REDIS_PASSWORD_FILE names a file, not a password
SHORT_PASSWORD_FLAGS = {"-a"}  # redis-cli -a <password>
# redis.conf / sentinel.conf directives that carry a password.
CONF_PASSWORD = re.compile(r"^\s*(requirepass|masterauth|sentinel\s+(auth-pass|sentinel-pass))\s+\S", re.M | re.I)
ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s*(\S.*)$", re.M)
SENTINEL_MONITOR = re.compile(r"^\s*sentinel\s+monitor\s+(\S+)\s+\S+\s+\S+\s+(\d+)\s*$", re.M | re.I)
# Pod Security Standards, "restricted" profile.
RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SECCOMP_TYPES = {"RuntimeDefault", "Localhost"}


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()  # a value the engine does not know yet (preview)


def plain(value: Any) -> Any:
    """The engine's props as dicts and lists, with UNKNOWN in place of every value unknown during preview."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        result = {}
        for key in value:
            try:
                result[key] = plain(value[key])
            except UnknownValueError:
                result[key] = UNKNOWN
        return result
    if isinstance(value, Sequence):
        result = []
        for index in range(len(value)):
            try:
                result.append(plain(value[index]))
            except UnknownValueError:
                result.append(UNKNOWN)
        return result
    return value


def _get(value: Any, *path: str | int, default: Any = None) -> Any:
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return default
    return value


def _words(name: str) -> list[str]:
    """`REDIS_PASSWORD` -> [redis, password]; `sentinelPassword` -> [sentinel, password]; `--redis.password-file`."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def is_credential_name(name: str) -> bool:
    """A name that says it holds a credential (and not where to find one, like REDIS_PASSWORD_FILE)."""
    words = _words(name)
    return bool(words) and bool(CREDENTIAL_WORDS & set(words)) and words[-1] not in REFERENCE_WORDS


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every known string inside value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _number(value: Any) -> Any:
    """The engine's numbers are floats: 6379.0 reads 6379."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _label(resource_type: str, name: str) -> str:
    return f"{resource_type.rsplit(':', 1)[-1]} {name}"


# --- pods ------------------------------------------------------------------------------------------
def pod_template(resource_type: str, props: dict) -> dict | None:
    """The pod (metadata and spec) a Kubernetes workload runs, or None for anything else."""
    if resource_type not in POD_PATHS:
        return None
    template = _get(props, *POD_PATHS[resource_type])
    return template if isinstance(template, dict) else None


def _containers(spec: dict) -> list[dict]:
    found = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(key)
        if isinstance(items, list):
            found += [item for item in items if isinstance(item, dict)]
    return found


def image_repository(image: str) -> str:
    """`docker.io/library/redis:8.2.9@sha256:...` -> `redis`."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def is_redis_pod(template: dict) -> bool:
    spec = template.get("spec")
    return isinstance(spec, dict) and any(
        isinstance(c.get("image"), str) and image_repository(c["image"]) == "redis" for c in _containers(spec)
    )


def serves_redis(template: dict) -> bool:
    """A Redis pod that listens (declares a container port): a server, not a client such as a check Job."""
    return is_redis_pod(template) and any(c.get("ports") for c in _containers(template["spec"]))


def _namespace(props: dict) -> str:
    namespace = _get(props, "metadata", "namespace")
    return namespace if isinstance(namespace, str) else "default"


def _object_name(props: dict, fallback: str) -> str:
    name = _get(props, "metadata", "name")
    return f"{_namespace(props)}/{name}" if isinstance(name, str) else fallback


def selects(selector: Any, labels: dict) -> bool:
    """Whether a Kubernetes label selector ({} selects everything) selects pods with these labels."""
    if not isinstance(selector, dict):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


# --- resource policies -----------------------------------------------------------------------------
def _dev_ports_on_loopback(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CONTAINER:
        return
    props = plain(args.props)
    name = props.get("name", args.name)
    if props.get("networkMode") == "host":
        report(f"container {name} uses networkMode 'host', which exposes every port it opens: use a bridge network")
    for port in props.get("ports") or []:
        if not isinstance(port, dict) or port.get("ip", LOOPBACK) is UNKNOWN:
            continue
        ip = port.get("ip") or "0.0.0.0 (Docker's default)"
        if ip != LOOPBACK:
            report(
                f"container {name} publishes port {_number(port.get('external'))} on {ip}: set the port's ip to "
                f"{LOOPBACK} so the dev stack is reachable from this machine only"
            )


def _argv_problems(argv: Any) -> list[str]:
    """Password flags in an argv (each element split on blanks, for `sh -c '...'`)."""
    if not isinstance(argv, list):
        return []
    tokens = [token for element in argv if isinstance(element, str) for token in element.split()]
    flags = []
    for token in tokens:
        if token.startswith("-"):
            flag = token.split("=", 1)[0]
            if flag in SHORT_PASSWORD_FLAGS or (flag.startswith("--") and is_credential_name(flag)):
                flags.append(flag)
    return flags


def _env_problems(props: dict, resource_type: str) -> list[str]:
    """Environment variables named as credentials that carry a value instead of a reference."""
    names = []
    if resource_type == CONTAINER:
        for entry in props.get("envs") or []:
            if isinstance(entry, str) and "=" in entry:
                key, value = entry.split("=", 1)
                if value and is_credential_name(key):
                    names.append(key)
        return names
    template = pod_template(resource_type, props)
    for container in _containers(_get(template, "spec", default={}) or {}):
        for entry in container.get("env") or []:
            if isinstance(entry, dict) and entry.get("value") and is_credential_name(str(entry.get("name", ""))):
                names.append(f"{container.get('name')}: {entry.get('name')}")
    return names


def config_map_problems(props: dict) -> list[str]:
    problems = []
    for key, text in {**(props.get("data") or {}), **(props.get("binaryData") or {})}.items():
        if is_credential_name(key):
            problems.append(f"key {key} is named as a credential")
        if not isinstance(text, str):
            continue
        if CONF_PASSWORD.search(text):
            problems.append(f"{key} sets a password directive ({CONF_PASSWORD.search(text).group(1)})")
        if key.endswith(".sh"):
            continue  # scripts name their secret files in such variables; the value check covers real passwords
        for match in ENV_LINE.finditer(text):
            variable, value = match.groups()
            if is_credential_name(variable) and not value.lstrip("\"'").startswith(("$", "/")):
                problems.append(f"{key} assigns {variable} a literal value")
    return problems


def _passwords_not_in_plain_fields(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = plain(args.props)
    what = _label(args.resource_type, props.get("name", args.name) if args.resource_type == CONTAINER else args.name)
    fix = "pass it as a file (a Kubernetes Secret volume, or a Docker upload) and read the file at start"
    for name in _env_problems(props, args.resource_type):
        report(f"{what}: environment variable {name} holds a credential: {fix} (e.g. {name}_FILE=<path>)")
    argvs = {"command": props.get("command"), "entrypoints": props.get("entrypoints")}
    argvs["healthcheck"] = _get(props, "healthcheck", "tests")
    for container in _containers(_get(pod_template(args.resource_type, props), "spec", default={}) or {}):
        for field in ("command", "args"):
            argvs[f"{container.get('name')} {field}"] = container.get(field)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            argvs[f"{container.get('name')} {probe}"] = _get(container, probe, "exec", "command")
        for hook in ("postStart", "preStop"):
            argvs[f"{container.get('name')} {hook}"] = _get(container, "lifecycle", hook, "exec", "command")
    for field, argv in argvs.items():
        for flag in _argv_problems(argv):
            report(f"{what}: {field} passes a password with {flag}, visible in the process list: {fix}")
    if args.resource_type == CONFIG_MAP:
        for problem in config_map_problems(props):
            report(f"{what}: {problem}; a ConfigMap is readable by anyone who can read the namespace: use a Secret")


def image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (it means latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return "is tagged latest"
    return None


def _images_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = plain(args.props)
    images = []
    if args.resource_type == REMOTE_IMAGE:
        images.append(("image", props.get("name")))
    elif args.resource_type == CONTAINER and not str(props.get("image", "")).startswith("sha256:"):
        images.append((f"container {props.get('name', args.name)}", props.get("image")))  # an image ID is pinned
    template = pod_template(args.resource_type, props)
    for container in _containers(_get(template, "spec", default={}) or {}):
        images.append((f"container {container.get('name')}", container.get("image")))
    for where, image in images:
        problem = image_problem(image) if isinstance(image, str) else None
        if problem:
            report(
                f"{_label(args.resource_type, args.name)}: {where} image {image} {problem}: pin it to a version tag "
                "(e.g. redis:8.2.9-bookworm) or a digest, so every node runs the image that was reviewed"
            )


def _memory_limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = plain(args.props)
    if args.resource_type == CONTAINER:
        memory = props.get("memory")
        if props.get("start") is False:
            return  # created, never started (e.g. a holder of uploaded files): it uses no memory
        if memory is not UNKNOWN and not (isinstance(memory, (int, float)) and memory > 0):
            report(f"container {props.get('name', args.name)} has no memory limit: set memory (MB)")
        return
    template = pod_template(args.resource_type, props)
    if template is None or not is_redis_pod(template):
        return
    for container in _containers(template["spec"]):
        if not _get(container, "resources", "limits", "memory"):
            report(
                f"{_label(args.resource_type, _object_name(props, args.name))}: container {container.get('name')} "
                "has no memory limit: set resources.limits.memory (for Redis above maxmemory, room for the fork "
                "of a save), or one node can take the node's memory"
            )


def restricted_problems(template: dict) -> list[str]:
    """How a pod breaks the Pod Security Standards' "restricted" profile (and the baseline one it includes)."""
    spec = template.get("spec") or {}
    pod = spec.get("securityContext") or {}
    problems = [f"spec.{key} is true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if kinds and not kinds <= RESTRICTED_VOLUMES:
            problems.append(f"volume {volume.get('name')} is of type {', '.join(sorted(kinds))}")
    for container in _containers(spec):
        name, context = container.get("name"), container.get("securityContext") or {}
        effective = {**pod, **context}  # a container's securityContext overrides its pod's

        if context.get("privileged") is True:
            problems.append(f"container {name}: securityContext.privileged is true")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"container {name}: set securityContext.allowPrivilegeEscalation to false")
        if effective.get("runAsNonRoot") is not True:
            problems.append(f"container {name}: set runAsNonRoot to true (pod or container securityContext)")
        if effective.get("runAsUser") == 0:
            problems.append(f"container {name}: runAsUser is 0 (root)")
        seccomp = _get(context, "seccompProfile", "type") or _get(pod, "seccompProfile", "type")
        if seccomp not in SECCOMP_TYPES:
            problems.append(f"container {name}: set seccompProfile.type to RuntimeDefault (pod or container)")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"container {name}: drop capability ALL (securityContext.capabilities.drop)")
        added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            problems.append(f"container {name}: adds capabilities {', '.join(sorted(added))}")
        if any(isinstance(port, dict) and port.get("hostPort") for port in container.get("ports") or []):
            problems.append(f"container {name}: uses a hostPort")
    return problems


def _redis_pods_restricted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = plain(args.props)
    template = pod_template(args.resource_type, props)
    if template is None or not is_redis_pod(template):
        return
    for problem in restricted_problems(template):
        report(
            f"{_label(args.resource_type, _object_name(props, args.name))} breaks Pod Security 'restricted' "
            f"(the namespace enforces it, so its pods would be rejected): {problem}"
        )


# --- stack policies --------------------------------------------------------------------------------
def _resources(args: StackValidationArgs) -> list[tuple[str, str, dict]]:
    return [(r.resource_type, r.name, plain(r.props)) for r in args.resources]


def sentinel_groups(resources: list[tuple[str, str, dict]]) -> dict[str, list[int]]:
    """Master set name -> the quorum each Sentinel watching it is configured with.

    Docker: one Sentinel per container that is given a config with a `sentinel monitor` line. Kubernetes: a
    ConfigMap with such a line, times the replicas of every workload whose pods mount it.
    """
    groups: dict[str, list[int]] = {}
    config_maps: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for resource_type, _name, props in resources:
        texts = []
        if resource_type == CONTAINER:
            texts = [upload.get("content") for upload in props.get("uploads") or [] if isinstance(upload, dict)]
        elif resource_type == CONFIG_MAP:
            texts = list((props.get("data") or {}).values())
        monitors = [
            (master, int(quorum))
            for text in texts
            if isinstance(text, str)
            for master, quorum in SENTINEL_MONITOR.findall(text)
        ]
        if resource_type == CONTAINER:
            for master, quorum in monitors:
                groups.setdefault(master, []).append(quorum)
        elif monitors:
            config_maps[(_namespace(props), _get(props, "metadata", "name"))] = monitors
    for resource_type, _name, props in resources:
        template = pod_template(resource_type, props)
        if template is None:
            continue
        replicas = _get(props, "spec", "replicas", default=1) if resource_type != "kubernetes:core/v1:Pod" else 1
        if not isinstance(replicas, (int, float)):
            continue  # unknown during preview
        for volume in _get(template, "spec", "volumes", default=[]) or []:
            mounted = _get(volume, "configMap", "name")
            for master, quorum in config_maps.get((_namespace(props), mounted), []):
                groups.setdefault(master, []).extend([quorum] * int(replicas))
    return groups


def _unknown_configs(resources: list[tuple[str, str, dict]]) -> bool:
    for resource_type, _name, props in resources:
        if resource_type == CONTAINER:
            uploads = props.get("uploads")
            if uploads is UNKNOWN or any(isinstance(u, dict) and u.get("content") is UNKNOWN for u in uploads or []):
                return True
        if resource_type == CONFIG_MAP:
            data = props.get("data")
            if data is UNKNOWN or (isinstance(data, dict) and UNKNOWN in data.values()):
                return True
    return False


def _sentinel_quorum(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = _resources(args)
    groups = sentinel_groups(resources)
    if not groups and _unknown_configs(resources):
        return  # the Sentinels' configs are not known yet (preview)
    if not groups:
        report("no Sentinel watches a Redis master (0 is an even count): deploy an odd number of Sentinels")
    for master, quorums in groups.items():
        count = len(quorums)
        if count % 2 == 0:
            report(
                f"{count} Sentinels watch {master}: run an odd number (sentinelCount 3 or 5), so a network "
                "split always leaves one side with a majority"
            )
        for quorum in sorted(set(quorums)):
            if quorum <= count // 2 or quorum > count:
                report(
                    f"quorum {quorum} for {master} is not a majority of its {count} Sentinels: set quorum to "
                    f"{count // 2 + 1} (a minority could otherwise fail over on its own, and a quorum above the count "
                    "never can)"
                )


def _uncovered_pods(resources: list, selectors: list, wanted) -> list[tuple[str, dict, str]]:
    """(label, pod labels) of every pod template `wanted` keeps that no (namespace, selector) of `selectors`
    selects in its own namespace."""
    uncovered = []
    for resource_type, name, props in resources:
        template = pod_template(resource_type, props)
        if template is None or not wanted(resource_type, template):
            continue
        labels = _get(template, "metadata", "labels", default={}) or {}
        namespace = _namespace(props)
        if not any(ns == namespace and selects(selector, labels) for ns, selector in selectors):
            uncovered.append((_label(resource_type, _object_name(props, name)), labels, namespace))
    return uncovered


def _disruption_budgets(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = _resources(args)
    budgets = [(_namespace(props), _get(props, "spec", "selector")) for kind, _, props in resources if kind == PDB]
    for label, labels, namespace in _uncovered_pods(resources, budgets, lambda kind, _: kind in LONG_RUNNING):
        report(
            f"{label} has no PodDisruptionBudget: add one in namespace {namespace} selecting {labels} "
            "(maxUnavailable 1 for Redis, sentinelCount - quorum for Sentinels), or a node drain can stop every "
            "replica at once"
        )


def _network_policies(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = _resources(args)
    policies = [
        (_namespace(props), _get(props, "spec", "podSelector"))
        for kind, _, props in resources
        if kind == NETWORK_POLICY and "Ingress" in (_get(props, "spec", "policyTypes") or ["Ingress"])
    ]
    for label, labels, _namespace_name in _uncovered_pods(resources, policies, lambda _, t: serves_redis(t)):
        report(
            f"{label} serves Redis but no NetworkPolicy with Ingress rules selects its pods {labels}: add one that "
            "admits only labelled clients and the deployment's own pods, or every pod in the cluster can reach Redis"
        )


def _allowed_password_field(resource_type: str, path: str) -> bool:
    """Where a generated password may be: a Kubernetes Secret, a file uploaded into a container, the password
    resource itself, or a top-level property named as a credential (an output the program marks secret, a
    provider input such as `password`)."""
    top = re.split(r"[.\[]", path, maxsplit=1)[0]
    if resource_type == RANDOM_PASSWORD or is_credential_name(top):
        return True
    if resource_type == SECRET:
        return top in ("data", "stringData")
    if resource_type == CONTAINER:
        return re.fullmatch(r"uploads\[\d+\]\.(content|contentBase64)", path) is not None
    return False


def _passwords_only_in_secrets(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = _resources(args)
    passwords = {
        props["result"]
        for kind, _, props in resources
        if kind == RANDOM_PASSWORD and isinstance(props.get("result"), str) and len(props["result"]) >= 8
    }
    for resource_type, name, props in resources:
        for path, text in _strings(props):
            if any(password in text for password in passwords) and not _allowed_password_field(resource_type, path):
                report(
                    f"{_label(resource_type, name)} holds a generated password in {path}: keep passwords in a "
                    "Kubernetes Secret, a file uploaded into the container, or an output of their own that the "
                    "program marks secret (pulumi.Output.secret)"
                )


def _resource_policy(name: str, description: str, validate: Callable) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name, description, validate, enforcement_level=EnforcementLevel.MANDATORY)


def _stack_policy(name: str, description: str, validate: Callable) -> StackValidationPolicy:
    return StackValidationPolicy(name, description, validate, enforcement_level=EnforcementLevel.MANDATORY)


POLICIES = [
    _resource_policy(
        "dev-ports-on-loopback", "Docker containers publish ports on 127.0.0.1 only.", _dev_ports_on_loopback
    ),
    _resource_policy(
        "passwords-not-in-plain-fields",
        "No credential in an environment variable, an argv, a healthcheck or a ConfigMap.",
        _passwords_not_in_plain_fields,
    ),
    _resource_policy("images-pinned", "Every image is pinned to a version tag or a digest.", _images_pinned),
    _resource_policy(
        "memory-limits", "Every Docker container and every container of a Redis pod has a memory limit.", _memory_limits
    ),
    _resource_policy("redis-pods-restricted", "Redis pods meet Pod Security 'restricted'.", _redis_pods_restricted),
    _stack_policy(
        "sentinel-quorum-majority",
        "An odd number of Sentinels watch each master, with a quorum that is a majority of them.",
        _sentinel_quorum,
    ),
    _stack_policy(
        "workloads-have-disruption-budget",
        "Every Deployment, StatefulSet and ReplicaSet is covered by a PodDisruptionBudget.",
        _disruption_budgets,
    ),
    _stack_policy(
        "redis-behind-network-policy",
        "Every pod that serves Redis is selected by a NetworkPolicy with Ingress rules.",
        _network_policies,
    ),
    _stack_policy(
        "passwords-only-in-secrets",
        "Generated passwords appear only in Secrets, uploaded files and outputs of their own.",
        _passwords_only_in_secrets,
    ),
]
