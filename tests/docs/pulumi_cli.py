"""A stand-in for the `pulumi` CLI: answers `stack output`, `stack export` and `config` the way the real CLI does,
from a backend document that tests/docs/pulumi_state.py builds from a mocked run of the program.

The backend document (a JSON file named by $FESTIVAL_TEST_PULUMI_BACKEND) holds, by stack name, the stack's state
in the shape `pulumi stack export --show-secrets` prints and its config in the shape `pulumi config --json
--show-secrets` prints; every other answer is derived from those two as the real CLI derives it. Traced to
pulumi/pulumi (the CLI of .pulumi-version):

- `stack output [NAME] [--json] [--show-secrets]` (pkg/cmd/pulumi/stack/stack_output.go stackOutputCmd.Run): the
  root stack resource's outputs; without --show-secrets every secret, wherever it sits in a value, prints as
  "[secret]" (pkg/backend/display/json.go massagePropertyValue); with --show-secrets its value. --json prints
  indented JSON (pkg/cmd/pulumi/ui/json.go FprintJSON: two spaces, keys sorted, no HTML escaping); without it one
  NAME prints a string as is and anything else as one line of JSON (stack.go stringifyOutput). Its own unit tests,
  TestStackOutputCmd_plainText and TestStackOutputCmd_json, are run against this stand-in
  (tests/unit/test_pulumi_cli.py).
- `stack export [--show-secrets] [--file F]` (stack_export.go): {"version": 3, "deployment": {...}} indented with
  four spaces. A secret is sdk/go/common/apitype/core.go SecretV1: {SIG_KEY: SECRET_SIG, "plaintext": <the value as
  JSON text>} with --show-secrets, else {SIG_KEY: SECRET_SIG, "ciphertext": ...} (pkg/resource/stack/deployment.go
  SerializePropertyValue). The ciphertext here is random bytes in the passphrase provider's "v1:<nonce>:<sealed>"
  form (sdk/go/common/resource/config/crypt.go symmetricCrypter.EncryptValue): no one can decrypt it.
- `config --json [--show-secrets]` (pkg/cmd/pulumi/config/config.go listConfig, configValueJSON): every key, the
  project's defaults included, {"value": "<string>", "secret": false}; a secret's value only with --show-secrets.

Anything else (another command or flag, console tables, no --stack) exits 2 naming what is not modelled, so a
command the stand-in cannot answer as the real CLI would fails the test instead of passing it.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

# sdk/go/common/resource/sig/sig.go: the key that marks a special object, and its value for a secret.
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"  # sdk/go/common/tokens/stack_type.go RootStackType
BACKEND_VARIABLE = "FESTIVAL_TEST_PULUMI_BACKEND"
NOT_MODELLED = 2
ERROR = 1  # sdk/go/common/util/cmdutil/exit.go ExitCodeError


class NotModelled(Exception):
    pass


def cli_json(value, indent: int | None = None) -> str:
    """JSON as the CLI prints it (pkg/cmd/pulumi/ui/json.go MakeJSONString): map keys sorted, no HTML escaping;
    compact without an indent."""
    separators = None if indent else (",", ":")
    return json.dumps(value, indent=indent, separators=separators, sort_keys=True, ensure_ascii=False)


def go_json(value) -> str:
    """Go's json.Marshal: compact, map keys sorted, <, > and & escaped (what a secret's plaintext holds)."""
    return cli_json(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def is_secret(value) -> bool:
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def massage(value, show_secrets: bool):
    """A state value as `stack output` prints it: each secret "[secret]", or its value with --show-secrets."""
    if is_secret(value):
        return massage(json.loads(value["plaintext"]), show_secrets) if show_secrets else "[secret]"
    if isinstance(value, dict):
        return {key: massage(item, show_secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [massage(item, show_secrets) for item in value]
    return value


def encrypted(value):
    """A state value as stored: each outermost secret sealed (the plaintext of nested ones goes inside it)."""
    if is_secret(value):
        sealed = os.urandom(len(value["plaintext"].encode()) + 16)  # AES-256-GCM: the text and a 16-byte tag
        nonce = os.urandom(12)
        ciphertext = f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"
        return {SIG_KEY: SECRET_SIG, "ciphertext": ciphertext}
    if isinstance(value, dict):
        return {key: encrypted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [encrypted(item) for item in value]
    return value


def stack_outputs(state: dict) -> dict:
    """The root stack resource's outputs (pkg/resource/stack/deployment.go GetRootStackResource)."""
    roots = [r for r in state["deployment"].get("resources", []) if r["type"] == ROOT_STACK_TYPE]
    return roots[0].get("outputs", {}) if roots else {}


