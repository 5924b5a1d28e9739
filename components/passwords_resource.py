"""RedisPasswords: applies changed passwords to the running nodes (components/passwords.py's `apply`) when the
fingerprint of what the nodes' secrets hold changes, after every node exists and before the post-deploy check.

Each platform gives `apply` its way to run passwords.sh on a node: `docker exec` into the container (DockerScripts),
an exec into the pod's container through the Kubernetes API (KubernetesScripts). A password change restarts no
node: the nodes read the new files at run time, and at their next start.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import pulumi
from pulumi.dynamic import CreateResult, Resource

from components import passwords, render
from components.dynamic import ActionProvider, secret_props

EXIT_MARK = "festival-exit="


def _command(args: Sequence[str]) -> list[str]:
    return ["sh", f"{render.CONF_DIR}/{passwords.SCRIPT}", *args]


def pod_exec_command(args: Sequence[str]) -> list[str]:
    """passwords.sh ARGS for an exec into a pod: the exec API reports no exit code on its plain stream, so the
    script's is printed after its output (exit_code_of reads it back)."""
    return ["sh", "-c", f'"$@" 2>&1; echo "{EXIT_MARK}$?"', "sh", *_command(args)]


def exit_code_of(output: str) -> tuple[int, str]:
    """(exit code, output) from what pod_exec_command printed; 1 when the mark is missing (the exec broke off)."""
    text, _, code = output.rpartition(EXIT_MARK)
    return (int(code.strip()) if code.strip().isdigit() else 1), text


class DockerScripts:
    """passwords.sh in a container of the local Docker engine (the node's container has the node's name)."""

    def __init__(self):
        import docker

        self.engine = docker.from_env(timeout=60)

    def run(self, node: str, args: Sequence[str]) -> tuple[int, str]:
        code, output = self.engine.containers.get(node).exec_run(_command(args))
        return code, output.decode(errors="replace")


class KubernetesScripts:
    """passwords.sh in a pod's server container (`redis` or `sentinel`), through the API with the stack's context."""

    def __init__(self, context: str, namespace: str, containers: dict[str, str]):
        from kubernetes import client

        from components.kubernetes import access

        access.load_config(context)
        access.require(namespace, access.PASSWORDS_NEEDS, "RedisPasswords")
        self.core, self.namespace, self.containers = client.CoreV1Api(), namespace, containers

    def run(self, node: str, args: Sequence[str]) -> tuple[int, str]:
        from kubernetes.stream import stream

        output = stream(
            self.core.connect_get_namespaced_pod_exec,
            node,
            self.namespace,
            container=self.containers[node],
            command=pod_exec_command(args),
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
        )
        return exit_code_of(output)


class RedisPasswordsProvider(ActionProvider):
    """Applies the passwords at an update that changes their fingerprint, never on create."""

    def run(self, props: dict) -> dict:
        if props["platform"] == "kubernetes":
            runner = KubernetesScripts(props["context"], props["namespace"], props["containers"])
        else:
            runner = DockerScripts()
        applied = passwords.apply(runner, props["nodes"], props["fingerprint"], float(props["timeout_seconds"]))
        return {**props, "applied": applied}

    def create(self, props: dict) -> CreateResult:
        # Nothing to apply: the nodes were started with these files (a new stack, or the first deploy of a stack
        # with this resource: deploy this version before changing passwordGenerations).
        return CreateResult(id_=uuid.uuid4().hex, outs={**props, "applied": []})

    def changed(self, olds: dict, news: dict) -> bool:
        # Only a change of the passwords is applied; the nodes read any other change at their next start.
        return olds.get("fingerprint") != news.get("fingerprint")


class RedisPasswords(Resource):
    applied: pulumi.Output[list]

    def __init__(
        self,
        name: str,
        platform: str,
        nodes: Sequence[str],
        fingerprint: pulumi.Input[str],
        context: str = "",
        namespace: str = "",
        containers: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        """`nodes`: the containers (Docker) or pods (Kubernetes, `containers`: the server container of each) in the
        order they are applied to; `fingerprint`: passwords.fingerprint of the nodes' secret files (a secret)."""
        props = {
            "platform": platform,
            "nodes": list(nodes),
            "fingerprint": fingerprint,
            "context": context,
            "namespace": namespace,
            "containers": dict(containers or {}),
            "timeout_seconds": passwords.TIMEOUT_SECONDS,
            "applied": None,
        }
        super().__init__(RedisPasswordsProvider(), name, *secret_props(props, ["fingerprint"], opts))
