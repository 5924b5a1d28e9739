"""The preview stand-in: the step `pulumi preview` / `pulumi up` takes for every resource, from the stack as deployed
to the same stack changed (or destroyed), decided as the Pulumi engine and each provider decide.

A deployment's state is built from a mocked run of the program (harness/program.py): each resource's
URN, type, inputs, the outputs the mocks answered, its explicit provider and its options. `plan(deployed, changed)`
then gives each resource one step (same, update, replace delete-first or create-first, create, delete) and the
errors the engine would raise, with its own messages. Every rule below is traced to the source it follows, read at:

- pulumi/pulumi 1b5949891b3c (the engine: pkg/resource/deploy/step_generator.go, step.go, providers/registry.go;
  the Python SDK: sdk/python/lib/pulumi/resource.py, dynamic/__main__.py)
- pulumi/pulumi-kubernetes 94977969d641 (provider/pkg/provider/diff.go, provider.go)
- pulumi/pulumi-docker 237b7899bb51 (provider/resources.go), which bridges kreuzwerker/terraform-provider-docker
  5074970c71ce (v4.5.0: internal/provider/resource_docker_*.go), through pulumi/pulumi-terraform-bridge 59de6c661df1
  (pkg/tfbridge/provider.go Diff, schema.go nameRequiresDeleteBeforeReplace, info/autonaming.go SetAutonaming)
- pulumi/pulumi-random f64d8726a4f5 and pulumi/pulumi-tls f7db93b22b29, through the bridge's plugin-framework path
  (pkg/pf/tfbridge/provider_diff.go DiffWithContext). They bridge hashicorp/terraform-provider-random f8d869dc98d9
  (internal/provider/resource_password.go passwordSchemaV3) and hashicorp/terraform-provider-tls, read at
  d72d90e1b47b (internal/provider/resource_*.go Schema, common_cert.go modifyPlanIfCertificateReadyForRenewal,
  common.go)

What it does not model is listed in docs/development.md ("The preview stand-in"). A resource type it has no rule
for is refused (StandInError), never guessed.

    python -m harness.preview prod --set replicaCount=3
    python -m harness.preview prod --set passwordGenerations=redis-password=1+2 --all
    python -m harness.preview prod --days 340          # certificate renewal: the clock 340 days after the deploy
    python -m harness.preview dev --destroy
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import tls
from harness.program import Program, renewed, reveal, run_program


class StandInError(Exception):
    """The stand-in cannot decide as the engine would (a type it has no rule for, a run the engine would not see)."""


@dataclass(frozen=True)
class Resource:
    """One resource as the engine keeps it in the stack's state (pkg/resource/state.go State)."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: Mapping[str, Any]  # secrets revealed: the providers diff plain values
    outputs: Mapping[str, Any] = field(default_factory=dict)
    provider: str = ""  # the URN of its explicit provider resource; "" for a default provider or a component
    parent: str = ""  # the parent's URN; "" for a child of the stack
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool | None = None  # None: as the provider decides
    replace_on_changes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # URNs this resource had before


Snapshot = dict[str, Resource]  # by URN, in the order the program registered them


@dataclass(frozen=True)
class Step:
    name: str
    type: str
    op: str  # same | update | create | delete | replace
    delete_first: bool = False  # a replace that deletes the old resource before creating the new one
    keys: tuple[str, ...] = ()  # the properties that cause the update or the replacement
    retained: bool = False  # a delete (or a replace's delete) of a resource with retainOnDelete: not deleted
    error: str = ""  # the engine refuses the step, with this message
    propagation: str = ""  # a Kubernetes object's delete: what becomes of its dependents (its pods), else ""

    @property
    def kind(self) -> str:
        if self.op == "replace":
            return "replace (delete first)" if self.delete_first else "replace (create first)"
        if self.op == "delete" and self.retained:
            return "delete (retained)"
        return self.op

    def line(self) -> str:
        keys = f"  [{', '.join(self.keys)}]" if self.keys else ""
        orphans = "  (its dependents keep running: orphan propagation)" if self.propagation == "Orphan" else ""
        return f"{self.kind:<22} {self.name}  ({self.type}){keys}{orphans}"


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    def changes(self) -> dict[str, str]:
        """Every resource whose step is not `same`, by name -> Step.kind."""
        return {s.name: s.kind for s in self.steps if s.op != "same"}

    @property
    def errors(self) -> list[Step]:
        return [s for s in self.steps if s.error]

    def text(self, all_steps: bool = False) -> str:
        lines = [s.line() for s in self.steps if all_steps or s.op != "same"]
        lines += [f"error: {s.name}: {s.error}" for s in self.errors]
        return "\n".join(lines) or "no changes"


