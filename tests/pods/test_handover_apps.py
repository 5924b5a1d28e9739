"""Applications wired as the docs say, on the prod pods (TLS on, the default): the example app stack's Deployment, as
declared against this cluster's outputs, in a namespace the cluster admits; its variables and the files of its Secret
read by the example's Python code and by the NestJS provider (run in Node.js). Both write and read through the
deletion of the master pod (a hand-over, as in test_handover) and lose no acknowledged write. It moves the master, as
test_handover does, and leaves the cluster healthy."""

from __future__ import annotations

import pytest

from components import connection
from components.checks import HEALTHY
from harness import apps
from harness.pod_session import FIGURES, HANDED_OVER, HANDOVER_BOUND
from tests.workflow.app_stack import declared_container, run_app

pytestmark = pytest.mark.pods

# A write or a read waits at most this long: a hand-over ends within preStop's limit (HANDOVER_BOUND), and the 60 s
# beyond it cover the clients' reconnection with a wide margin.
STEP_BOUND = HANDOVER_BOUND + 60
READY_BOUND = 90  # seconds for the recreated pod to be ready, as test_handover allows


def test_apps_wired_as_documented_write_and_read_through_a_master_pod_deletion(healthy, tmp_path):
    cluster = healthy
    program = cluster.program
    # The app's namespace is the cluster's own, which clientNamespaces admits by default (the app stack checks it).
    app = run_app("prod", program.outputs, program.secret_outputs, {"namespace": cluster.declared.namespace})
    env, files = declared_container(app)
    assert (env["REDIS_TLS"], set(files)) == ("true", {env[name] for name in connection.FILES})
    writers = apps.app_writers(apps.on_host(env, files, tmp_path), cluster.nat_map, tmp_path)
    old = cluster.master()
    pod = cluster.pods[old]

    def delete_the_master_pod():
        cluster.delete_pod(old)  # preStop hands the master role over
        cluster.recreate_pod(old).wait_ready(READY_BOUND)

    seen = apps.through_a_failover(writers, delete_the_master_pod, bound=STEP_BOUND)
    FIGURES["apps through a master pod deletion"] = seen
    code, output, _ = pod.prestop["redis"]
    assert code == 0 and HANDED_OVER in output, output  # a hand-over, not a failover after down-after
    assert cluster.master() != old
    for name, saw in seen.items():
        assert saw["lost"] == [] and saw["acknowledged"] >= 100 and saw["reads after the failover"] >= 20, name
    report = cluster.check(settle_seconds=30)
    assert report.status == HEALTHY, report.summary()
