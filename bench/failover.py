"""bench/failover: what a Sentinel-aware client sees when the master fails, and what the master config costs.

A benchmark, not a test: it starts real redis-server / redis-sentinel processes through the project's own
entrypoints (harness/local.py, loopback only, free ports, always stopped) and prints its figures.

    venv/bin/python -m bench.failover            # 5 runs each, about 3-4 minutes on 2 cores
    venv/bin/python -m bench.failover --quick    # 1 run each, under a minute

A full run (not --quick) records its gaps in bench/results.json (bench/results.py), which the docs quote.

The client is harness/writer.py: redis-py's Sentinel client configured as docs/clients.md recommends, 4 writes in
flight, a write acknowledged when the server answered OK (no WAIT); beside it 4 more threads that count a write only
once `WAIT 1` confirmed it. Every figure is given for both.

Figures:
- write gap after SIGKILL of the master (last acknowledged write before the kill to the first after),
  at down-after 5000 ms (the default failover-timeout 60000) and 1000 ms (failover-timeout 10000);
- acknowledged writes lost in those runs (without WAIT, and with WAIT 1);
- the master paused (SIGSTOP of its process group, like `docker pause`) until the Sentinels name another master
  and writes flow to it, then resumed (SIGCONT): write gap, pause, and how soon after resuming it is a replica;
- write gap of a planned failover at the default timings: SENTINEL FAILOVER on one Sentinel, and (where the
  project renders it) the master's prestop.sh, which pauses writes before asking for the failover;
- SET/GET throughput of the project's master (rendered redis.conf, 2 replicas attached) over a bare
  redis-server, redis-benchmark runs interleaved, median ratio.
Each SIGKILL run also prints when each Sentinel event happened (seconds after the kill), from the logs.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import redis

from bench import results
from components.render import redis_files
from components.settings import Settings
from harness.local import LocalDeployment, free_ports, require_binaries
from harness.runtime import wait_until
from harness.writer import TARGET_PLANNED_GAP, Writer

TARGET_SIGKILL_GAP = 6.0  # seconds, median at down-after 5000
TARGET_RATIO = 0.85  # project master / bare redis-server, SET and GET
# Sentinel events in failover order; each run reports when the first Sentinel logged each, after the fault.
EVENTS = (
    "+sdown",
    "+odown",
    "+elected-leader",
    "+selected-slave",
    "+promoted-slave",
    "+switch-master",
    "+convert-to-slave",  # a demoted master that still says master is told REPLICAOF (planned failover)
)
FIRST_SENTINEL = ("+sdown", "+odown", "+switch-master", "+convert-to-slave")  # else: the leader's events
LOG_LINE = re.compile(r"^\d+:X (\d+ \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3}) \S (\S+) (.*)$")
BENCH_USER = "bench"  # runtime-only ACL user without password: redis-benchmark reads no password from env


@dataclass
class Run:
    gap: float  # longest time between two acknowledged writes, from the last one before the fault
    phases: dict[str, float] = field(default_factory=dict)  # Sentinel event -> seconds after the fault
    resumed: float = 0.0  # end of the longest gap: when writes resumed, seconds after the fault
    aborts: list[str] = field(default_factory=list)  # -failover-abort-* events
    noreplicas: int = 0  # writes refused with NOREPLICAS after the fault
    wait_gap: float = 0.0  # the same gap for the writes confirmed by WAIT 1
    pause: float = 0.0  # paused runs: how long the master was paused
    demoted: float = 0.0  # paused runs: from SIGCONT until the old master is a replica

    def describe(self) -> str:
        phases = " ".join(f"{name.lstrip('+')} {self.phases[name]:.2f}" for name in EVENTS if name in self.phases)
        extra = f" | aborts: {', '.join(self.aborts)}" if self.aborts else ""
        extra += f" | NOREPLICAS x{self.noreplicas}" if self.noreplicas else ""
        extra += f" | paused {self.pause:.2f}, a replica {self.demoted:.2f} s after resuming" if self.pause else ""
        return (
            f"gap {self.gap:5.2f} s (WAIT 1: {self.wait_gap:5.2f}) | {phases} | writes resume {self.resumed:.2f}{extra}"
        )


@dataclass
class Section:
    title: str
    runs: list[Run]
    acknowledged: int
    lost: int
    wait_acknowledged: int
    wait_lost: int
    target: float | None = None  # seconds, median gap


# --- a deployment and its writer ------------------------------------------------------------------
def start_deployments(deployments: list[LocalDeployment], info_period: int) -> None:
    """Start them together (each takes a few seconds for its Sentinels to discover the replicas), until healthy."""
    for deployment in deployments:
        deployment.start_all(wait=False)
    for deployment in deployments:
        deployment.wait_healthy(timeout=60)
        for node in deployment.topology.sentinels if info_period else ():  # runtime only: no config-file form
            deployment.client(node.name).execute_command("SENTINEL", "DEBUG", "INFO-PERIOD", info_period)


def start_writer(deployment: LocalDeployment) -> Writer:
    writer = deployment.writer(wait_replicas=1).start()
    writer.wait_for_writes(50)
    return writer


def finish_writer(writer: Writer) -> tuple[int, int, int, int]:
    """Stop the writer; (acknowledged, lost, with WAIT acknowledged, with WAIT lost); then delete its keys so
    the next writer starts clean."""
    writer.stop()
    counts = writer.counts()
    writer.delete_keys()
    print(
        f"  acknowledged writes {counts['acknowledged']}, lost {counts['lost']}; "
        f"with WAIT 1: {counts['wait_acknowledged']}, lost {counts['wait_lost']}"
    )
    return counts["acknowledged"], counts["lost"], counts["wait_acknowledged"], counts["wait_lost"]


def current_master(deployment: LocalDeployment) -> str | None:
    """The node every Sentinel names master; None while they disagree."""
    answers = set(deployment.sentinel_masters().values())
    return answers.pop() if len(answers) == 1 and None not in answers else None


def failing_over(deployment: LocalDeployment) -> bool:
    """A Sentinel still runs a failover (its leader ends one only once every replica is reconfigured)."""
    for node in deployment.topology.sentinels:
        state = deployment.client(node.name).execute_command("SENTINEL", "MASTER", deployment.topology.master_name)
        state = dict(zip(state[::2], state[1::2])) if isinstance(state, list) else state
        if "failover_in_progress" in state["flags"]:
            return True
    return False


def sentinel_events(deployment: LocalDeployment, since: float) -> list[tuple[float, str, str]]:
    """(wall time, event, details) of every Sentinel log line at or after `since`, in time order."""
    events = []
    for node in deployment.topology.sentinels:
        path = deployment.nodes[node.name].log_path
        for line in path.read_text(errors="replace").splitlines():
            match = LOG_LINE.match(line)
            if match:
                when = datetime.strptime(match.group(1), "%d %b %Y %H:%M:%S.%f").timestamp()
                if when >= since - 0.002:  # the log has milliseconds
                    events.append((when, match.group(2), match.group(3)))
    return sorted(events)


def measure_fault(deployment: LocalDeployment, writer: Writer, fault, timeout: float) -> tuple[Run, str]:
    """Apply fault(old master name), wait until every Sentinel names another master and 20 more writes are
    acknowledged; return the Run and the old master's name."""
    wait_until(lambda: not failing_over(deployment), timeout=120, what="the last failover to end")
    old = wait_until(lambda: current_master(deployment), timeout=30, what="the Sentinels to agree")
    wall, mono = time.time(), time.monotonic()
    fault(old)
    wait_until(
        lambda: current_master(deployment) not in (None, old),
        timeout=timeout,
        interval=0.05,
        what="the Sentinels to name a new master",
    )
    settled = time.monotonic()
    end = wait_until(
        lambda: ([t for t in writer.successes if t > settled][19:] or [None])[0],
        timeout=30,
        what="20 writes after the failover",
    )
    writer.wait_for_writes(1, timeout=30)  # the writers with WAIT 1 write again too
    successes = sorted(writer.successes)
    before = [t for t in successes if t < mono]
    window = before[-1:] + [t for t in successes if mono <= t <= end]
    gap, resumed = max((b - a, b) for a, b in zip(window, window[1:]))
    run = Run(gap=gap, resumed=resumed - mono, wait_gap=writer.longest_replicated_gap(after=mono))
    for when, event, details in sentinel_events(deployment, wall):
        if event.startswith("-failover-abort"):
            run.aborts.append(event)
        if event in EVENTS and (event not in ("+sdown", "+odown") or details.startswith("master")):
            if event in FIRST_SENTINEL:
                run.phases.setdefault(event, when - wall)  # the first Sentinel
            elif "+switch-master" not in run.phases:
                run.phases[event] = when - wall  # the leader of the attempt that succeeded
    errors = [error.split(" ", 1) for error in writer.errors]
    run.noreplicas = sum(float(t) >= mono and "NOREPLICAS" in text for t, text in errors)
    return run, old