# --- the deployment's state, from a mocked run ----------------------------------------------------------------------


def snapshot(program: Program) -> Snapshot:
    """The state a deployment of `program`'s run would leave, with the options as the Python SDK resolves them."""
    names = [r.name for r in program.resources]
    if len(set(names)) != len(names):
        raise StandInError("two resources share a name: the recorded options (by name) would be ambiguous")
    urn_of = {r.name: r.urn for r in program.resources}

    def protect(name: str) -> bool:
        # sdk/python/lib/pulumi/resource.py Resource.__init__: "Infer protection from parent, if one was provided".
        opts = program.options.get(name)
        if opts is not None and opts.protect is not None:
            return bool(opts.protect)
        return protect(opts.parent._name) if opts is not None and opts.parent is not None else False

    state: Snapshot = {}
    for recorded in program.resources:
        opts = program.options.get(recorded.name) or pulumi.ResourceOptions()
        parent = urn_of[opts.parent._name] if opts.parent is not None else ""
        provider = recorded.provider.rsplit("::", 1)[0] if recorded.provider else ""  # a reference is URN::ID
        state[recorded.urn] = Resource(
            urn=recorded.urn,
            type=recorded.type,
            name=recorded.name,
            custom=recorded.custom,
            inputs=reveal(recorded.inputs),
            outputs=reveal(recorded.outputs),
            provider=provider,
            parent=parent,
            protect=protect(recorded.name),
            retain_on_delete=bool(opts.retain_on_delete),
            delete_before_replace=opts.delete_before_replace,
            replace_on_changes=tuple(opts.replace_on_changes or ()),
            aliases=tuple(_alias_urn(alias, recorded, parent, urn_of) for alias in opts.aliases or ()),
        )
    return state


def _stack_and_project(urn: str) -> tuple[str, str]:
    return urn.split("::")[0].rsplit(":", 1)[1], urn.split("::")[1]


def child_urn(parent_urn: str, type_: str, name: str, stack: str, project: str) -> str:
    """A resource's URN as the mock monitor makes it: the parent's type, then `$`, then the type (a child of the
    stack has the stack's type, pulumi:pulumi:Stack, in front of its own; the real engine leaves the root out)."""
    parent_type = parent_urn.split("::")[2].split("$")[-1] if parent_urn else "pulumi:pulumi:Stack"
    return f"urn:pulumi:{stack}::{project}::{parent_type}${type_}::{name}"


def _alias_urn(alias: Any, resource, parent_urn: str, urn_of: Mapping[str, str]) -> str:
    """The URN an alias names (step_generator.go collapseAliasToUrn): a URN as it is, else the alias' name, type,
    parent, stack and project, each defaulting to the resource's own."""
    if isinstance(alias, str):
        return alias
    if not isinstance(alias, pulumi.Alias):
        raise StandInError(f"{resource.name}: an alias of type {type(alias).__name__} is not modelled")
    stack, project = _stack_and_project(resource.urn)
    given = {key: value for key, value in vars(alias).items() if value is not ...}
    if "parent" in given:
        parent = given["parent"]
        parent_urn = urn_of[parent._name] if isinstance(parent, pulumi.Resource) else (parent or "")
    return child_urn(
        parent_urn,
        given.get("type_") or resource.type,
        given.get("name") or resource.name,
        given.get("stack") or stack,
        given.get("project") or project,
    )


