"""A stand-in `kubectl` for running the prod runbook against the pod runner's pods (harness/pod_runner.py).

`install(directory, cluster)` puts an executable `kubectl` in `directory` and serves it from the test process: each
call sends its arguments over a Unix socket to a `Kubectl` bound to a running `PodCluster`, which answers from the
pods and the declared objects. It models only what the runbook's prod lines use, each as kubectl documents it
(https://kubernetes.io/docs/reference/kubectl/generated/kubectl_exec/ and the pages of the other verbs), and refuses
any other verb, resource, flag or form with exit 2, naming what it does not model:

- `exec POD -c CONTAINER -- COMMAND [ARGS...]` ("kubectl exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND
  [args...]"): the command's argv (no shell added) through the runner's exec in that container, as its user
  (`Pod.exec`, the exec the runner's probes, hooks and tests use); its output, and its exit code as kubectl's,
  with kubectl's "command terminated with exit code N". `-c` is required (kubectl would pick the default container).
- `get secret NAME -o jsonpath={.data.KEY}`: the key's value base64-encoded with no newline, as the API server holds
  a Secret's `data`; the runner mounts the same declared values into the pods. `\\.` escapes a dot in KEY.
- `logs POD -c CONTAINER [--tail N]`: the container's output (not `-f`, not `--previous`: the runner restarts a
  container in place, so the previous instance's log is not kept apart).
- `delete pod NAME`: as the kubelet deletes a pod (preStop, SIGTERM, SIGKILL after the grace period), waited for as
  kubectl's default `--wait=true` does; then the StatefulSet controller creates it again (same name and claim), not
  yet ready. No `--grace-period`, no `--force`.
- `wait --for=condition=Ready pod/NAME [--timeout=Ns]`: until every container of the pod is ready (default 30 s).
- `port-forward [--address 127.0.0.1] (pod/NAME | svc/NAME) LOCAL:PORT`: listens on 127.0.0.1:LOCAL and forwards each
  connection to the pod's port (for a Service: its port's targetPort on the first ready pod it selects, as kubectl
  picks one pod). It prints kubectl's "Forwarding from" line, closes its output and runs until the test ends; like
  the real one it never returns by itself, so the runbook starts it with `&`.

`-n`/`--namespace` must name the runner's namespace (the test substitutes it for `festival`). Not modelled: RBAC, the
API server's latency and errors, `--context`, and every other verb (`get pods`, `describe`, `get events`, ...): the
runbook lines using them are checked for the names they use instead (tests/docs/test_runbook.py).
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import socketserver
import stat
import sys
import threading
from pathlib import Path

SOCKET_ENV = "FESTIVAL_TEST_KUBECTL"
SCRIPT = '''#!{python}
"""Stand-in kubectl: the arguments to the test's server (tests/docs/kubectl_cli.py), its answer back."""
import json, os, socket, sys
connection = socket.socket(socket.AF_UNIX)
connection.connect(os.environ["{env}"])
connection.sendall(json.dumps(sys.argv[1:]).encode() + b"\\n")
for line in connection.makefile("rb"):
    message = json.loads(line)
    sys.stdout.write(message.get("out", ""))
    sys.stderr.write(message.get("err", ""))
    sys.stdout.flush()
    sys.stderr.flush()
    if message.get("detach"):  # a port-forward: forwarding goes on in the background, with no output
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    if "exit" in message:
        sys.exit(message["exit"])
