"""Runs __main__.py under recording Pulumi mocks, configured like the engine would configure it.

Config is what `pulumi up -s <stack>` would see: Pulumi.yaml's declared defaults overlaid with
Pulumi.<stack>.yaml's values. Secret-ness is kept: a secret input is recorded as Secret(value).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml

from components.settings import Settings
from harness import certs

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "festival-redis"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
MOCK_PASSWORD_PREFIX = "mock-password-"
MOCK_IMAGE_ID_PREFIX = "sha256:mock-"


@dataclass(frozen=True)
class Secret:
    value: Any


def unwrap(value: Any) -> Any:
    """Mock inputs with Pulumi's secret envelopes turned into Secret(...) markers."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return Secret(unwrap(value["value"]))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def reveal(value: Any) -> Any:
    """The same value with every Secret marker removed."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def strings(value: Any, in_secret: bool = False):
    """Every string inside value (Secret markers kept), with whether a Secret marker encloses it."""
    if isinstance(value, Secret):
        yield from strings(value.value, True)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key, in_secret)
            yield from strings(item, in_secret)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, in_secret)
    elif isinstance(value, str):
        yield value, in_secret


def as_ints(value: Any) -> Any:
    """Mocks deliver numbers as floats; the engine would send the integers the program declared."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_ints(item) for item in value]
    return value


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict  # with Secret markers
    provider: str | None
    custom: bool = True  # False for a component resource
    outputs: dict = field(default_factory=dict)  # what the mocks answered, with Secret markers (the state keeps them)
    urn: str = ""  # as the mock monitor made it (parent chain included), set once the program has run

    @property
    def plain(self) -> dict:
        return reveal(self.inputs)


@dataclass
class Program:
    resources: list[Recorded] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # resolved values
    secret_outputs: set[str] = field(default_factory=set)
    options: dict[str, pulumi.ResourceOptions] = field(default_factory=dict)  # by resource name, as declared
    stack: str = ""
    config: dict[str, str] = field(default_factory=dict)  # 'festival-redis:<key>' -> the string the program saw

    def of_type(self, type_token: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_token]

    def depends_on(self, name: str) -> set[str]:
        """The names of the custom resources that resource `name`'s depends_on names, a local component standing for
        its descendants, as the Python SDK expands it before it registers the resource, which it does only once they
        are registered, i.e. created or updated (pulumi sdk/python/lib/pulumi/runtime/rpc.py `_add_dependency`;
        resource.py `prepare_resource`: "Before we can proceed, all our dependencies must be finished")."""
        options = self.options.get(name)
        declared = options.depends_on if options else None
        pending = list(declared if isinstance(declared, (list, tuple)) else [declared] if declared else [])
        names: set[str] = set()
        while pending:
            resource = pending.pop()
            if isinstance(resource, pulumi.ComponentResource):
                pending.extend(resource._childResources)
            else:
                names.add(resource._name)
        return names

    def named(self, name: str) -> Recorded:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]


# What pulumi-tls made, by resource and inputs: like a stack's state, an unchanged resource keeps its key or
# certificate from one run to the next (and RSA keys are slow to make).
_MADE: dict[tuple[str, str, str], dict] = {}


def tls_outputs(type_token: str, name: str, inputs: dict) -> dict:
    if not type_token.startswith("tls:"):
        return {}
    state = (type_token, name, json.dumps(inputs, sort_keys=True))
    if state not in _MADE:
        _MADE[state] = _make_tls(type_token, inputs)
    return _MADE[state]


@contextlib.contextmanager
def renewed(*names: str):
    """Within: pulumi-tls' resources `names` are made anew, as certificates due for renewal are; after: those as
    before, and what the run made for new inputs kept (a later run from the state it leads to finds the same: a CA
    created by one step of a rotation is the one the next step signs with)."""
    kept = dict(_MADE)
    for state in [state for state in _MADE if state[1] in names]:
        del _MADE[state]
    try:
        yield
    finally:
        _MADE.update(kept)


def _make_tls(type_token: str, inputs: dict) -> dict:
    """What pulumi-tls computes, computed as it does (harness/certs.py): real keys and certificates."""
    if type_token == "tls:index/privateKey:PrivateKey":
        return {"privateKeyPem": certs.private_key(inputs["algorithm"], int(inputs.get("rsaBits", 2048)))}
    if type_token == "tls:index/selfSignedCert:SelfSignedCert":
        return _certificate(
            certs.self_signed_cert(
                inputs["privateKeyPem"],
                inputs["subject"]["commonName"],
                int(inputs["validityPeriodHours"]),
                inputs["allowedUses"],
                bool(inputs.get("isCaCertificate")),
            )
        )
    if type_token == "tls:index/certRequest:CertRequest":
        names = (inputs.get("dnsNames", []), inputs.get("ipAddresses", []))
        return {"certRequestPem": certs.cert_request(inputs["privateKeyPem"], inputs["subject"]["commonName"], *names)}
    if type_token == "tls:index/locallySignedCert:LocallySignedCert":
        return _certificate(
            certs.locally_signed_cert(
                inputs["certRequestPem"],
                inputs["caCertPem"],
                inputs["caPrivateKeyPem"],
                int(inputs["validityPeriodHours"]),
                inputs["allowedUses"],
            )
        )
    return {}


