"""Updating a running stack: a setting that changes a rendered file (maxmemory) replaces the changed containers
the way the engine does for named containers on fixed ports (delete, then create), in the order the containers'
depends_on give (replicas one at a time, then the master), while a writer runs: one hand-over, nothing lost."""

from __future__ import annotations

import time

import pytest

from components import checks
from harness.program import run_program
from harness.runtime import MasterSampler
from harness.writer import start_writer

pytestmark = pytest.mark.docker


def test_a_maxmemory_change_replaces_the_redis_nodes_and_keeps_every_write(deployment, record_property):
    writer = start_writer(deployment)
    changed = run_program("dev", {**deployment.overrides, "maxmemory": "256mb"})
    fault_at = time.monotonic()
    with MasterSampler(deployment) as masters:
        replaced = deployment.replace_changed(changed)
    assert sorted(replaced) == sorted(deployment.redis_names())  # Sentinels render no maxmemory: untouched
    assert deployment.wait_healthy().status == checks.HEALTHY
    deployment.wait_docker_healthy()
    writer.wait_for_writes(20)
    writer.stop()
    for name in replaced:
        code, conf = deployment.exec(name, "cat /etc/festival/redis.conf")
        assert code == 0 and "maxmemory 256mb" in conf, name
        assert deployment.container(name).attrs["HostConfig"]["Memory"] == 576 * 1024**2  # 2 x 256 MiB + 64 MiB
    figures = {**writer.counts(), "outage_s": round(writer.longest_gap(fault_at), 2)}
    figures["wait_outage_s"] = round(writer.longest_replicated_gap(fault_at), 2)
    figures["masters"] = masters.seen
    print(f"\nupdate (maxmemory 512mb -> 256mb): replaced {replaced}; {figures}")
    record_property("update", figures)
    assert figures["lost"] == 0 and figures["wait_lost"] == 0, figures
    assert replaced[-1] == masters.seen[0], replaced  # the master is replaced last ...
    assert len(masters.seen) == 2, figures  # ... and hands over once, to a replica replaced before it