# --- what a provider's Diff says ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diff:
    changed: tuple[str, ...] = ()  # property paths that differ
    replaces: tuple[str, ...] = ()  # those of them that force a replacement
    delete_before_replace: bool = False  # what the provider asks for when it replaces
    failures: tuple[str, ...] = ()  # its Check failures
    changes: bool | None = None  # DIFF_SOME / DIFF_NONE; None: whether anything changed

    @property
    def some(self) -> bool:
        return bool(self.changed) if self.changes is None else self.changes


Path = tuple[str | int, ...]


def changed_paths(old: Any, new: Any, path: Path = ()) -> Iterator[Path]:
    """The paths of every leaf that differs between two input values (a whole subtree added or removed: its leaves)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in dict.fromkeys([*old, *new]):
            yield from changed_paths(old.get(key, _MISSING), new.get(key, _MISSING), (*path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from changed_paths(
                old[index] if index < len(old) else _MISSING,
                new[index] if index < len(new) else _MISSING,
                (*path, index),
            )
    elif old is _MISSING or new is _MISSING:
        yield from _leaves(new if old is _MISSING else old, path)
    elif old != new or (type(old) is not type(new) and not _both_numbers(old, new)):  # True == 1 in Python
        yield path


_MISSING = object()


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))


def _leaves(value: Any, path: Path) -> Iterator[Path]:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def path_text(path: Path) -> str:
    """A property path as pulumi-kubernetes prints it (provider.go addPatchValueToDiff): `data["redis.conf"]`,
    `spec.template.spec.containers[0].image`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part or any(c in part for c in '."[]'):
            text += f'["{part}"]'
        else:
            text += f".{part}" if text else part
    return text


def _top_keys(paths: list[Path]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(p[0]) for p in paths))


# pulumi-kubernetes provider/pkg/provider/diff.go `forceNew` and forceNewProperties: the paths whose change makes a
# replacement, by group, version and kind; every object's `.metadata.name` and `.metadata.namespace`
# (metadataForceNewProperties). Only the kinds this project declares, and those listed there beside them; the
# selector's own fields (labelSelectorForceNewProperties) are covered by `spec.selector`, a prefix of theirs.
_KUBERNETES_FORCE_NEW: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("apps", "v1", "StatefulSet"): (
        "spec.podManagementPolicy",
        "spec.revisionHistoryLimit",
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
    ),
    ("apps", "v1", "Deployment"): ("spec.selector",),
    ("batch", "v1", "Job"): ("spec.completions", "spec.parallelism", "spec.selector", "spec.template"),
    ("core", "v1", "Service"): ("spec.clusterIP",),
    ("core", "v1", "Secret"): ("type",),
    ("core", "v1", "PersistentVolumeClaim"): (
        "spec.accessModes",
        "spec.selector",
        "spec.storageClassName",
        "spec.volumeName",
    ),
    ("policy", "v1beta1", "PodDisruptionBudget"): ("spec",),
}
# Kinds diff.go lists nothing for (every other field is patched in place), as this project declares them.
_KUBERNETES_IN_PLACE = {
    ("core", "v1", "Namespace"),
    ("core", "v1", "ConfigMap"),
    ("policy", "v1", "PodDisruptionBudget"),
    ("networking.k8s.io", "v1", "NetworkPolicy"),
    ("monitoring.coreos.com", "v1", "ServiceMonitor"),
    ("monitoring.coreos.com", "v1", "PrometheusRule"),
    ("monitoring.coreos.com", "v1", "Probe"),
}


def _kubernetes_force_new(group: str, version: str, kind: str, inputs: Mapping, config: Mapping) -> list[str]:
    """diff.go forceNewProperties: a Secret's type, stringData and data unless the provider sets enableSecretMutable
    (and the Secret is not `immutable`); a ConfigMap's data and binaryData unless enableConfigMapMutable (idem)."""
    forced = ["metadata.name", "metadata.namespace"]
    immutable = inputs.get("immutable") is True
    if (group, version, kind) == ("core", "v1", "Secret") and (not _flag(config, "enableSecretMutable") or immutable):
        return [*forced, "type", "stringData", "data"]
    if (group, version, kind) in _KUBERNETES_FORCE_NEW:
        return forced + list(_KUBERNETES_FORCE_NEW[group, version, kind])
    if (group, version, kind) == ("core", "v1", "ConfigMap") and (
        not _flag(config, "enableConfigMapMutable") or immutable
    ):
        return [*forced, "binaryData", "data"]
    if (group, version, kind) not in _KUBERNETES_IN_PLACE:
        raise StandInError(f"no rule for pulumi-kubernetes' replacements of {group}/{version} {kind}")
    return forced