def _certificate(cert_pem: str) -> dict:
    """A certificate resource's computed outputs: the PEM and when it expires (validityEndTime)."""
    return {"certPem": cert_pem, "validityEndTime": certs.validity_end_time(cert_pem)}


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, program: Program):
        self.program = program

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = MOCK_PASSWORD_PREFIX + args.name
        if args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = MOCK_IMAGE_ID_PREFIX + args.inputs["name"]  # computed by the provider
        outputs.update(tls_outputs(args.typ, args.name, reveal(unwrap(args.inputs))))
        recorded = Recorded(args.typ, args.name, unwrap(args.inputs), args.provider, args.custom, unwrap(outputs))
        self.program.resources.append(recorded)
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def stack_config(stack: str) -> dict[str, Any]:
    """Pulumi.yaml defaults overlaid with Pulumi.<stack>.yaml, keyed 'festival-redis:<key>'."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    values = {
        f"{PROJECT}:{key}": spec["default"] for key, spec in project.get("config", {}).items() if "default" in spec
    }
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    values.update(stack_file.get("config", {}))
    return values


def _as_config_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise ValueError(f"config value {value!r}: secure and object values are not modelled here")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _quiet_when_unretrieved(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """A run that fails on purpose leaves every declared resource's futures holding its error, and asyncio reports
    each one collected ("Future exception was never retrieved", with a traceback): thousands of lines in CI's log
    for one expected error, which reaches the caller anyway (pulumi.runtime.test raises it)."""
    if not context.get("message", "").endswith("exception was never retrieved"):
        loop.default_exception_handler(context)


def run_mocked(
    main: Path,
    mocks: pulumi.runtime.Mocks,
    project: str,
    stack: str,
    config: dict[str, str],
    outputs: dict[str, Any],
    secret_outputs: set[str],
    before: Callable[[], None] | None = None,
) -> None:
    """Run the Pulumi program `main` (a __main__.py) under `mocks` with `config`, on an event loop of its own; its
    exports resolved into `outputs`, the secret ones named in `secret_outputs`. `before` runs first, inside the run."""
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_when_unretrieved)
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    pulumi.runtime.set_all_config(config)
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def run():
        if before is not None:
            before()
        with mock.patch.object(pulumi, "export", exports.__setitem__):
            runpy.run_path(str(main), run_name="__main__")

        async def collect():
            for key, value in exports.items():
                output = pulumi.Output.from_input(value)
                outputs[key] = await output.future()
                if await output.is_secret():
                    secret_outputs.add(key)

        return asyncio.ensure_future(collect())

    run()


def run_program(stack: str, overrides: dict[str, Any] | None = None) -> Program:
    """Run __main__.py for `stack` (with optional `festival-redis:` key overrides); return what it declared."""
    config = stack_config(stack)
    config.update({f"{PROJECT}:{key}": value for key, value in (overrides or {}).items()})
    program = Program(stack=stack, config={key: _as_config_string(value) for key, value in config.items()})
    finished = False

    def record_options(args: pulumi.ResourceTransformationArgs) -> None:
        # Mocks run no engine: the options are only seen here. The root stack, and with it this transformation,
        # outlives the run: the runs after this one must not record into this program.
        if not finished:
            program.options[args.name] = args.opts

    run_mocked(
        ROOT / "__main__.py",
        RecordingMocks(program),
        PROJECT,
        stack,
        program.config,
        program.outputs,
        program.secret_outputs,
        before=lambda: pulumi.runtime.register_stack_transformation(record_options),
    )
    finished = True
    urns = {
        (urn.split("::")[2].split("$")[-1], urn.split("::", 3)[3]): urn
        for urn in pulumi.runtime.settings.get_monitor().get_registered_resources()
    }
    for resource in program.resources:
        resource.urn = urns[resource.type, resource.name]
    return program


def settings_of(stack: str, **overrides) -> Settings:
    """The Settings a stack's config (Pulumi.yaml defaults, Pulumi.<stack>.yaml) makes, with `overrides`."""
    values = {key.partition(":")[2]: value for key, value in stack_config(stack).items()}
    return Settings.from_config({**values, **overrides})


class KubernetesObjects:
    """What one run of the prod stack (with `overrides`) would send to the API server."""

    def __init__(self, overrides: dict | None = None):
        self.program = run_program("prod", overrides)
        self.settings = settings_of("prod", **(overrides or {}))
        self.resources = [r for r in self.program.resources if r.type.startswith("kubernetes:")]
        self.objects = [as_ints(r.plain) for r in self.resources]

    def of_kind(self, kind: str) -> list[dict]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> dict:
        (found,) = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        return found

    def workloads(self) -> dict[str, dict]:
        """Pod templates by workload name (StatefulSets and the check Job)."""
        return {o["metadata"]["name"]: o["spec"]["template"] for o in self.of_kind("StatefulSet") + self.of_kind("Job")}

    def statefulset_pods(self) -> list[tuple[str, dict]]:
        """(pod name, pod template) of every pod the StatefulSets will create."""
        return [
            (f"{sts['metadata']['name']}-{ordinal}", sts["spec"]["template"])
            for sts in self.of_kind("StatefulSet")
            for ordinal in range(sts["spec"]["replicas"])
        ]
