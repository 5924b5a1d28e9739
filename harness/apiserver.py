"""A recording stand-in for the Kubernetes API server, under the real `kubernetes` Python client.

`FakeApiServer.serving()` replaces only the transport: urllib3's `PoolManager.request` (every REST call of the
client: kubernetes/client/rest.py sends them all through it) and kubernetes.stream's `WSClient` (the WebSocket of an
exec, opened by the real `ws_client.websocket_call` with the URL the real client built). So the dynamic providers'
own code runs unchanged, from loading the kube config to the requests on the wire. Each request is recorded with the
authorisation requests the API server would make of it (harness/rbac.py `request_of`), refused with a 403 when the
RBAC stand-in does not allow it, and answered from a small model of the StatefulSets and their pods:

- a StatefulSet has a selector, an `updateRevision`, and pods `<name>-<ordinal>`, all outdated and ready at first;
- an evicted pod (policy/v1 Eviction: `create` on pods/eviction) comes back at once with a new uid, on the update
  revision, ready (the controller of an OnDelete set); the disruption budget is not modelled here (harness/pod_runner.py
  `RunnerPods.evict` models it);
- `failures`: answers to give instead, in order, to the requests they name (`"create pods/eviction": 429` with the
  Status body of eviction.go's budget refusal; any other status with a plain Status; `"get pods/exec"` refuses the
  WebSocket handshake with that status), so a test sees the client's retries;
- each request is recorded with what bounds it in time: the timeout urllib3 was given (the client's
  `_request_timeout`), or an exec's WebSocket timeout;
- exec of RedisRollout's ROLE answers `master` in the master's pod, else `slave`; deleting the master moves the role
  to the first other pod (Sentinel's failover); any other exec (passwords.sh) prints exit code 0;
- a SelfSubjectAccessReview is answered by the same RBAC stand-in.

What it does not model: any other route (answered 404 and recorded as unknown), timing, watches, admission, a
`Retry-After` header.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlparse

import urllib3
from kubernetes.stream import ws_client
from websocket import WebSocketBadStatusException

from harness.rbac import Rbac, Request, request_of

SERVER = "https://kube.festival.test:6443"


@dataclass(frozen=True)
class Recorded:
    method: str
    host: str
    path: str
    requests: tuple[Request, ...]  # what the API server authorises
    allowed: bool
    authorization: str  # the Authorization header the client sent
    timeout: object = None  # what bounds it: urllib3's Timeout for a REST call, the seconds for an exec


class _Response:
    """What kubernetes/client/rest.py reads of a urllib3 response."""

    def __init__(self, status: int, body: dict):
        reasons = {200: "OK", 201: "Created", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}
        self.status, self.reason = status, reasons.get(status, "Service Unavailable")
        self.data = json.dumps(body).encode()

    def getheaders(self) -> dict:
        return {"content-type": "application/json"}

    def getheader(self, name: str, default=None):
        return self.getheaders().get(name.lower(), default)


class FakeApiServer:
    def __init__(self, rbac: Rbac, namespace: str, statefulsets: dict[str, int], master: str = ""):
        """`statefulsets`: name -> pods; `master`: the pod whose server is master ("": none, e.g. Sentinels only)."""
        self.rbac, self.namespace, self.master = rbac, namespace, master
        self.recorded: list[Recorded] = []
        self.revisions = {name: f"{name}-new" for name in statefulsets}
        self.pods = {
            f"{sts}-{ordinal}": {"statefulset": sts, "revision": f"{sts}-old", "uid": uuid.uuid4().hex}
            for sts, count in statefulsets.items()
            for ordinal in range(count)
        }
        self.unknown: list[str] = []
        self.failures: list[tuple[str, int]] = []  # ("<verb> <resource>[/<subresource>]", status), answered in order

    @contextlib.contextmanager
    def serving(self):
        server = self

        def pool_request(_pool, method, url, fields=None, headers=None, body=None, timeout=None, **_):
            if fields:
                url += "?" + urlencode(fields)
            return server.handle(method, url, headers or {}, json.loads(body) if body else None, timeout)

        class WebSocket:
            def __init__(self, _configuration, url, headers, _capture_all, binary=False):
                self.url, self.headers = url, headers or {}

            def run_forever(self, timeout=None):
                self.output = server.exec(self.url, self.headers, timeout)

            def read_all(self):
                return self.output

        with (
            mock.patch.object(urllib3.PoolManager, "request", pool_request),
            mock.patch.object(ws_client, "WSClient", WebSocket),
        ):
            yield self

    def record(self, method: str, url: str, headers: dict, websocket: bool = False, timeout=None) -> Recorded:
        requests = tuple(request_of(method, url, websocket))
        entry = Recorded(
            method,
            urlparse(url).netloc,
            urlparse(url).path,
            requests,
            all(self.rbac.allows(r) for r in requests),
            headers.get("authorization") or headers.get("Authorization", ""),
            timeout,
        )
        self.recorded.append(entry)
        return entry

    def handle(self, method: str, url: str, headers: dict, body: dict | None, timeout=None) -> _Response:
        entry = self.record(method, url, headers, timeout=timeout)
        (request,) = entry.requests
        if not entry.allowed:
            return _Response(403, {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403})
        query = parse_qs(urlparse(url).query)
        route = f"{request.verb} {request.resource}" + (f"/{request.subresource}" if request.subresource else "")
        failure = next((f for f in self.failures if f[0] == route), None)
        if failure:
            self.failures.remove(failure)
            return _Response(failure[1], _failure_status(failure[1], request.name))
        if (request.verb, request.group, request.resource) == (
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
        ):
            return _Response(200, self.review(body))
        if (request.verb, request.resource) == ("get", "statefulsets") and request.name in self.revisions:
            return _Response(200, self.statefulset(request.name))
        if (request.verb, request.resource) == ("list", "pods"):
            selected = dict(pair.split("=") for pair in query["labelSelector"][0].split(","))
            items = [self.pod(name) for name, pod in self.pods.items() if pod["statefulset"] == selected.get("sts")]
            return _Response(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})
        if (request.verb, request.resource, request.subresource) == ("create", "pods", "eviction"):
            if request.name not in self.pods or body["metadata"]["name"] != request.name:
                return _Response(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})
            pod = self.pods[request.name]
            pod.update(revision=self.revisions[pod["statefulset"]], uid=uuid.uuid4().hex)
            if request.name == self.master:
                self.master = next(name for name in self.pods if name != request.name)
            return _Response(201, {"kind": "Status", "apiVersion": "v1", "status": "Success"})
        self.unknown.append(f"{method} {url}")
        return _Response(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})

    def exec(self, url: str, headers: dict, timeout=None) -> str:
        entry = self.record("GET", url.replace("wss://", "https://", 1), headers, websocket=True, timeout=timeout)
        if not entry.allowed:
            # kubernetes.stream turns a refused handshake into ApiException(status=0); the reason names the 403.
            raise ws_client.ApiException(status=0, reason="Handshake status 403 Forbidden")
        failure = next((f for f in self.failures if f[0] == "get pods/exec"), None)
        if failure:
            # What websocket-client's handshake raises on a status other than 101 (websocket/_handshake.py); the real
            # ws_client.websocket_call, around this stand-in, turns it into ApiException(status=0).
            self.failures.remove(failure)
            raise WebSocketBadStatusException(f"Handshake status {failure[1]}", failure[1])
        command = " ".join(parse_qs(urlparse(url).query)["command"])
        if " ROLE" in command:
            pod = entry.requests[0].name
            return ("master" if pod == self.master else "slave") + "\n"
        return "festival-exit=0\n"

    def review(self, body: dict) -> dict:
        attributes = body["spec"]["resourceAttributes"]
        request = Request(
            attributes["verb"],
            attributes["resource"],
            attributes.get("group", ""),
            attributes.get("subresource") or "",
            attributes.get("namespace", ""),
            attributes.get("name", ""),
        )
        allowed = self.rbac.allows(request)
        return {**body, "status": {"allowed": allowed, "reason": "" if allowed else "no RBAC rule allows it"}}

    def statefulset(self, name: str) -> dict:
        return {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"selector": {"matchLabels": {"sts": name}}, "serviceName": name, "template": {}},
            "status": {"replicas": 0, "updateRevision": self.revisions[name]},
        }

    def pod(self, name: str) -> dict:
        pod = self.pods[name]
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": self.namespace,
                "uid": pod["uid"],
                "labels": {"sts": pod["statefulset"], "controller-revision-hash": pod["revision"]},
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }

    def authorised(self) -> set[Request]:
        """Every authorisation request made, without names (what a Role grants by)."""
        return {
            Request(r.verb, r.resource, r.group, r.subresource, r.namespace)
            for entry in self.recorded
            for r in entry.requests
        }


def _failure_status(status: int, name: str) -> dict:
    """A Status body for an injected failure; a 429 on an eviction is the budget's refusal as eviction.go's
    checkAndDecrement words it (pkg/registry/core/pod/storage/eviction.go)."""
    if status == 429:
        return {
            "kind": "Status",
            "status": "Failure",
            "message": "Cannot evict pod as it would violate the pod's disruption budget.",
            "reason": "TooManyRequests",
            "details": {"causes": [{"reason": "DisruptionBudget", "message": (
                "The disruption budget redis needs 2 healthy pods and has 1 currently")}]},
            "code": 429,
        }  # fmt: skip
    return {"kind": "Status", "status": "Failure", "message": f"injected {status} for {name}", "code": status}


def kubeconfig(context: str, token: str) -> str:
    """A kubeconfig whose context `context` reaches SERVER with a bearer token (and a decoy current context)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "festival", "cluster": {"server": SERVER, "insecure-skip-tls-verify": True}},
                {"name": "other", "cluster": {"server": "https://other.test:6443", "insecure-skip-tls-verify": True}},
            ],
            "users": [{"name": "deployer", "user": {"token": token}}, {"name": "other", "user": {"token": "other"}}],
            "contexts": [
                {"name": context, "context": {"cluster": "festival", "user": "deployer"}},
                {"name": "laptop", "context": {"cluster": "other", "user": "other"}},
            ],
            "current-context": "laptop",
        }
    )