def _flag(config: Mapping, key: str) -> bool:
    """A provider setting as the Python SDK sends it (pulumi_kubernetes/provider.py: booleans as JSON, "true"); the
    provider's Configure (provider.go) compares it with "true". Its PULUMI_K8S_* environment fallback is not read here:
    the stack sets what it relies on."""
    return config.get(key) in ("true", True)


def _matches(pattern: str, path: Path) -> bool:
    """A force-new pattern covers a changed path when it is a prefix of it (openapi.PatchPropertiesChanged queries the
    patch with the pattern as a JSON path, and the patch holds the change at `path`)."""
    parts = pattern.split(".")
    return len(parts) <= len(path) and all(p == "*" or p == q for p, q in zip(parts, path))


def _kubernetes_diff(old: Resource, new: Resource, config: Mapping) -> Diff:
    """pulumi-kubernetes provider.go kubeProvider.Diff: the changed paths, those matching forceNewProperties replace;
    delete-first when the object keeps its name and namespace (it cannot exist twice)."""
    group_version, kind = new.type.split(":")[1:]
    group, version = group_version.split("/")
    paths = list(changed_paths(old.inputs, new.inputs))
    forced = _kubernetes_force_new(group, version, kind, new.inputs, config)
    replaces = [p for p in paths if any(_matches(f, p) for f in forced)]
    old_meta, new_meta = old.inputs.get("metadata", {}), new.inputs.get("metadata", {})
    same_identity = bool(new_meta.get("name")) and all(
        old_meta.get(k) == new_meta.get(k) for k in ("name", "namespace")
    )
    return Diff(
        tuple(path_text(p) for p in paths),
        tuple(path_text(p) for p in replaces),
        delete_before_replace=bool(replaces) and same_identity,
    )


def _kubernetes_config_diff(old: Resource, new: Resource) -> Diff:
    """pulumi-kubernetes provider.go DiffConfig: every changed setting is an update of the provider; it is replaced
    (and with it every object it manages) when renderYamlToDirectory or a set clusterIdentifier changes, or when
    kubeconfig, context or cluster change the active cluster. The stand-in has no kubeconfig to resolve: a change of
    any of those three counts as another cluster."""
    paths = list(changed_paths(old.inputs, new.inputs))
    keys = _top_keys(paths)
    replaces = [k for k in keys if k in ("renderYamlToDirectory", "kubeconfig", "context", "cluster")]
    if "clusterIdentifier" in keys and old.inputs.get("clusterIdentifier") and new.inputs.get("clusterIdentifier"):
        replaces.append("clusterIdentifier")
    return Diff(keys, tuple(replaces))


# The inputs whose change replaces the resource, by type, in Pulumi's names. pulumi-docker bridges the Terraform
# provider: a change of a ForceNew attribute (kreuzwerker/terraform-provider-docker internal/provider/
# resource_docker_{container,volume,network,image}.go) replaces (pulumi-terraform-bridge pkg/tfbridge/provider.go
# Diff); every other input is updated in place (container: restart, memory, healthcheck, destroyGraceSeconds,
# mustRun, start, ...; image: keepLocally).
_DOCKER_FORCE_NEW = {
    "docker:index/container:Container": frozenset(
        "name readOnly image hostname domainname command entrypoints user dns dnsOpts dnsSearches publishAllPorts "
        "workingDir capabilities securityOpts runtime platform stopSignal stopTimeout mounts volumes ports hosts "
        "ulimits envs privileged devices deviceRequests labels shmSize logDriver logOpts networkMode networksAdvanced "
        "pidMode usernsMode uploads sysctls ipcMode groupAdds tty stdinOpen storageOpts gpus cpus cgroupnsMode "
        "cgroupParent".split()
    ),
    "docker:index/volume:Volume": frozenset({"name", "labels", "driver", "driverOpts"}),
    "docker:index/network:Network": frozenset(
        "name labels driver options internal attachable ingress ipv6 ipamDriver ipamOptions ipamConfigs".split()
    ),
    "docker:index/remoteImage:RemoteImage": frozenset({"name", "pullTriggers", "triggers", "platform"}),
}
# Delete first when replaced: the container, by pulumi-docker provider/resources.go (`DeleteBeforeReplace: true`);
# a volume or network whose `name` the program sets, by the bridge's nameRequiresDeleteBeforeReplace (schema.go): its
# `name` is auto-named (resources.go SetAutonaming, info/autonaming.go: every resource with a string `name` input
# and no field entry of its own; the image has one), and a name not filled in by the auto-namer cannot exist twice.
_DOCKER_DELETE_FIRST = {"docker:index/container:Container"}
_DOCKER_AUTONAMED = {"docker:index/volume:Volume", "docker:index/network:Network"}