# --- sections -------------------------------------------------------------------------------------
def sigkill_section(deployment: LocalDeployment, runs: int, info_period: int, pause) -> Section:
    settings = deployment.settings
    title = (
        f"SIGKILL master, down-after {settings.down_after_milliseconds} ms, "
        f"failover-timeout {settings.failover_timeout} ms, min-replicas-to-write {settings.min_replicas_to_write}"
        + (f", SENTINEL DEBUG INFO-PERIOD {info_period}" if info_period else "")
    )
    print(f"\n== {title}", flush=True)
    writer = start_writer(deployment)
    results = []
    for i in range(1, runs + 1):
        time.sleep(pause())
        run, killed = measure_fault(
            deployment, writer, deployment.kill, timeout=2 * settings.failover_timeout / 1000 + 30
        )
        print(f"  run {i}: {run.describe()}", flush=True)
        results.append(run)
        deployment.start(killed)  # its entrypoint asks the Sentinels: it comes back as a replica
        deployment.wait_healthy(timeout=60)
    target = TARGET_SIGKILL_GAP if settings.down_after_milliseconds == 5000 else None
    return Section(title, results, *finish_writer(writer), target)


def pause_section(deployment: LocalDeployment, runs: int, pause) -> Section:
    """The master paused (SIGSTOP of its process group: redis-server and its watcher, as `docker pause` freezes
    a container) until every Sentinel names another master and writes flow to it, then resumed (SIGCONT)."""
    title = f"master paused past down-after, then resumed, down-after {deployment.settings.down_after_milliseconds} ms"
    print(f"\n== {title}", flush=True)
    writer = start_writer(deployment)
    results = []
    stamps: list[float] = []

    def stop(old: str) -> None:
        stamps.append(time.monotonic())
        deployment.pause(old)

    for i in range(1, runs + 1):
        time.sleep(pause())
        run, old = measure_fault(deployment, writer, stop, timeout=60)
        paused_at = stamps[-1]
        resumed = time.monotonic()
        deployment.resume(old)
        wait_until(lambda o=old: deployment.role(o) == "slave", 30, 0.02, what="the old master to be a replica")
        run.demoted = time.monotonic() - resumed
        run.pause = resumed - paused_at
        writer.wait_for_writes(50)
        # the outage counts until writes flow after the resume too (a client left on the old master)
        run.gap = max(run.gap, writer.longest_gap(after=paused_at))
        run.wait_gap = writer.longest_replicated_gap(after=paused_at)
        print(f"  run {i}: {run.describe()}", flush=True)
        results.append(run)
        deployment.wait_healthy(timeout=60)
    return Section(title, results, *finish_writer(writer))