def stack_output(state: dict, names: list[str], as_json: bool, show_secrets: bool) -> tuple[int, str]:
    outputs = massage(stack_outputs(state), show_secrets)
    if len(names) > 1:
        raise NotModelled("`stack output` takes at most one property name")
    if not names:
        if not as_json:
            raise NotModelled("`stack output` without a name prints a table: use --json")
        return 0, cli_json(outputs, indent=2) + "\n"
    if names[0] not in outputs:
        return ERROR, f"error: current stack does not have output property '{names[0]}'\n"
    value = outputs[names[0]]
    if as_json:
        return 0, cli_json(value, indent=2) + "\n"
    return 0, (value if isinstance(value, str) else cli_json(value)) + "\n"


def stack_export(state: dict, show_secrets: bool) -> str:
    shown = state if show_secrets else encrypted(state)
    return json.dumps(shown, indent=4, ensure_ascii=False) + "\n"


def config_json(config: dict, show_secrets: bool) -> str:
    listed = {}
    for key, entry in sorted(config.items()):
        hidden = entry["secret"] and not show_secrets  # the value is left out, not "[secret]"
        listed[key] = {k: v for k, v in entry.items() if not (hidden and k in ("value", "objectValue"))}
    return cli_json(listed, indent=2) + "\n"


def parse(args: list[str], flags: set[str], options: set[str]) -> tuple[dict, list[str]]:
    """Cobra's flags as the commands above accept them: --flag, --option VALUE, --option=VALUE, -s VALUE."""
    aliases = {"-s": "--stack", "-j": "--json"}
    found: dict = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        name, sep, value = arg.partition("=")
        name = aliases.get(name, name)
        if name in options:
            if not sep:
                if not rest:
                    raise NotModelled(f"{name} needs a value")
                value = rest.pop(0)
            found[name] = value
        elif name in flags and not sep:
            found[name] = True
        elif arg.startswith("-"):
            raise NotModelled(f"the flag {arg}")
        else:
            positional.append(arg)
    return found, positional


def answer(args: list[str], backend: dict) -> tuple[int, str]:
    """The exit code and standard output of `pulumi ARGS` (an error's text goes to standard error)."""
    if args[:2] == ["stack", "output"]:
        found, names = parse(args[2:], {"--json", "--show-secrets"}, {"--stack"})
    elif args[:2] == ["stack", "export"]:
        found, names = parse(args[2:], {"--show-secrets"}, {"--stack", "--file"})
        if names:
            raise NotModelled("`stack export` takes no arguments")
    elif args[:1] == ["config"]:
        found, names = parse(args[1:], {"--json", "--show-secrets"}, {"--stack"})
        if names or not found.get("--json"):
            raise NotModelled("`config` only as `config --json`")
    else:
        raise NotModelled(f"the command `pulumi {' '.join(args)}`")
    if "--stack" not in found:
        raise NotModelled("a command without --stack (the selected stack)")
    stack = found["--stack"]
    if stack not in backend:
        return ERROR, f"error: no stack named '{stack}' found\n"
    show = bool(found.get("--show-secrets"))
    if args[0] == "config":
        return 0, config_json(backend[stack]["config"], show)
    if args[1] == "output":
        return stack_output(backend[stack]["state"], names, bool(found.get("--json")), show)
    text = stack_export(backend[stack]["state"], show)
    if "--file" in found:
        Path(found["--file"]).write_text(text)
        return 0, ""
    return 0, text


def main(argv: list[str]) -> int:
    backend = json.loads(Path(os.environ[BACKEND_VARIABLE]).read_text())
    try:
        code, text = answer(argv, backend)
    except NotModelled as error:
        print(f"stand-in pulumi: not modelled: {error} (in `pulumi {' '.join(argv)}`)", file=sys.stderr)
        return NOT_MODELLED
    (sys.stdout if code == 0 else sys.stderr).write(text)
    return code


EXECUTABLE = """#!{python}
import sys
sys.path.insert(0, {root!r})
from tests.docs.pulumi_cli import main
sys.exit(main(sys.argv[1:]))
"""


def install(directory: Path, backend: dict) -> dict[str, str]:
    """Write the stand-in `pulumi` and its backend document (stack name -> pulumi_state.stack_record) into
    `directory`; the environment variables that select them (PATH first)."""
    directory.mkdir(parents=True, exist_ok=True)
    document = directory / "pulumi-backend.json"
    document.touch(mode=0o600)  # it holds the stacks' passwords
    document.write_text(json.dumps(backend))
    executable = directory / "pulumi"
    executable.write_text(EXECUTABLE.format(python=sys.executable, root=str(Path(__file__).resolve().parents[2])))
    executable.chmod(stat.S_IRWXU)
    return {"PATH": f"{directory}{os.pathsep}{os.environ['PATH']}", BACKEND_VARIABLE: str(document)}