# pulumi-random and pulumi-tls bridge Terraform providers written with the plugin framework: every Diff plans through
# the provider (pulumi-terraform-bridge pkg/pf/tfbridge/provider_diff.go DiffWithContext: PlanResourceChange, so
# ModifyPlan too), and an attribute with a RequiresReplace plan modifier whose value changes replaces
# (checkRequiresReplace); delete-first only where the ResourceInfo asks for it, which neither does.
# random: resource_password.go passwordSchemaV3 (every input: keepers, length, special, upper, lower, number,
# numeric, min_*, override_special). tls: each resource's Schema (resource_private_key.go, resource_cert_request.go,
# resource_self_signed_cert.go, resource_locally_signed_cert.go; the PEM inputs by common.go
# requireReplaceIfStateContainsPEMString, which replaces when the value held a PEM). early_renewal_hours has none: it
# is updated in place.
_FRAMEWORK_REQUIRES_REPLACE = {
    "random:index/randomPassword:RandomPassword": frozenset(
        "keepers length special upper lower number numeric minNumeric minUpper minLower minSpecial "
        "overrideSpecial".split()
    ),
    "tls:index/privateKey:PrivateKey": frozenset({"algorithm", "rsaBits", "ecdsaCurve"}),
    "tls:index/certRequest:CertRequest": frozenset({"privateKeyPem", "dnsNames", "ipAddresses", "uris", "subject"}),
    "tls:index/selfSignedCert:SelfSignedCert": frozenset(
        "privateKeyPem validityPeriodHours allowedUses dnsNames ipAddresses uris isCaCertificate maxPathLength "
        "setSubjectKeyId setAuthorityKeyId subject".split()
    ),
    "tls:index/locallySignedCert:LocallySignedCert": frozenset(
        "caCertPem caPrivateKeyPem certRequestPem validityPeriodHours allowedUses isCaCertificate maxPathLength "
        "setSubjectKeyId".split()
    ),
}
_CERTIFICATES = {"tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"}


def _schema_diff(old: Resource, new: Resource, now: datetime.datetime) -> Diff:
    paths = list(changed_paths(old.inputs, new.inputs))
    keys = _top_keys(paths)
    forced = _DOCKER_FORCE_NEW.get(new.type) or _FRAMEWORK_REQUIRES_REPLACE[new.type]
    replaces = [k for k in keys if k in forced]
    if new.type in _CERTIFICATES and ready_for_renewal(old, new.inputs, now):
        keys, replaces = (*keys, "readyForRenewal"), [*replaces, "readyForRenewal"]
    delete_first = new.type in _DOCKER_DELETE_FIRST or (new.type in _DOCKER_AUTONAMED and "name" in new.inputs)
    return Diff(keys, tuple(replaces), delete_before_replace=bool(replaces) and delete_first)


def validity_end(certificate: Resource) -> datetime.datetime:
    """validity_end_time, which pulumi-tls records at creation (the certificate's NotAfter) and reads back from the
    state to decide a renewal (common_cert.go modifyPlanIfCertificateReadyForRenewal: time.Parse(time.RFC3339, ...))."""
    return tls.parse_time(certificate.outputs["validityEndTime"])


