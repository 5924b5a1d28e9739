"""bench/docker: what the dev stack's containers cost an application, on the local Docker engine.

Runs the program's own declaration (harness/docker_runner.py: every container as `pulumi up` would create it, on a
labelled network of its own, ports on 127.0.0.1 only, removed at the end) and prints:
- the time from nothing to verified healthy (image present);
- the write gap after `docker kill` of the master, at the default Sentinel timings (down-after 5000 ms);
- the planned hand-over: `docker stop` of the master (its entrypoint hands the role over on SIGTERM);
- the outage of a config change that replaces the Redis containers;
- at realistic size: the master's dataset at 80 % of maxmemory, an AOF rewrite and a replica's full resync under
  writes, each node's peak memory (the cgroup's high-water mark) against its declared limit, OOM kills; then the
  master's crash-and-restart outage at that size.
Each with the writer's counts: acknowledged and lost without WAIT (what applications see), and with WAIT 1.

    venv/bin/python -m bench.docker [--runs N] [--skip-memory] [--no-record]

Its figures go into bench/results.json (bench/results.py), which the docs quote.
"""

from __future__ import annotations

import argparse
import random
import threading
import time

import redis

from bench import results
from components import users
from harness.docker_runner import DockerDeployment
from harness.program import run_program
from harness.runtime import wait_until

DEFAULT_TIMINGS = {"downAfterMilliseconds": 5000, "failoverTimeout": 60000}
VALUE = b"x" * 1024


def measure(deployment: DockerDeployment, fault, settle: float = 60) -> dict:
    """Run `fault` under a writer; the gap of acknowledged writes around it and both lost counts."""
    writer = deployment.writer(wait_replicas=1).start()
    try:
        writer.wait_for_writes(100)
        started = time.monotonic()
        fault()
        deployment.wait_healthy(timeout=settle)
        writer.wait_for_writes(100, timeout=30)
    finally:
        writer.stop()
    result = {"gap_s": round(writer.longest_gap(after=started - 0.5), 2), **writer.counts()}
    writer.delete_keys()
    return result


def lifecycle(run: int, figures: dict[str, list[float]]) -> None:
    """One deployment's lifecycle; adds its healthy time and gaps to `figures` (figure id -> values)."""
    deployment = DockerDeployment(**DEFAULT_TIMINGS)
    try:
        deployment.deploy()
        print(f"run {run}: nothing to verified healthy: {deployment.healthy_seconds:.1f} s")
        figures["docker.healthy"].append(deployment.healthy_seconds)
        master = deployment.master()
        killed = measure(deployment, lambda: _kill(deployment, master))
        print("  docker kill of the master:", killed)
        figures["docker.kill-gap"].append(killed["gap_s"])
        master = deployment.master()
        stopped = measure(deployment, lambda: _stop(deployment, master))
        print("  planned hand-over (docker stop):", stopped)
        figures["docker.handover-gap"].append(stopped["gap_s"])
        changed = run_program("dev", {**deployment.overrides, "maxmemory": "256mb"})
        replaced = measure(deployment, lambda: deployment.replace_changed(changed))
        print("  config change (maxmemory), Redis containers replaced:", replaced)
    finally:
        deployment.teardown()


def _kill(deployment: DockerDeployment, name: str) -> None:
    deployment.kill(name)
    deployment.wait_for_new_master(f"{name}", timeout=30)
    deployment.start(name)


def _stop(deployment: DockerDeployment, name: str) -> None:
    deployment.stop(name, timeout=60)
    deployment.start(name)


class RssSampler:
    """Samples each Redis container's resident memory (cgroup rss: what an OOM kill counts; the page cache the
    kernel reclaims first is left out) every 0.2 s, and keeps the peak."""

    def __init__(self, deployment: DockerDeployment):
        self.deployment, self.peaks = deployment, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name in self.deployment.redis_names():
                try:
                    stats = self.deployment.engine.api.stats(name, stream=False)["memory_stats"]["stats"]
                except Exception:  # a container being recreated
                    continue
                rss = stats.get("total_rss", stats.get("rss", 0))
                self.peaks[name] = max(self.peaks.get(name, 0), rss)
            time.sleep(0.2)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def peak(deployment: DockerDeployment, name: str, rss_peak: int) -> dict:
    container = deployment.container(name)
    stats = container.stats(stream=False)["memory_stats"]
    limit = container.attrs["HostConfig"]["Memory"]
    return {
        "rss_peak_mib": round(rss_peak / 1024**2),
        "rss_peak_of_limit": round(rss_peak / limit, 2),
        "usage_peak_mib": round(stats.get("max_usage", 0) / 1024**2),  # with the page cache
        "limit_mib": round(limit / 1024**2),
        "oom_killed": container.attrs["State"]["OOMKilled"],
    }


