"""Runs examples/app-stack/__main__.py under mocks, with festival-redis' outputs behind its StackReference."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from harness.program import run_mocked
from tests.workflow.mocked import reveal, unwrap

APP_DIR = Path(__file__).resolve().parents[2] / "examples" / "app-stack"
APP_PROJECT = "festival-app"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
CONTAINER, DEPLOYMENT, SECRET = (
    "docker:index/container:Container",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:Secret",
)


@dataclass
class AppResource:
    type: str
    name: str
    inputs: dict  # with Secret markers


@dataclass
class AppRun:
    resources: list[AppResource] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # the stack names asked for
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[AppResource]:
        return [r for r in self.resources if r.type == type_]


class AppMocks(pulumi.runtime.Mocks):
    def __init__(self, app: AppRun, redis_outputs: dict, redis_secret_outputs: set[str]):
        self.app, self.redis_outputs, self.redis_secret_outputs = app, redis_outputs, redis_secret_outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == STACK_REFERENCE:
            self.app.references.append(args.inputs["name"])
            outputs = {
                "name": args.inputs["name"],
                "outputs": self.redis_outputs,
                "secretOutputNames": sorted(self.redis_secret_outputs),
            }
            return [args.inputs["name"], outputs]
        self.app.resources.append(AppResource(args.typ, args.name, unwrap(args.inputs)))
        return [f"{args.name}-id", dict(args.inputs)]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def app_config(stack: str, overrides: dict[str, str] | None) -> dict[str, str]:
    project = yaml.safe_load((APP_DIR / "Pulumi.yaml").read_text())
    values = {f"{APP_PROJECT}:{key}": str(spec["default"]) for key, spec in project["config"].items()}
    values.update((yaml.safe_load((APP_DIR / f"Pulumi.{stack}.yaml").read_text()) or {}).get("config", {}))
    values.update({f"{APP_PROJECT}:{key}": value for key, value in (overrides or {}).items()})
    return values


def run_app(
    stack: str, redis_outputs: dict, redis_secret_outputs: set[str], overrides: dict[str, str] | None = None
) -> AppRun:
    app = AppRun()
    mocks = AppMocks(app, redis_outputs, redis_secret_outputs)
    config = app_config(stack, overrides)
    run_mocked(APP_DIR / "__main__.py", mocks, APP_PROJECT, stack, config, app.outputs, app.secret_outputs)
    return app


def declared_container(app: AppRun) -> tuple[dict[str, str], dict[str, str]]:
    """What the application's container is declared to get: its environment and its files (path -> content), the
    uploads of the Docker container or the Secret mounted into the Deployment's pods."""
    [container] = app.of_type(CONTAINER) or [None]
    if container is not None:
        inputs = reveal(container.inputs)
        env = dict(item.split("=", 1) for item in inputs["envs"])
        return env, {upload["file"]: upload["content"] for upload in inputs["uploads"]}
    [deployment] = app.of_type(DEPLOYMENT)
    [secret] = app.of_type(SECRET)
    spec = reveal(deployment.inputs)["spec"]["template"]["spec"]
    [pod_container] = spec["containers"]
    [mount] = pod_container["volumeMounts"]
    [volume] = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    if volume["secret"]["secretName"] != secret.inputs["metadata"]["name"]:
        raise LookupError(f"volume {volume} is not the Secret {secret.inputs['metadata']['name']}")
    env = {item["name"]: item["value"] for item in pod_container["env"]}
    files = {f"{mount['mountPath']}/{key}": value for key, value in reveal(secret.inputs["stringData"]).items()}
    return env, files