def ready_for_renewal(old: Resource, new_inputs: Mapping, now: datetime.datetime) -> bool:
    """terraform-provider-tls common_cert.go modifyPlanIfCertificateReadyForRenewal (the ModifyPlan of SelfSignedCert
    and LocallySignedCert): from `early_renewal_hours` before `validity_end_time` on, ready_for_renewal is planned
    unknown and requires a replacement. It is decided at plan time, with the clock of the machine that plans."""
    hours = int(new_inputs.get("earlyRenewalHours", 0))
    return validity_end(old) - datetime.timedelta(hours=hours) <= now


def _dynamic_provider(resource: Resource):
    """The provider object the dynamic provider host loads from the `__provider` input (dynamic/__main__.py
    get_provider: base64, then dill), as the engine does: the class by reference, so this imports components."""
    import dill

    return dill.loads(base64.b64decode(resource.inputs["__provider"]))


def _dynamic_check(old: Resource | None, new: Resource) -> tuple[str, ...]:
    """dynamic/__main__.py Check: provider.check(old inputs, new inputs); its failures stop the preview."""
    result = _dynamic_provider(new).check(dict(old.inputs) if old else {}, dict(new.inputs))
    return tuple(f"{f.property}: {f.reason}" for f in result.failures or ())


def _dynamic_diff(old: Resource, new: Resource) -> Diff:
    """dynamic/__main__.py Diff: provider.diff(id, old outputs, new inputs). No answer on changes (DIFF_UNKNOWN): the
    engine compares the inputs itself (step_generator.go diffResource)."""
    result = _dynamic_provider(new).diff(f"{new.name}-id", dict(old.outputs), dict(new.inputs))
    keys = _top_keys(list(changed_paths(old.inputs, new.inputs)))
    return Diff(
        keys,
        tuple(result.replaces or ()),
        bool(result.delete_before_replace),
        _dynamic_check(old, new),
        result.changes,
    )


def provider_diff(old: Resource, new: Resource, config: Mapping, now: datetime.datetime) -> Diff:
    """What the resource's provider answers to Diff (and, for dynamic providers, Check)."""
    if not new.custom:
        # step_generator.go diff: "If there is no provider for this resource (... component resources), simply return
        # a 'diffs exist' result" when the inputs differ.
        return Diff(_top_keys(list(changed_paths(old.inputs, new.inputs))))
    if new.type == "pulumi:providers:kubernetes":
        return _kubernetes_config_diff(old, new)
    if new.type.startswith("kubernetes:"):
        return _kubernetes_diff(old, new, config)
    if new.type == "pulumi-python:dynamic:Resource":
        return _dynamic_diff(old, new)
    if new.type in _DOCKER_FORCE_NEW or new.type in _FRAMEWORK_REQUIRES_REPLACE:
        return _schema_diff(old, new, now)
    raise StandInError(f"{new.name}: no rule for how the provider of {new.type} decides a replacement")


def _replace_on_changes(diff: Diff, paths: tuple[str, ...]) -> Diff:
    """step_generator.go applyReplaceOnChanges: a changed property under a replaceOnChanges path ("*": any)
    replaces."""

    def covers(pattern: str, changed: str) -> bool:
        return pattern == "*" or changed == pattern or changed.startswith((f"{pattern}.", f"{pattern}["))

    extra = tuple(c for c in diff.changed if any(covers(p, c) for p in paths) and c not in diff.replaces)
    return dataclasses.replace(diff, replaces=diff.replaces + extra)


# --- the engine's step for each resource ----------------------------------------------------------------------------


