"""The move from the hand-written Compose setup to the dev stack (docs/migration.md), measured: what applications
see. Each run starts the old setup (harness/seed_setup.py) with a dataset of login sessions and cache entries,
deploys the dev stack beside it (the dev stack's Sentinel timings: down-after 5000 ms), and moves with tools/move.py
under a writer configured as the old setup's applications were (4 threads, no WAIT), which switches to the new stack
as soon as the switch returns. Per run: the longest time between two acknowledged writes around the switch, the
acknowledged writes missing afterwards, the copy's time and how long the switch took. Beside it, what the other
way would cost: a key-by-key copy (DUMP and RESTORE, pipelined) of the same dataset, which needs the writes stopped
for as long as it runs.

    venv/bin/python -m bench.move [--runs N] [--sessions N] [--no-record]

Its figures go into bench/results.json (bench/results.py), which the docs quote.
"""

from __future__ import annotations

import argparse
import time

import redis

from bench import results
from harness.docker_runner import DockerDeployment
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


def one_move(run: int, sessions: int) -> dict:
    old = SeedSetup()
    new = DockerDeployment(**TIMINGS)
    try:
        old.start()
        write_dataset(old.client(MASTER), sessions=sessions, cache=sessions)
        keys = old.client(MASTER).dbsize()
        used = int(old.client(MASTER).info("memory")["used_memory"])
        new.deploy()
        new_master = new.master()

        # the other way, for comparison: a key-by-key copy into the new master, then emptied again
        raw = dict(decode_responses=False)
        started = time.monotonic()
        copy_keys(old.client(MASTER, **raw), new.client(new_master, **raw))
        copy_s = time.monotonic() - started
        new.client(new_master).flushall()

        writer = Writer(**old.client_settings()).start()
        try:
            writer.wait_for_writes(100)
            old.connect(new_master)
            move = Move(Source(f"127.0.0.1:{old.host_ports[MASTER]}", "redis-master:6379", old.password), new.target())
            problems = preflight_problems(move.facts())
            if problems:
                raise RuntimeError(f"preflight: {problems}")
            move.sync(600)
            writer.wait_for_writes(100)
            started = time.monotonic()
            move.switch(30)
            writer.switch_to(**new.client_settings())
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
            "copy_s": round(copy_s, 2),
        }
        print(f"run {run}: {figures}")
        return figures
    finally:
        new.teardown()
        old.teardown()


WHAT = {
    "docker.move-gap": "Docker: longest time between two acknowledged writes at the switch of a move from the "
    "hand-written Compose setup to the dev stack (tools/move.py, replication; the writer switches when it returns)",
    "docker.move-lost": "Docker: acknowledged writes missing after that move",
    "docker.move-copy": "Docker: a key-by-key copy (DUMP/RESTORE, pipelined) of the same dataset, the write stop it "
    "would need",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.move", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="moves (default 3)")
    parser.add_argument(
        "--sessions", type=int, default=50000, help="sessions and as many cache entries (default 50000: about 40 MiB)"
    )
    parser.add_argument("--no-record", action="store_true", help="do not update bench/results.json")
    args = parser.parse_args()
    span = results.LoadSpan()
    runs = [one_move(run, args.sessions) for run in range(1, args.runs + 1)]
    size = f"{runs[0]['keys']} keys, {runs[0]['used_memory_mib']} MiB"
    if not args.no_record:
        for figure, key, unit in (("gap", "gap_s", "s"), ("lost", "lost", "writes"), ("copy", "copy_s", "s")):
            figure_id = f"docker.move-{figure}"
            values = [r[key] for r in runs]
            results.record(figure_id, WHAT[figure_id], values, span, "python -m bench.move", unit=unit, note=size)


if __name__ == "__main__":
    main()