sys.exit("test kubectl: the test's server went away without an answer")
'''
DEFAULT_WAIT_SECONDS = 30  # kubectl wait's default --timeout
EXEC_TIMEOUT = 120  # bounds a command the runbook runs in a pod (the longest: DEBUG SLEEP)


class NotModelled(Exception):
    pass


class Failed(Exception):
    """kubectl's own error (exit 1), e.g. a pod that does not exist."""


def parse(args: list[str], flags: dict[str, bool]) -> tuple[dict[str, str], list[str], list[str]]:
    """(flags given, positional words, the words after `--`). `flags` maps each accepted flag (long and short form)
    to whether it takes a value; `--flag=value` is accepted as kubectl's flag parser accepts it."""
    given, positional, rest = {}, [], []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            rest = args[i + 1 :]
            break
        if word.startswith("-"):
            name, equals, value = word.partition("=")
            if name not in flags:
                raise NotModelled(f"the flag {name}")
            if flags[name] and not equals:
                if i + 1 >= len(args):
                    raise NotModelled(f"{name} without a value")
                value = args[i + 1]
                i += 1
            given[name.lstrip("-")] = value
        else:
            positional.append(word)
        i += 1
    return given, positional, rest


NAMESPACE = {"-n": True, "--namespace": True}


class Kubectl:
    """kubectl's answers from a running PodCluster (see the module's docstring for what is modelled)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.forwards: list[socket.socket] = []
        self.stopped = threading.Event()

    def run(self, args: list[str], send) -> int:
        if not args:
            raise NotModelled("kubectl without a verb")
        verb, rest = args[0], args[1:]
        handler = getattr(self, "_" + verb.replace("-", "_"), None)
        if handler is None or verb.startswith("_"):
            raise NotModelled(f"the verb {verb!r}")
        return handler(rest, send)

    # --- helpers ------------------------------------------------------------------------------------------------
    def _namespace(self, given: dict[str, str]) -> None:
        namespace = given.get("n", given.get("namespace"))
        if namespace != self.cluster.declared.namespace:
            raise Failed(f"the runner's namespace is {self.cluster.declared.namespace}, not {namespace!r}")

    def _pod(self, word: str):
        name = word.removeprefix("pod/").removeprefix("pods/")
        if "/" in name:
            raise NotModelled(f"the resource {word!r}")
        pod = self.cluster.pods.get(name)
        if pod is None:
            raise Failed(f'Error from server (NotFound): pods "{name}" not found')
        return pod

    # --- verbs --------------------------------------------------------------------------------------------------
    def _exec(self, args, send) -> int:
        given, positional, command = parse(args, {**NAMESPACE, "-c": True, "--container": True})
        self._namespace(given)
        if len(positional) != 1 or not command:
            raise NotModelled("exec other than `exec POD -c CONTAINER -- COMMAND ...`")
        container = given.get("c", given.get("container"))
        if container is None:
            raise NotModelled("exec without -c (the pod's default container)")
        pod = self._pod(positional[0])
        if container not in pod.containers:
            raise Failed(f"error: unable to upgrade connection: container not found ({container!r})")
        code, output = pod.exec(container, command, EXEC_TIMEOUT)
        send(out=output)
        if code is None:
            raise Failed(f"error: {output}")
        if code != 0:
            send(err=f"command terminated with exit code {code}\n")
        return code

    def _get(self, args, send) -> int:
        given, positional, _ = parse(args, {**NAMESPACE, "-o": True, "--output": True})
        self._namespace(given)
        if len(positional) != 2 or positional[0] not in ("secret", "secrets"):
            raise NotModelled(f"get {' '.join(positional)} (only `get secret NAME -o jsonpath={{.data.KEY}}`)")
        output = given.get("o", given.get("output", ""))
        match = re.fullmatch(r"jsonpath=\{\.data\.((?:[\w-]|\\\.)+)\}", output)
        if not match:
            raise NotModelled(f"the output {output!r} (only jsonpath={{.data.KEY}})")
        secret = self.cluster.declared.secrets.get(positional[1])
        if secret is None:
            raise Failed(f'Error from server (NotFound): secrets "{positional[1]}" not found')
        value = secret.get(match.group(1).replace("\\.", "."))
        if value is not None:  # kubectl prints nothing for a missing key
            send(out=base64.b64encode(value.encode()).decode())
        return 0

    def _logs(self, args, send) -> int:
        given, positional, _ = parse(args, {**NAMESPACE, "-c": True, "--container": True, "--tail": True})
        self._namespace(given)
        if len(positional) != 1:
            raise NotModelled("logs other than `logs POD -c CONTAINER [--tail N]`")
        pod = self._pod(positional[0])
        container = given.get("c", given.get("container"))
        if container not in pod.containers:
            raise NotModelled(f"logs without -c or of a container the pod lacks ({container!r})")
        tail = int(given["tail"]) if "tail" in given else "all"
        send(out=pod.containers[container].logs(tail=tail).decode(errors="replace"))
        return 0

    def _delete(self, args, send) -> int:
        given, positional, _ = parse(args, NAMESPACE)
        self._namespace(given)
        if positional[:1] == ["pod"] and len(positional) == 2:
            name = positional[1]
        elif len(positional) == 1 and positional[0].startswith("pod/"):
            name = positional[0]
        else:
            raise NotModelled(f"delete {' '.join(positional)} (only `delete pod NAME`)")
        pod = self._pod(name)
        self.cluster.delete_pod(pod.name)
        send(out=f'pod "{pod.name}" deleted\n')
        self.cluster.recreate_pod(pod.name)  # the StatefulSet controller
        return 0

    def _wait(self, args, send) -> int:
        given, positional, _ = parse(args, {**NAMESPACE, "--for": True, "--timeout": True})
        self._namespace(given)
        if given.get("for") != "condition=Ready" or len(positional) != 1 or not positional[0].startswith("pod/"):
            raise NotModelled("wait other than `wait --for=condition=Ready pod/NAME [--timeout=Ns]`")
        timeout = given.get("timeout", f"{DEFAULT_WAIT_SECONDS}s")
        if not re.fullmatch(r"\d+s", timeout):
            raise NotModelled(f"the timeout {timeout!r} (only seconds: 120s)")
        pod = self._pod(positional[0])
        try:
            pod.wait_ready(int(timeout[:-1]))
        except TimeoutError:
            raise Failed(f"error: timed out waiting for the condition on pods/{pod.name}") from None
        send(out=f"pod/{pod.name} condition met\n")
        return 0

    def _port_forward(self, args, send) -> int:
        given, positional, _ = parse(args, {**NAMESPACE, "--address": True})
        self._namespace(given)
        if given.get("address", "127.0.0.1") != "127.0.0.1":
            raise NotModelled(f"--address {given['address']} (only 127.0.0.1)")
        if len(positional) != 2 or not re.fullmatch(r"\d+:\d+", positional[1]):
            raise NotModelled("port-forward other than `port-forward pod/NAME|svc/NAME LOCAL:PORT`")
        kind, _, name = positional[0].partition("/")
        local, port = (int(p) for p in positional[1].split(":"))
        if kind == "pod":
            pod, target = self._pod(name), port
        elif kind in ("svc", "service"):
            pod, target = self._service_pod(name, port)
        else:
            raise NotModelled(f"port-forward to {kind}")
        upstream = self.cluster.host_port(pod.name, target)
        listener = socket.create_server(("127.0.0.1", local))
        self.forwards.append(listener)
        threading.Thread(target=_accept, args=(listener, upstream), daemon=True).start()
        send(out=f"Forwarding from 127.0.0.1:{local} -> {target}\n", detach=True)
        self.stopped.wait()
        return 0

    def _service_pod(self, name: str, port: int):
        spec = self.cluster.declared.services.get(name)
        if spec is None:
            raise Failed(f'Error from server (NotFound): services "{name}" not found')
        entry = next((p for p in spec["ports"] if p["port"] == port), None)
        if entry is None:
            raise Failed(f"error: Service {name} does not have a service port {port}")
        selected = sorted(
            (pod for pod in self.cluster.pods.values() if _selects(spec["selector"], pod.workload.labels)),
            key=lambda pod: pod.name,
        )
        ready = [pod for pod in selected if pod.ready]
        if not ready:
            raise Failed(f"error: unable to forward port because pod is not running (service {name})")
        pod = ready[0]
        target = entry.get("targetPort", port)
        if isinstance(target, str):  # a named port of the pod's containers
            ports = [p for c in pod.spec["containers"] for p in c.get("ports", [])]
            target = next(p["containerPort"] for p in ports if p["name"] == target)
        return pod, target

    def close(self) -> None:
        self.stopped.set()
        for listener in self.forwards:
            listener.close()


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _accept(listener: socket.socket, upstream_port: int) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return  # closed at the end of the test
        try:
            upstream = socket.create_connection(("127.0.0.1", upstream_port), timeout=5)
        except OSError:
            client.close()
            continue
        upstream.settimeout(None)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        def send(**message) -> None:
            self.wfile.write(json.dumps(message).encode() + b"\n")
            self.wfile.flush()

        args = json.loads(self.rfile.readline())
        try:
            code = self.server.kubectl.run(args, send)
        except NotModelled as error:
            send(err=f"test kubectl: not modelled here: {error} (in: kubectl {' '.join(args)})\n", exit=2)
            return
        except Failed as error:
            send(err=f"{error}\n", exit=1)
            return
        except Exception as error:  # the runner failed: kubectl's own error, never a silent success
            send(err=f"test kubectl: {type(error).__name__}: {error}\n", exit=1)
            return
        send(exit=code)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class Installed:
    """The running stand-in: the environment that puts it first on PATH, and close() to stop it."""

    def __init__(self, directory: Path, cluster):
        directory.mkdir(parents=True, exist_ok=True)
        self.kubectl = Kubectl(cluster)
        path = directory / "kubectl.sock"
        self.server = _Server(str(path), _Handler)
        self.server.kubectl = self.kubectl
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        script = directory / "kubectl"
        script.write_text(SCRIPT.format(python=sys.executable, env=SOCKET_ENV))
        script.chmod(stat.S_IRWXU)
        self.env = {SOCKET_ENV: str(path), "PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}

    def close(self) -> None:
        self.kubectl.close()
        self.server.shutdown()
        self.server.server_close()


def install(directory: Path, cluster) -> Installed:
    return Installed(directory, cluster)