def fill(client: redis.Redis, fraction: float) -> int:
    """SET 1 KiB values until used_memory reaches `fraction` of maxmemory; the key count."""
    target = int(client.config_get("maxmemory")["maxmemory"]) * fraction
    n = 0
    while int(client.info("memory")["used_memory"]) < target:
        pipe = client.pipeline(transaction=False)
        for _ in range(2000):
            pipe.set(f"fill:{n}", VALUE)
            n += 1
        pipe.execute()
    return n


def overwrite(deployment: DockerDeployment, keys: int, stop: threading.Event) -> None:
    """Rewrite random existing values while a fork runs: the copy-on-write a real workload causes."""
    client = redis.Redis(**_master_connection(deployment))
    while not stop.is_set():
        pipe = client.pipeline(transaction=False)
        for _ in range(200):
            pipe.set(f"fill:{random.randrange(keys)}", VALUE)
        try:
            pipe.execute()
        except redis.RedisError:
            time.sleep(0.1)


def _master_connection(deployment: DockerDeployment) -> dict:
    mapped = deployment.outputs["natMap"][f"{deployment.master()}:6379"]
    # the admin user: the bench also asks for AOF rewrites and full resyncs
    admin = {"username": users.ADMIN.name, "password": deployment.password(users.ADMIN.key)}
    return {"host": mapped["host"], "port": mapped["port"], **admin}


def memory() -> float:
    """The realistic-size run; returns the peak resident memory of a full resync over the dataset."""
    deployment = DockerDeployment(**DEFAULT_TIMINGS)
    try:
        deployment.deploy()
        master = deployment.master()
        client = redis.Redis(**_master_connection(deployment), socket_timeout=30)
        started = time.monotonic()
        keys = fill(client, 0.8)
        used = int(client.info("memory")["used_memory"])
        print(
            f"dataset: {keys} keys, used_memory {used / 1024**2:.0f} MiB, filled in {time.monotonic() - started:.0f} s"
        )
        deployment.wait_healthy(timeout=120)

        stop = threading.Event()
        writes = threading.Thread(target=overwrite, args=(deployment, keys, stop), daemon=True)
        writes.start()
        writer = deployment.writer(wait_replicas=1).start()
        try:
            with RssSampler(deployment) as sampler:
                try:
                    client.bgrewriteaof()
                except redis.ResponseError as error:  # the fill's own automatic rewrite: measure that one
                    if "already in progress" not in str(error):
                        raise
                wait_until(
                    lambda: int(client.info("persistence")["aof_rewrite_in_progress"]) == 0,
                    120,
                    interval=0.5,
                    what="the AOF rewrite to finish",
                )
            peaks = {name: peak(deployment, name, sampler.peaks.get(name, 0)) for name in deployment.redis_names()}
            print("AOF rewrite under writes:", peaks)

            replica = next(name for name in deployment.redis_names() if name != master)
            with RssSampler(deployment) as sampler:
                deployment.remove_with_volume(replica)
                deployment.recreate(replica)
                deployment.wait_healthy(timeout=180)
            peaks = {name: peak(deployment, name, sampler.peaks.get(name, 0)) for name in deployment.redis_names()}
            print("full resync of", replica, peaks)
            resync_ratio = max(sampler.peaks.values()) / used
        finally:
            stop.set()
            writes.join(timeout=10)
            writer.stop()
        print("writer during rewrite and resync:", writer.counts())
        writer.delete_keys()

        master = deployment.master()
        print(
            "crash and restart of the master at that size:",
            measure(deployment, lambda: (deployment.kill(master), deployment.start(master)), settle=180),
        )
    finally:
        deployment.teardown()
    return resync_ratio


WHAT = {
    "docker.healthy": "Docker: nothing to verified healthy (image present)",
    "docker.kill-gap": "Docker: write gap after `docker kill` of the master, down-after 5000 ms",
    "docker.handover-gap": "Docker: write gap of a planned hand-over, `docker stop` of the master (prestop.sh on "
    "SIGTERM), down-after 5000 ms",
    "docker.resync-peak-memory": "Docker: peak resident memory of a replica's full resync with the dataset at 80 % "
    "of maxmemory, under writes",
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.docker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="lifecycle runs (default 3)")
    parser.add_argument("--skip-memory", action="store_true", help="skip the realistic-size memory measurement")
    parser.add_argument("--no-record", action="store_true", help="do not update bench/results.json")
    args = parser.parse_args()
    span = results.LoadSpan()
    figures: dict[str, list[float]] = {key: [] for key in WHAT}
    for run in range(1, args.runs + 1):
        lifecycle(run, figures)
    if not args.skip_memory:
        figures["docker.resync-peak-memory"].append(memory())
    for figure_id, values in figures.items():
        if values and not args.no_record:
            unit = "x the dataset" if figure_id == "docker.resync-peak-memory" else "s"
            results.record(figure_id, WHAT[figure_id], values, span, "python -m bench.docker", unit=unit)


if __name__ == "__main__":
    main()