def planned_section(deployment: LocalDeployment, runs: int, pause, prestop: bool) -> Section:
    """Planned failovers: SENTINEL FAILOVER on one Sentinel, or the project's prestop.sh on the master."""
    how = "the master's prestop.sh" if prestop else "SENTINEL FAILOVER on one Sentinel"
    title = f"planned failover ({how}), down-after {deployment.settings.down_after_milliseconds} ms"
    print(f"\n== {title}", flush=True)
    sentinel = deployment.topology.sentinels[0].name

    def failover(old: str) -> None:
        if prestop:
            done = deployment.run_script(f"{old}/prestop.sh", timeout=60)
            if done.returncode:
                raise RuntimeError(f"prestop.sh on {old} exited {done.returncode}: {done.stderr}")
        else:
            client = deployment.client(sentinel)
            client.execute_command("SENTINEL", "FAILOVER", deployment.topology.master_name)

    writer = start_writer(deployment)
    results = []
    for i in range(1, runs + 1):
        time.sleep(pause())
        run, _ = measure_fault(deployment, writer, failover, timeout=60)
        print(f"  run {i}: {run.describe()}", flush=True)
        results.append(run)
        deployment.wait_healthy(timeout=60)
    return Section(title, results, *finish_writer(writer), TARGET_PLANNED_GAP)


