"""What the Pulumi backend holds for a stack once `pulumi up` has run the program, built from a mocked run
(harness/program.py run_program): the state in the shape of `pulumi stack export --show-secrets` and
the config in the shape of `pulumi config --json --show-secrets`. tests/docs/pulumi_cli.py, the stand-in `pulumi`,
answers from it.

Traced to pulumi/pulumi (the CLI of .pulumi-version):

- A URN (pkg/resource/deploy/deployment.go generateURN, sdk/go/common/resource/urn/urn.go New) is
  `urn:pulumi:<stack>::<project>::<parent's qualified type>$<type>::<name>`, and a child of the root stack has no
  parent type. (The mocks' URNs differ: pulumi/runtime/mocks.py make_urn keeps `pulumi:pulumi:Stack$` and only the
  last type of the parent's.)
- A resource is sdk/go/common/apitype/core.go ResourceV3 (its field order, empty fields left out), as
  pkg/resource/stack/deployment.go SerializeResource fills it; a component has no id (DeserializeResource refuses
  one). The root stack resource, `<project>-<stack>` (sdk/python/lib/pulumi/runtime/stack.py), holds the stack
  outputs, which `stack output` prints.
- Which outputs are secret (pkg/resource/deploy/step_executor.go continueExecuteStep): those the resource's
  additionalSecretOutputs names (RandomPassword's `result`: pulumi_random sets it), and every output whose input of
  the same name was secret.
- A secret, with --show-secrets: {SIG_KEY: SECRET_SIG, "plaintext": json.Marshal(value)} (deployment.go
  SerializePropertyValue, core.go SecretV1).
- The manifest (core.go ManifestV1, pkg/resource/deploy/manifest.go): time, magic (the SHA-256 of the version) and
  the CLI's version; the passphrase secrets provider (pkg/secrets/passphrase/manager.go: type and salt).
- Config (pkg/cmd/pulumi/config/config.go listConfig, configValueJSON): every key of Pulumi.<stack>.yaml and every
  default of Pulumi.yaml (pkg/workspace/config.go createConfigValue), as the string the program reads.

Not modelled: default providers and their references, dependencies, timestamps, the outputs of components (what
they register_outputs: the mocks drop it) and what a provider adds to its outputs beyond what the mocks compute
(harness.program.RecordingMocks).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os

from harness.program import PROJECT, ROOT, Program, Secret, as_ints
from tests.docs.pulumi_cli import ROOT_STACK_TYPE, SECRET_SIG, SIG_KEY, go_json

DEPLOYMENT_VERSION = 3  # sdk/go/common/apitype/core.go DeploymentSchemaVersionCurrent


def serialized(value):
    """A value with Secret markers as `stack export --show-secrets` prints it (maps with sorted keys)."""
    if isinstance(value, Secret):
        return {SIG_KEY: SECRET_SIG, "plaintext": go_json(serialized(value.value))}
    if isinstance(value, dict):
        return {key: serialized(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [serialized(item) for item in value]
    return as_ints(value)


def secret_outputs(outputs: dict, inputs: dict, additional: list[str] | None) -> dict:
    """The outputs as the engine stores them: secret where additionalSecretOutputs names them or the input of the
    same name was secret."""
    marked = {}
    for key, value in outputs.items():
        secret = key in (additional or []) or isinstance(inputs.get(key), Secret)
        marked[key] = Secret(value) if secret and not isinstance(value, Secret) else value
    return marked


def stack_state(program: Program) -> dict:
    """The state `pulumi stack export --show-secrets` prints after `pulumi up` of the mocked run."""
    names = [resource.name for resource in program.resources]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"resources share the names {duplicates}: their URNs cannot be told apart here")
    by_name = {resource.name: resource for resource in program.resources}

    def parent(name: str) -> str | None:
        options = program.options.get(name)
        return options.parent._name if options is not None and options.parent is not None else None

    def qualified_type(name: str) -> str:
        above = parent(name)
        return by_name[name].type if above is None else f"{qualified_type(above)}${by_name[name].type}"

    def protected(name: str) -> bool:  # an unset protect is the parent's (pulumi/resource.py Resource.__init__)
        options = program.options.get(name)
        if options is not None and options.protect is not None:
            return bool(options.protect)
        above = parent(name)
        return protected(above) if above is not None else False

    def urn(qualified: str, name: str) -> str:
        return f"urn:pulumi:{program.stack}::{PROJECT}::{qualified}::{name}"

    root = urn(ROOT_STACK_TYPE, f"{PROJECT}-{program.stack}")
    urns = {name: urn(qualified_type(name), name) for name in by_name}
    stack_outputs = {
        key: Secret(value) if key in program.secret_outputs else value for key, value in program.outputs.items()
    }
    resources = [{"urn": root, "custom": False, "type": ROOT_STACK_TYPE, "outputs": serialized(stack_outputs)}]
    for resource in program.resources:
        options = program.options.get(resource.name)
        entry: dict = {"urn": urns[resource.name], "custom": resource.custom}
        if resource.custom:
            entry["id"] = f"{resource.name}-id"  # what the mocks answered
        entry["type"] = resource.type
        if resource.inputs:
            entry["inputs"] = serialized(resource.inputs)
        if resource.custom and resource.outputs:
            additional = options.additional_secret_outputs if options is not None else None
            entry["outputs"] = serialized(secret_outputs(resource.outputs, resource.inputs, additional))
        entry["parent"] = urns[parent(resource.name)] if parent(resource.name) else root
        if protected(resource.name):
            entry["protect"] = True
        if resource.provider:  # an explicit provider: "<its URN>::<its id>", the URN in the mocks' form
            provider_urn, _, provider_id = resource.provider.rpartition("::")
            entry["provider"] = f"{urns[provider_urn.rsplit('::', 1)[1]]}::{provider_id}"
        resources.append(entry)
    version = "v" + (ROOT / ".pulumi-version").read_text().strip()
    manifest = {
        "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # Go's RFC 3339
        "magic": hashlib.sha256(version.encode()).hexdigest(),
        "version": version,
    }
    salt = f"v1:{base64.b64encode(os.urandom(8)).decode()}:{base64.b64encode(os.urandom(32)).decode()}"
    return {
        "version": DEPLOYMENT_VERSION,
        "deployment": {
            "manifest": manifest,
            "secrets_providers": {"type": "passphrase", "state": {"salt": salt}},
            "resources": resources,
            "metadata": {},
        },
    }


def stack_config(program: Program) -> dict:
    """The config `pulumi config --json --show-secrets` prints: the values the mocked run was given (neither
    Pulumi.yaml nor Pulumi.<stack>.yaml holds a secret)."""
    return {key: {"value": value, "secret": False} for key, value in sorted(program.config.items())}


def stack_record(program: Program) -> dict:
    """One stack of the stand-in's backend document (tests/docs/pulumi_cli.py install)."""
    return {"state": stack_state(program), "config": stack_config(program)}
