"""The move from the hand-written Compose setup to the dev stack (docs/migration.md), measured: what applications
see. Each run starts the old setup (harness/seed_setup.py) with a dataset of login sessions and cache entries,
deploys the dev stack beside it (the dev stack's Sentinel timings: down-after 5000 ms), and moves with tools/move.py
under a writer configured as the old setup's applications were (4 threads, no WAIT), which switches to the new stack
as soon as the switch returns. Per run: the longest time between two acknowledged writes around the switch, the
acknowledged writes missing afterwards, the copy's time and how long the switch took. Beside it, what the other
way would cost: a key-by-key copy (DUMP and RESTORE, pipelined) of the same dataset, which needs the writes stopped
for as long as it runs. With --platform pods, the same move on the cluster (tests/pods/test_move.py's set-up): the
seed's Kubernetes objects (harness/seed_cluster.py) to the prod stack (TLS-only) in another namespace, in the pod
runner, without the copy's comparison.

    venv/bin/python -m bench.move [--platform docker|pods] [--runs N] [--sessions N] [--no-record]

Its figures go into bench/results.json (bench/results.py), which the docs quote.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from bench import results
from harness.docker_runner import DockerDeployment
from harness.pod_runner import PodCluster
from harness.runtime import wait_until
from harness.seed_cluster import MASTER_POD as SEED_MASTER_POD
from harness.seed_cluster import MASTER_POD_HOST, SeedCluster
from harness.seed_setup import MASTER, SeedSetup, write_dataset
from harness.writer import Writer
from tools.move import Move, Source, preflight_problems

TIMINGS = {"downAfterMilliseconds": 5000, "failoverTimeout": 60000}  # the dev stack's (Pulumi.dev.yaml)


def copy_keys(source: redis.Redis, target: redis.Redis, batch: int = 1000) -> int:
    """Every key of `source` DUMPed and RESTOREd (with its expiry) into `target`, in pipelined batches; the count."""
    keys = list(source.scan_iter(count=batch))
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        read = source.pipeline(transaction=False)
        for key in chunk:
            read.dump(key)
            read.pttl(key)
        replies = read.execute()
        write = target.pipeline(transaction=False)
        for key, payload, ttl in zip(chunk, replies[::2], replies[1::2], strict=True):
            if payload is not None:
                write.restore(key, max(ttl, 0), payload, replace=True)
        write.execute()
    return len(keys)


@dataclass
class Setups:
    """The old setup, holding the dataset and reachable from the new master, and the new stack beside it."""

    old_master: redis.Redis
    old_settings: dict  # what the old setup's applications connect with (harness.writer.Writer's arguments)
    new: DockerDeployment | PodCluster
    source: Source
    figures: dict  # what was measured while setting up


@contextlib.contextmanager
def docker_setups(sessions: int) -> Iterator[Setups]:
    """The Compose setup and the dev stack; before the move, a key-by-key copy into the new master, for comparison
    (then emptied again)."""
    old, new = SeedSetup(), DockerDeployment(**TIMINGS)
    try:
        old.start()
        write_dataset(old.client(MASTER), sessions=sessions, cache=sessions)
        new.deploy()
        new_master = new.master()
        raw = dict(decode_responses=False)
        started = time.monotonic()
        copy_keys(old.client(MASTER, **raw), new.client(new_master, **raw))
        copy_s = time.monotonic() - started
        new.client(new_master).flushall()
        old.connect(new_master)
        source = Source(f"127.0.0.1:{old.host_ports[MASTER]}", "redis-master:6379", old.password)
        yield Setups(old.client(MASTER), old.client_settings(), new, source, {"copy_s": round(copy_s, 2)})
    finally:
        new.teardown()
        old.teardown()


@contextlib.contextmanager
def pods_setups(sessions: int) -> Iterator[Setups]:
    """The seed's objects in namespace `festival` and the prod stack (TLS-only) in its own, in the pod runner, the
    new master pod attached to the old pods' network (a NetworkPolicy's path on a cluster), as tests/pods/test_move.py
    runs them."""
    old, new = SeedCluster(), PodCluster()
    try:
        old.deploy(timeout=120)
        wait_until(old.settled, 60, interval=0.5, what="the old Sentinels to know every node")
        write_dataset(old.client(SEED_MASTER_POD), sessions=sessions, cache=sessions)
        new.deploy(timeout=120)
        old.connect(new.pods[new.master()].holder.id)
        source = Source(f"127.0.0.1:{old.host_port(SEED_MASTER_POD, 6379)}", f"{MASTER_POD_HOST}:6379", old.password)
        yield Setups(old.client(SEED_MASTER_POD), old.client_settings(), new, source, {})
    finally:
        try:
            new.teardown()
        finally:
            old.teardown()


def one_move(run: int, setups: Setups) -> dict:
    """Move under a writer configured as the old setup's applications were, which switches when the switch returns."""
    keys = setups.old_master.dbsize()
    used = int(setups.old_master.info("memory")["used_memory"])
    writer = Writer(**setups.old_settings).start()
    try:
        writer.wait_for_writes(100)
        move = Move(setups.source, setups.new.target())
        problems = preflight_problems(move.facts())
        if problems:
            raise RuntimeError(f"preflight: {problems}")
        move.sync(600)
        writer.wait_for_writes(100)
        started = time.monotonic()
        move.switch(30)
        writer.switch_to(**setups.new.client_settings())
        writer.wait_for_writes(100)
        move.finish(60)
    finally:
        writer.stop()
    figures = {
        "keys": keys,
        "used_memory_mib": round(used / 1024**2, 1),
        "gap_s": round(writer.longest_gap(after=started - 0.5), 2),
        **writer.counts(),
        "sync_s": round(move.timings["sync_s"], 2),
        "switch_s": round(move.timings["switch_s"], 2),
        **setups.figures,
    }
    print(f"run {run}: {figures}")
    return figures


