"""The certificate renewal rehearsed end to end on the prod stack's pods, with short-lived certificates (the review's
suggestion: 2 hours, renewed from 1 hour before their end) so that the renewal window is reached within the test.

The pods serve certificates of 2 hours: the checks read them from the TLS handshake and, with a threshold of a day,
fail every node (`certificate-days-left`). The preview stand-in, with its clock moved into the renewal window, plans
the replacement of every node certificate (pulumi-tls' ready_for_renewal) and no replacement of anything that holds
data; the changed program is rolled out as `pulumi up` does (RedisRollout: Sentinels, replicas, the master last)
while a Sentinel-aware writer runs. The renewal costs one failover, loses no acknowledged write, and afterwards every
node serves a new certificate of the same CA (a later NotAfter), the check passes and the check Job succeeds."""

from __future__ import annotations

import dataclasses
import datetime
import time

import pytest

from components import tls
from components.checks import CERTIFICATE_DAYS_LEFT, HEALTHY, UNHEALTHY
from components.checks.observe import check_deployment, observe_certificate
from harness.pod_session import FIGURES, running_cluster
from harness.preview import due_for_renewal, plan, snapshot
from harness.program import renewed, run_program

pytestmark = pytest.mark.pods

VALIDITY_HOURS = 2
EARLY_RENEWAL_HOURS = 1
NODE_CERTIFICATE = "tls:index/locallySignedCert:LocallySignedCert"


@pytest.fixture(scope="module")
def short_lived():
    """The program's certificate parameters made short, for every run of the program in this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tls, "CERT_VALIDITY_HOURS", VALIDITY_HOURS)
        patch.setattr(tls, "EARLY_RENEWAL_HOURS", EARLY_RENEWAL_HOURS)
        yield


@pytest.fixture(scope="module")
def short_lived_cluster(pod_engine, short_lived):
    with running_cluster() as made:
        yield made


def served(cluster) -> dict[str, str]:
    """Every node's served certificate's NotAfter, read from the TLS handshake."""
    target = cluster.target()
    nodes = (*target.redis_nodes, *target.sentinels)
    return {node: observe_certificate(target, node).not_after for node in nodes}


def test_short_lived_certificates_are_renewed_by_a_rollout_with_one_failover_and_no_lost_write(short_lived_cluster):
    cluster = short_lived_cluster
    assert cluster.check(settle_seconds=60).status == HEALTHY

    # The checks see what the pods serve: two hours, below a threshold of a day on every node.
    strict = dataclasses.replace(cluster.target(), certificate_min_days_left=1)
    report = check_deployment(strict)
    assert report.status == UNHEALTHY
    failing = {f.node for f in report.failures if f.invariant == CERTIFICATE_DAYS_LEFT}
    assert failing == {*strict.redis_nodes, *strict.sentinels}, report.summary()
    before = served(cluster)

    # Planned inside the renewal window: every node certificate replaced, nothing that holds data.
    deployed = snapshot(cluster.program)
    now = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        hours=VALIDITY_HOURS - EARLY_RENEWAL_HOURS, minutes=5
    )
    due = due_for_renewal(deployed, now)
    assert len(due) == len(before) and all(name.startswith("festival-tls-") for name in due), due
    with renewed(*due):
        changed = run_program("prod", cluster.overrides)
    steps = plan(deployed, snapshot(changed), now)
    assert not steps.errors, steps.text()
    replaced = {s.name for s in steps.steps if s.op == "replace"}
    assert {s.name for s in steps.steps if s.type == NODE_CERTIFICATE and s.op == "replace"} == set(due)
    assert not [s for s in steps.steps if s.op == "delete"], steps.text()
    assert not [name for name in replaced if "secret" in name or "statefulset" in name], steps.text()

    epoch_before = cluster.config_epoch()
    writer = cluster.writer(threads=2).start()
    try:
        writer.wait_for_writes(100)
        started = time.monotonic()
        rollout = cluster.rolling_update(changed, timeout=120)
        writer.wait_for_writes(100)
    finally:
        writer.stop()
    outages, lost = writer.outages(after=started), writer.lost()
    FIGURES["certificate renewal"] = {
        "seconds": round(time.monotonic() - started, 1),
        "pods replaced": len(rollout.pods),
        "write outages > 0.3 s": outages,
        "failovers": cluster.config_epoch() - epoch_before,
        "acknowledged": len(writer.acknowledged),
        "lost": len(lost),
    }

    assert sorted(rollout.pods) == sorted([*cluster.sentinel_names(), *cluster.redis_names()])
    assert cluster.config_epoch() - epoch_before == 1
    assert lost == []
    after = served(cluster)
    assert all(after[node] > before[node] for node in before), (before, after)  # new certificates, same CA
    assert cluster.check(settle_seconds=60).status == HEALTHY
    job = cluster.run_job()
    assert job.exit_code == 0, job.output
