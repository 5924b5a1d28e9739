"""The dev stack with `tls: true` on the Docker engine: the certificates the program makes (pulumi-tls' outputs
computed for real under the mocks), TLS-only nodes and Sentinels, the declared check over TLS, exporters over rediss,
and a Sentinel-aware client on the host that checks host names, through a hand-over; then the applications wired as
the docs say (the example app stack's container, its Python code and the NestJS provider), through another."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest
import redis

from components import connection
from components.render import PRESTOP_MAX_SECONDS
from harness import apps
from harness.docker_runner import free_port_run
from harness.engine import EXPORTER_IMAGE, ensure_images
from harness.runtime import wait_until
from tests.workflow.app_stack import declared_container, run_app

pytestmark = pytest.mark.docker

# A write or a read waits at most this long: a hand-over ends within prestop.sh's limit, and the 60 s beyond it
# cover the new master's election and the clients' reconnection with a wide margin.
HANDOVER_BOUND = PRESTOP_MAX_SECONDS + 60


@pytest.fixture(scope="module")
def tls_stack(deployments, docker_engine):
    ensure_images(docker_engine, {EXPORTER_IMAGE: "exporter"})
    return deployments.new(
        tls=True,
        devExporters=True,
        exporterImage=EXPORTER_IMAGE,
        devExporterPort=free_port_run(6, avoid=set(range(26379, 26400))),
    )


def test_the_declared_check_passes_over_tls_and_plaintext_is_refused(tls_stack):
    assert tls_stack.check_summary.startswith("healthy:"), tls_stack.check_summary
    assert tls_stack.outputs["tlsCaCert"].startswith("-----BEGIN CERTIFICATE-----")
    for announced, published in tls_stack.outputs["natMap"].items():
        plain = redis.Redis(host=published["host"], port=published["port"], socket_timeout=2, socket_connect_timeout=2)
        with pytest.raises(redis.ConnectionError):
            plain.ping()
        node = announced.split(":")[0]
        assert tls_stack.client(node).ping()  # over TLS, verifying the CA and the name 127.0.0.1
        if "sentinel" not in node:
            assert tls_stack.client(node).config_get("port")["port"] == "0"


def test_every_exporter_scrapes_its_node_over_tls(tls_stack):
    for node, url in tls_stack.outputs["metricsEndpoints"].items():
        text = wait_until(
            lambda url=url: (t := urllib.request.urlopen(url, timeout=10).read().decode()) and "redis_up 1" in t and t,
            timeout=30,
            what=f"{node}'s exporter to report redis_up 1",
        )
        assert re.search(r"^redis_up 1$", text, re.M), node


def test_a_host_name_checking_client_writes_through_a_hand_over(tls_stack, record_property):
    writer = tls_stack.writer(wait_replicas=1)
    assert writer.sentinel.sentinel_kwargs["ssl_check_hostname"] is True
    writer.start()
    writer.wait_for_writes(50)
    old = tls_stack.master()
    stopped = time.monotonic()
    tls_stack.stop(old, timeout=60)  # prestop.sh hands the master role over, over TLS
    new = tls_stack.wait_for_new_master(old)
    writer.wait_for_writes(len(writer.acknowledged) + 50)
    tls_stack.container(old).start()
    tls_stack.wait_healthy()
    writer.stop()
    counts = writer.counts()
    print(f"\nhand-over over TLS on Docker: {counts}, outage {writer.longest_gap(after=stopped):.2f}s")
    record_property("counts", counts)
    assert counts["lost"] == 0 and counts["wait_lost"] == 0, counts
    assert new != old and tls_stack.role(old) == "slave"


def test_apps_wired_as_documented_write_and_read_through_a_hand_over(tls_stack, tmp_path):
    """examples/app-stack's container, as declared against this stack (TLS on), connects with the example's Python
    code and with the NestJS provider's options (run in Node.js): both write and read through a hand-over and lose
    no acknowledged write. Last in the module: it moves the master."""
    program = tls_stack.program
    env, files = declared_container(run_app("dev", program.outputs, program.secret_outputs))
    assert (env["REDIS_TLS"], set(files)) == ("true", {env[name] for name in connection.FILES})
    writers = apps.app_writers(apps.on_host(env, files, tmp_path), tls_stack.outputs["natMap"], tmp_path)
    old = tls_stack.master()

    def hand_over():
        tls_stack.stop(old, timeout=60)  # prestop.sh hands the master role over
        tls_stack.wait_for_new_master(old)

    seen = apps.through_a_failover(writers, hand_over, bound=HANDOVER_BOUND)
    print(f"\napps through a hand-over over TLS on Docker: {seen}")
    tls_stack.container(old).start()
    tls_stack.wait_healthy()
    assert tls_stack.master() != old and tls_stack.role(old) == "slave"
    for name, saw in seen.items():
        assert saw["lost"] == [] and saw["acknowledged"] >= 100 and saw["reads after the failover"] >= 20, name