def redis_benchmark(port: int, requests: int) -> dict[str, float]:
    """requests/s by test (SET, GET); authenticates as the password-less runtime user, so no secret in argv."""
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--user", BENCH_USER, "-a", "unused"]
    argv += ["-t", "set,get", "-n", str(requests), "-c", "50", "-P", "1", "-r", "100000", "--csv"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True).stdout
    return {row["test"]: float(row["rps"]) for row in csv.DictReader(out.splitlines())}


def throughput_section(deployment: LocalDeployment, root: Path, rounds: int, requests: int) -> dict[str, list]:
    """redis-benchmark on the project's master and on a bare redis-server, interleaved (the order rotates each
    round); ratios project/bare by test. A third run per round pauses (SIGSTOP) the replicas while it runs the
    project's master: the master still feeds them, but they take no CPU, which on a 2-core machine running
    master, replicas and redis-benchmark together separates the config's cost from co-location."""
    print(
        f"\n== throughput: redis-benchmark -t set,get -n {requests} -c 50 -P 1 -r 100000, {rounds} rounds", flush=True
    )
    master = wait_until(lambda: current_master(deployment), timeout=30, what="the Sentinels to agree")
    replicas = [name for name in deployment.nodes if name != master and not deployment.nodes[name].is_sentinel]
    ports = {"project": deployment.nodes[master].port, "bare": free_ports(1)[0]}
    bare_dir = root / "bare"
    bare_dir.mkdir(parents=True, exist_ok=True)
    with open(bare_dir / "redis.log", "wb") as log:
        bare = subprocess.Popen(
            ["redis-server", "--port", str(ports["bare"]), "--bind", "127.0.0.1", "--dir", str(bare_dir)]
            + ["--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    clients = [deployment.client(master), redis.Redis(port=ports["bare"], socket_timeout=2)]
    try:
        wait_until(clients[1].ping, timeout=10, what="the bare redis-server")
        for client in clients:
            client.execute_command("ACL", "SETUSER", BENCH_USER, "on", "nopass", "~*", "&*", "+@all")
        ratios: dict[str, list] = {"SET": [], "GET": [], "SET, replicas paused": []}
        names = ["project", "bare", "paused"]
        for i in range(rounds):
            rps = {}
            for name in names[i % 3 :] + names[: i % 3]:
                paused = replicas if name == "paused" else []
                for replica in paused:
                    deployment.pause(replica)
                try:
                    rps[name] = redis_benchmark(ports.get(name, ports["project"]), requests)
                finally:
                    for replica in paused:
                        deployment.resume(replica)
                if paused:
                    deployment.wait_healthy(timeout=30)  # the replicas caught up
            for test in ("SET", "GET"):
                ratios[test].append(rps["project"][test] / rps["bare"][test])
            ratios["SET, replicas paused"].append(rps["paused"]["SET"] / rps["bare"]["SET"])
            print(
                f"  round {i + 1}: SET/s project {rps['project']['SET']:.0f}, bare {rps['bare']['SET']:.0f}, "
                f"replicas paused {rps['paused']['SET']:.0f}; GET/s project {rps['project']['GET']:.0f}, "
                f"bare {rps['bare']['GET']:.0f}",
                flush=True,
            )
        clients[0].execute_command("ACL", "DELUSER", BENCH_USER)
        return ratios
    finally:
        bare.terminate()
        bare.wait(timeout=10)


# --- report ---------------------------------------------------------------------------------------
def spread(values: list[float], unit: str = " s") -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}{unit} (1 run)"
    return f"{statistics.median(values):.2f}{unit} (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def median_phases(runs: list[Run]) -> str:
    parts = []
    for name in EVENTS:
        values = [run.phases[name] for run in runs if name in run.phases]
        if values:
            parts.append(f"{name.lstrip('+')} {statistics.median(values):.2f}")
    parts.append(f"writes resume {statistics.median(run.resumed for run in runs):.2f}")
    return " ".join(parts)


def lost_row(section_or_sections) -> str:
    sections = section_or_sections if isinstance(section_or_sections, list) else [section_or_sections]
    lost, acknowledged = sum(s.lost for s in sections), sum(s.acknowledged for s in sections)
    wait_lost, wait_acknowledged = sum(s.wait_lost for s in sections), sum(s.wait_acknowledged for s in sections)
    return f"{lost} of {acknowledged}; WAIT 1: {wait_lost} of {wait_acknowledged}"


def summary(sigkill: list[Section], planned: list[Section], ratios: dict | None, paused: list[Section]) -> None:
    rows = []  # (figure, measured, target, met)

    def row(figure: str, measured: str, target: str = "", met: bool | None = None) -> None:
        rows.append((figure, measured, target or "-", "-" if met is None else "yes" if met else "NO"))

    def gap_row(section: Section, figure: str) -> None:
        gaps = [run.gap for run in section.runs]
        if section.target is None:
            row(figure, spread(gaps))
        else:
            row(figure, spread(gaps), f"<= {section.target} s", statistics.median(gaps) <= section.target)

    for section in sigkill:
        gap_row(section, section.title.replace("SIGKILL master, ", "gap after SIGKILL, "))
        row("  gap of the writers with WAIT 1", spread([run.wait_gap for run in section.runs]))
        row("  failover attempts aborted (Sentinel logs)", str(sum(len(run.aborts) for run in section.runs)))
    row("acknowledged writes lost in the SIGKILL runs", lost_row(sigkill), "0", not sum(s.lost for s in sigkill))
    for section in paused:
        over = [run.gap - run.pause for run in section.runs]
        row(f"gap minus pause, {section.title}", spread(over), "<= 1.0 s", max(over) <= 1.0)
        row("  pause (SIGSTOP to SIGCONT)", spread([run.pause for run in section.runs]))
        row("  gap of the writers with WAIT 1", spread([run.wait_gap for run in section.runs]))
        row("  old master a replica, after SIGCONT", spread([run.demoted for run in section.runs]))
        row("  acknowledged writes lost", lost_row(section), "0", not section.lost)
    for section in planned:
        gap_row(section, f"gap of a {section.title}")
        row("  gap of the writers with WAIT 1", spread([run.wait_gap for run in section.runs]))
        row("  acknowledged writes lost", lost_row(section), "0", not section.lost)
    for test in ("SET", "GET") if ratios else ():
        ratio = statistics.median(ratios[test])
        name = f"{test} throughput, project master / bare redis-server"
        row(name, spread(ratios[test], ""), f">= {TARGET_RATIO}", ratio >= TARGET_RATIO)
    if ratios:
        row("  SET, replicas paused (master-side cost only)", spread(ratios["SET, replicas paused"], ""))
    width = max(len(r[0]) for r in rows)
    print("\n== summary: median (min, max) over runs")
    print(f"{'figure':<{width}}  {'measured':<40}  {'target':<8}  met")
    for figure, measured, target, met in rows:
        print(f"{figure:<{width}}  {measured:<40}  {target:<8}  {met}")
    for section in sigkill + paused + planned:
        print(f"\nmedian timeline (s after the fault), {section.title}:\n  {median_phases(section.runs)}")


def record(sigkill: list[Section], planned: list[Section], span: results.LoadSpan) -> None:
    """Each gap at the default settings into bench/results.json, under the id the docs quote it by."""
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    redis_version = next((word[2:] for word in version if word.startswith("v=")), "unknown")
    ids = {  # the start of a section's title -> the figure's id
        "SIGKILL master, down-after 5000 ms,": "loopback.sigkill-gap",
        "SIGKILL master, down-after 1000 ms,": "loopback.sigkill-gap-1000",
        "planned failover (the master's prestop.sh), down-after 5000 ms": "loopback.prestop-gap",
        "planned failover (SENTINEL FAILOVER on one Sentinel), down-after 5000 ms": "loopback.sentinel-failover-gap",
    }
    for section in sigkill + planned:
        figure_id = next((ids[start] for start in ids if section.title.startswith(start)), None)
        if figure_id is None or "INFO-PERIOD" in section.title:
            continue
        results.record(
            figure_id,
            f"loopback: write gap, {section.title}",
            [run.gap for run in section.runs],
            span,
            "python -m bench.failover",
            note=f"{section.lost} of {section.acknowledged} acknowledged writes lost",
            redis=redis_version,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="failovers per figure (default 5)")
    parser.add_argument("--quick", action="store_true", help="1 run each, shorter redis-benchmark")
    parser.add_argument(
        "--down-after",
        default="5000,1000",
        help="down-after values (ms) for SIGKILL runs; the first also hosts the planned failovers and throughput",
    )
    parser.add_argument(
        "--info-period", type=int, default=0, help="SENTINEL DEBUG INFO-PERIOD ms (0: keep the entrypoint's 1000)"
    )
    parser.add_argument("--min-replicas-to-write", type=int, default=Settings.min_replicas_to_write)
    parser.add_argument("--no-planned", action="store_true", help="skip the planned failover runs")
    parser.add_argument("--no-pause", action="store_true", help="skip the paused-master runs")
    parser.add_argument("--no-throughput", action="store_true", help="skip redis-benchmark")
    parser.add_argument("--requests", type=int, default=0, help="redis-benchmark -n (default 100000, quick 50000)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random pauses before each fault")
    parser.add_argument("--keep", action="store_true", help="keep the deployments' directories and logs")
    parser.add_argument("--no-record", action="store_true", help="do not update bench/results.json")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    requests = args.requests or (50_000 if args.quick else 100_000)
    rounds = 2 if args.quick else 3
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    rng = random.Random(seed)

    def pause() -> float:  # before each fault, so faults hit Sentinel's 1 s and 10 s cycles at random phases
        return rng.uniform(0.5, 2)

    require_binaries()
    if shutil.which("redis-benchmark") is None and not args.no_throughput:
        raise SystemExit("redis-benchmark is missing: install Debian's redis-tools")
    span = results.LoadSpan()
    root = Path(tempfile.mkdtemp(prefix="festival-bench-"))
    print(f"bench/failover: {runs} run(s) per figure, seed {seed}, processes under {root}")
    started = time.monotonic()
    sigkill, planned, paused, ratios = [], [], [], None
    deployments = []
    for down_after in (int(value) for value in args.down_after.split(",")):
        # failover-timeout must exceed down-after: the default 60000 at 5000, 10000 at shorter ones
        settings = Settings(
            down_after_milliseconds=down_after,
            failover_timeout=60000 if down_after >= 5000 else 10000,
            min_replicas_to_write=args.min_replicas_to_write,
        )
        deployments.append(LocalDeployment(settings, root / f"down-after-{down_after}"))
    try:
        start_deployments(deployments, args.info_period)
        # the first deployment (the default timings) also hosts the planned failovers and redis-benchmark: it
        # goes last, once the others are stopped, so nothing else runs beside redis-benchmark
        for deployment in deployments[1:] + deployments[:1]:
            sigkill.append(sigkill_section(deployment, runs, args.info_period, pause))
            if not args.no_pause:
                paused.append(pause_section(deployment, runs, pause))
            if deployment is deployments[0] and not args.no_planned:
                # SENTINEL FAILOVER's gap is Sentinel's fixed 8 s wait before it demotes the old master
                # (+convert-to-slave, 4 publish periods): 3 runs show it, 5 would only cost 25 s more
                planned.append(planned_section(deployment, min(runs, 3), pause, prestop=False))
                if "prestop.sh" in redis_files(deployment.settings, deployment.topology):  # the preStop hook
                    planned.append(planned_section(deployment, runs, pause, prestop=True))
            if deployment is deployments[0] and not args.no_throughput:
                ratios = throughput_section(deployment, root, rounds, requests)
            deployment.stop_all()
        sigkill, paused = sigkill[-1:] + sigkill[:-1], paused[-1:] + paused[:-1]  # the default timings first
        summary(sigkill, planned, ratios, paused)
        if not (args.quick or args.no_record or args.min_replicas_to_write != Settings.min_replicas_to_write):
            record(sigkill, planned, span)
        print(f"\n(total {time.monotonic() - started:.0f} s; seed {seed})")
    finally:
        for deployment in deployments:
            deployment.stop_all()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