def plan(deployed: Snapshot, changed: Snapshot | None, now: datetime.datetime | None = None) -> Plan:
    """The steps from `deployed` to `changed` (None: `pulumi destroy`), as of `now` (default: the present)."""
    now = now or datetime.datetime.now(datetime.UTC)
    if changed is None:
        return Plan(tuple(_delete(old) for old in reversed(deployed.values())))
    matched: dict[str, str] = {}  # new URN -> the old URN it takes over (itself, or an alias)
    for new in changed.values():
        old_urn = _old_urn(new, deployed, matched, changed)
        if old_urn:
            if old_urn in matched.values():
                raise StandInError(f"{new.name}: {old_urn} is claimed twice (the engine's duplicate alias error)")
            matched[new.urn] = old_urn
    steps: dict[str, Step] = {}
    # Providers first: a replaced provider replaces what it manages (step_generator.go providerChanged).
    for new in sorted(changed.values(), key=lambda r: not r.type.startswith("pulumi:providers:")):
        steps[new.urn] = _step(deployed.get(matched.get(new.urn, "")), new, changed, steps, now)
        if steps[new.urn].error.startswith(CHECK_FAILED):
            # step_generator.go generateSteps: a resource with check failures "isn't valid, don't proceed any
            # further" (BailErrorf), in a preview too: nothing after it is planned.
            return Plan(tuple(steps.values()))
    deletes = [_delete(old) for urn, old in reversed(deployed.items()) if urn not in matched.values()]
    return Plan(tuple(steps[urn] for urn in changed) + tuple(deletes))


def _old_urn(new: Resource, deployed: Snapshot, matched: Mapping[str, str], changed: Snapshot) -> str:
    """step_generator.go getOldResource: the old resource of the same URN, else the first alias found in the state;
    a child's aliases are multiplied by its parent's (generateAliases, inheritedChildAlias)."""
    candidates = [new.urn, *new.aliases]
    parent_old = matched.get(new.parent, new.parent)
    if parent_old != new.parent:
        parent_name = changed[new.parent].name
        old_parent_name = parent_old.rsplit("::", 1)[1]
        name = old_parent_name + new.name[len(parent_name) :] if new.name.startswith(parent_name) else new.name
        candidates.append(child_urn(parent_old, new.type, name, *_stack_and_project(new.urn)))
    return next((urn for urn in candidates if urn in deployed), "")


def _step(
    old: Resource | None, new: Resource, changed: Snapshot, steps: Mapping[str, Step], now: datetime.datetime
) -> Step:
    if old is None:
        failures = _dynamic_check(None, new) if new.type == "pulumi-python:dynamic:Resource" else ()
        return Step(new.name, new.type, "create", error=_check_error(new, failures))
    provider_step = steps.get(new.provider)
    if provider_step is not None and provider_step.op == "replace":
        diff = Diff(("provider",), ("provider",))  # step_generator.go diff: ReplaceKeys ["provider"]
    else:
        config = changed[new.provider].inputs if new.provider in changed else {}
        # providers/registry.go Registry.Update: an updated provider is configured with its new settings under the
        # same ID, before the resources it manages are diffed: they are decided by its new settings.
        diff = _replace_on_changes(provider_diff(old, new, config, now), new.replace_on_changes)
    error = _check_error(new, diff.failures)
    if diff.some and diff.replaces:
        if new.protect and old.protect:  # step_generator.go continueStepsFromDiff
            error = error or (
                f'unable to replace resource "{new.urn}"\nas it is currently marked for protection. To unprotect the '
                "resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`"
            )
        delete_first = diff.delete_before_replace if new.delete_before_replace is None else new.delete_before_replace
        return Step(new.name, new.type, "replace", delete_first, diff.replaces, old.retain_on_delete, error)
    if diff.some:
        return Step(new.name, new.type, "update", keys=diff.changed, error=error)
    if _computed(old) != _computed(new):
        # step.go SameStep.Apply keeps the old outputs: a run whose mocks computed others (a key, a certificate, a
        # password) has fed the resources that use them values the engine would not.
        raise StandInError(f"{new.name} is unchanged, yet the changed run's mocks computed other outputs for it")
    return Step(new.name, new.type, "same", error=error)


def _computed(resource: Resource) -> dict[str, Any]:
    """The outputs a provider computed, not echoed from the inputs."""
    return {key: value for key, value in resource.outputs.items() if key not in resource.inputs}


CHECK_FAILED = "check failed: "


def _check_error(new: Resource, failures: tuple[str, ...]) -> str:
    """issueCheckFailures prints each failure; then "resource <urn> is invalid"."""
    return f"{CHECK_FAILED}{'; '.join(failures)}; resource {new.urn} is invalid" if failures else ""