SETUPS = {"docker": docker_setups, "pods": pods_setups}
WHAT = {
    "docker.move-gap": "Docker: longest time between two acknowledged writes at the switch of a move from the "
    "hand-written Compose setup to the dev stack (tools/move.py, replication; the writer switches when it returns)",
    "docker.move-lost": "Docker: acknowledged writes missing after that move",
    "docker.move-copy": "Docker: a key-by-key copy (DUMP/RESTORE, pipelined) of the same dataset, the write stop it "
    "would need",
    "pods.move-gap": "Prod pods (pod runner): longest time between two acknowledged writes at the switch of a move "
    "from the hand-written Kubernetes objects to the prod stack (TLS) in another namespace (tools/move.py, "
    "replication; the writer switches when it returns)",
    "pods.move-lost": "Prod pods (pod runner): acknowledged writes missing after that move",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.move", description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", choices=sorted(SETUPS), default="docker", help="where (default docker)")
    parser.add_argument("--runs", type=int, default=3, help="moves (default 3)")
    parser.add_argument(
        "--sessions", type=int, default=50000, help="sessions and as many cache entries (default 50000: about 40 MiB)"
    )
    parser.add_argument("--no-record", action="store_true", help="do not update bench/results.json")
    args = parser.parse_args()
    span = results.LoadSpan()
    runs = []
    for run in range(1, args.runs + 1):
        with SETUPS[args.platform](args.sessions) as setups:
            runs.append(one_move(run, setups))
    size = f"{runs[0]['keys']} keys, {runs[0]['used_memory_mib']} MiB"
    if not args.no_record:
        for figure, key, unit in (("gap", "gap_s", "s"), ("lost", "lost", "writes"), ("copy", "copy_s", "s")):
            figure_id = f"{args.platform}.move-{figure}"
            if figure_id not in WHAT:
                continue
            values = [r[key] for r in runs]
            results.record(figure_id, WHAT[figure_id], values, span, "python -m bench.move", unit=unit, note=size)


if __name__ == "__main__":
    main()