def deletion_propagation(resource: Resource) -> str:
    """pulumi-kubernetes' propagation policy when it deletes the object (await.go Deletion: DeleteOptions
    PropagationPolicy from metadata/overrides.go DeletionPropagation, read from the inputs the state recorded): the
    `pulumi.com/deletionPropagationPolicy` annotation, "orphan" or "background" (any case), else Foreground, in which
    the API server deletes the dependents (a StatefulSet's pods) before the object. "" for other providers."""
    if not resource.type.startswith("kubernetes:"):
        return ""
    annotations = resource.inputs.get("metadata", {}).get("annotations") or {}
    policy = str(annotations.get("pulumi.com/deletionPropagationPolicy", "")).lower()
    return {"orphan": "Orphan", "background": "Background"}.get(policy, "Foreground")


def _delete(old: Resource) -> Step:
    """step.go DeleteStep.Apply: a protected resource is not deleted (deleteProtectedError), also in a preview; one with
    retainOnDelete is dropped from the state, and the provider's Delete is not called."""
    error = (
        f'resource "{old.urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, either remove '
        "the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:\n"
        f"`pulumi state unprotect '{old.urn}'`"
        if old.protect
        else ""
    )
    propagation = "" if old.retain_on_delete else deletion_propagation(old)
    return Step(old.name, old.type, "delete", retained=old.retain_on_delete, error=error, propagation=propagation)


# --- running the program for it -------------------------------------------------------------------------------------


def deploy(stack: str, overrides: Mapping[str, Any] | None = None) -> Snapshot:
    """The state after `pulumi up -s <stack>` with `overrides` on top of the stack's configuration."""
    return snapshot(run_program(stack, dict(overrides or {})))


def due_for_renewal(deployed: Snapshot, now: datetime.datetime) -> list[str]:
    """The certificates pulumi-tls replaces when planned at `now` (ready_for_renewal)."""
    return [r.name for r in deployed.values() if r.type in _CERTIFICATES and ready_for_renewal(r, r.inputs, now)]


def preview(
    deployed: Snapshot, stack: str, overrides: Mapping[str, Any] | None = None, now: datetime.datetime | None = None
) -> tuple[Plan, Snapshot]:
    """What `pulumi preview` plans for `deployed` when the program runs with `overrides`, at `now`; and the state
    after that `pulumi up`. The certificates due for renewal are made anew in that run, as pulumi-tls makes them."""
    now = now or datetime.datetime.now(datetime.UTC)
    with renewed(*due_for_renewal(deployed, now)):
        changed = deploy(stack, overrides)
    result = plan(deployed, changed, now)
    # step.go SameStep.Apply: an unchanged resource keeps its old outputs in the state the `up` writes.
    kept = {step.name for step in result.steps if step.op == "same"}
    after = {urn: r if r.name not in kept else _with_outputs(r, deployed) for urn, r in changed.items()}
    return result, after


def _with_outputs(resource: Resource, deployed: Snapshot) -> Resource:
    old = next(r for r in deployed.values() if r.name == resource.name and r.type == resource.type)
    return dataclasses.replace(resource, outputs=old.outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.preview", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", choices=("dev", "prod"))
    parser.add_argument("--deployed", action="append", default=[], metavar="KEY=VALUE", help="deployed with this")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="then changed to this")
    parser.add_argument("--days", type=float, default=0, help="plan this many days after the deploy")
    parser.add_argument("--destroy", action="store_true", help="plan `pulumi destroy` instead")
    parser.add_argument("--all", action="store_true", help="list unchanged resources too")
    args = parser.parse_args(argv)

    def pairs(items: list[str]) -> dict[str, str]:
        bad = [item for item in items if "=" not in item]
        if bad:
            parser.error(f"{bad[0]!r}: expected KEY=VALUE (a festival-redis setting, e.g. replicaCount=3)")
        return dict(item.split("=", 1) for item in items)

    deployed = deploy(args.stack, pairs(args.deployed))
    if args.destroy:
        result = plan(deployed, None)
    else:
        now = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=args.days)
        overrides = {**pairs(args.deployed), **pairs(args.set)}
        result, _ = preview(deployed, args.stack, overrides, now)
    print(result.text(args.all))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
