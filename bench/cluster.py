"""The cluster part of `make bench`: `make cluster` measured through nginx.

    python -m bench.cluster [--duration 20] [--levels 32,64] [--out results/bench] [--report reports/cluster.md]

1. The baseline, in the same conditions: one action server and one Rasa server on SQLite, as `make run`
   starts them (devtools/servers.py), at the first level.
2. For 1 and then 2 replicas: start `make cluster` (devtools/cluster.py) on free ports, then a closed-loop
   load over the REST webhook through nginx at each level (bench/loadgen.py): messages/s, latency, errors,
   CPU time per message (every process of the cluster, PostgreSQL included) and memory (PSS) per replica.
3. With 2 replicas under load, replica 0 is SIGKILLed a third into the run. Requests in flight fail
   (the load generator does not retry); afterwards every conversation's stored user turns are compared with
   what the load generator sent: a turn answered but not stored is lost, one stored twice is duplicated.
4. results/bench/cluster.json (raw) and reports/cluster.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench import loadgen
from bench.conversations import WARMUP_SEED
from bench.run import CpuMeter, _cpu_ticks_of, log, machine_info
from devtools.cluster import Cluster, request_json
from devtools.servers import NO_RATE_LIMITS, ROOT, Assistant, pid_listening_on, process_tree, process_tree_memory


def cluster_pids(cluster: Cluster) -> List[int]:
    """make and everything under it, and the PostgreSQL server (pg_ctl starts it on its own)."""
    return [pid for root in cluster_roots(cluster) for pid in process_tree(root)]


def replica_memory(cluster: Cluster) -> List[Dict[str, int]]:
    """PSS and RSS (bytes) of each Rasa replica with its action server."""
    rows = []
    for replica in range(cluster.replicas):
        rasa = process_tree_memory(cluster.rasa_pid(replica))
        action = process_tree_memory(pid_listening_on(cluster.action_port(replica)))
        rows.append({"rasa_pss": rasa["pss"], "rasa_rss": rasa["rss"], "action_pss": action["pss"],
                     "action_rss": action["rss"]})
    return rows


def role_of(pid: int) -> str:
    """Which part of the cluster a process is, from its command line."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    for role, marker in (("Rasa", "rasa_server run"), ("action servers", "rasa_sdk"), ("PostgreSQL", "postgres"),
                         ("nginx", "nginx"), ("Redis", "redis-server")):
        if marker in args:
            return role
    return "other"


def ticks_by_role(pids: List[int]) -> Counter:
    ticks: Counter = Counter()
    for pid in pids:
        ticks[role_of(pid)] += _cpu_ticks_of([pid])
    return ticks


def run_levels(url: str, pids: List[int], levels: List[int], duration: float, label: str) -> List[Dict[str, Any]]:
    asyncio.run(loadgen.run_level(url, 8, 5, label=f"{label}-warmup", seed=WARMUP_SEED))  # none of the levels' texts
    rows = []
    for concurrency in levels:
        before = ticks_by_role(pids)
        with CpuMeter(pids) as meter:
            level = asyncio.run(loadgen.run_level(url, concurrency, duration, label=label))
        used = ticks_by_role(pids) - before
        row = level.as_dict()
        row["cpu"] = meter.result
        row["cpu_share_by_role"] = {role: round(ticks / max(1, sum(used.values())), 3) for role, ticks in used.items()}
        cores = meter.result["servers_cores"]
        row["cpu_ms_per_message"] = round(1000 * cores * level.duration / max(1, level.messages), 1)
        log(f"  {label}, {concurrency} conversations: {level.throughput} msg/s, "
            f"p99 {level.p99_ms} ms, errors {level.errors}, {row['cpu_ms_per_message']} CPU ms/message")
        rows.append(row)
    return rows


def baseline(level: int, duration: float, workdir: Path) -> Dict[str, Any]:
    """One action server + one Rasa server on SQLite (make run's way), measured like the cluster."""
    log("baseline: one process on SQLite, as make run")
    # Without the rate limits, as the cluster runs under load (devtools/cluster.py): one address sends faster
    # than a person types, and the limits would answer most of the load with 429.
    assistant = Assistant(workdir=workdir / "baseline", model=ROOT / "models" / "cs-assistant.tar.gz",
                          extra_env=dict(NO_RATE_LIMITS))
    try:
        assistant.start()
        rows = run_levels(assistant.url, [assistant.rasa_server.pid, assistant.action_server.pid], [level],
                          duration, "make run")
        return {"levels": rows, "rasa_pss": process_tree_memory(assistant.rasa_server.pid)["pss"]}
    finally:
        assistant.stop()


def stored_user_turns(cluster: Cluster, sender: str, replica: int) -> int:
    status, tracker = request_json(f"{cluster.replica_url(replica)}/conversations/{sender}/tracker"
                                   f"?token={cluster.auth_token}", timeout=60)
    assert status == 200, f"{status}: {tracker}"
    return sum(1 for event in tracker["events"] if event["event"] == "user")


def replica_kill(cluster: Cluster, concurrency: int, duration: float) -> Dict[str, Any]:
    """Load through nginx, replica 0 SIGKILLed a third of the way in; then sent vs stored, per conversation."""
    samples: List[loadgen.Sample] = []

    async def load_and_kill() -> loadgen.LevelResult:
        run = asyncio.ensure_future(loadgen.run_level(cluster.url, concurrency, duration, label="kill",
                                                      samples=samples))
        await asyncio.sleep(duration / 3)
        cluster.kill_replica(0)
        return await run

    level = asyncio.run(load_and_kill())
    answered: Counter = Counter(s.sender for s in samples if s.ok)
    failed: Counter = Counter(s.sender for s in samples if not s.ok)
    lost = duplicated = failed_but_stored = 0
    for sender in set(answered) | set(failed):
        stored = stored_user_turns(cluster, sender, replica=1)
        lost += max(0, answered[sender] - stored)
        duplicated += max(0, stored - answered[sender] - failed[sender])
        failed_but_stored += max(0, min(failed[sender], stored - answered[sender]))
    result = {"concurrency": concurrency, "messages": level.messages, "errors": level.errors,
              "error_examples": level.error_examples, "answered": sum(answered.values()),
              "failed_but_stored": failed_but_stored, "lost_turns": lost, "duplicated_turns": duplicated,
              "throughput": level.throughput, "p99_ms": level.p99_ms, "max_ms": level.max_ms}
    log(f"  replica killed under {concurrency} conversations: {level.messages} messages, {level.errors} failed "
        f"in flight ({failed_but_stored} of them stored anyway), {lost} lost, {duplicated} duplicated")
    return result


def measure(levels: List[int], duration: float, workdir: Path) -> Dict[str, Any]:
    results: Dict[str, Any] = {"levels": levels, "duration_s": duration, "runs": {},
                               "baseline": baseline(min(levels), duration, workdir)}
    for replicas in (1, 2):
        log(f"make cluster with {replicas} replica(s)")
        cluster = Cluster(workdir=workdir / f"replicas-{replicas}", replicas=replicas)
        try:
            started = time.monotonic()
            cluster.start()
            run: Dict[str, Any] = {"start_seconds": round(time.monotonic() - started, 1)}
            run["levels"] = run_levels(cluster.url, cluster_pids(cluster), levels, duration,
                                       f"{replicas} replica(s)")
            run["memory_per_replica"] = replica_memory(cluster)
            run["cluster_pss"] = sum(process_tree_memory(pid)["pss"] for pid in cluster_roots(cluster))
            if replicas == 2:
                run["replica_kill"] = replica_kill(cluster, min(levels), duration)
            results["runs"][str(replicas)] = run
        finally:
            cluster.stop()
    return results


def cluster_roots(cluster: Cluster) -> List[int]:
    """The processes whose trees make up the cluster: make, and PostgreSQL's postmaster."""
    roots = [cluster.process.pid]
    postmaster = cluster.state_dir / "postgres" / "postmaster.pid"
    if postmaster.exists():
        roots.append(int(postmaster.read_text().split()[0]))
    return roots


def render(results: Dict[str, Any], machine: Dict[str, Any]) -> str:
    mib = 2**20
    lines = ["# Several replicas behind nginx (`make cluster`)", "",
             f"{machine['date']}, {machine['cores']} cores ({machine['cpu']}), load average at start "
             f"{machine['loadavg_at_start'][0]:.1f}; commit {machine['commit']}. Produced by `python -m bench.cluster` "
             "(part of `make bench`): closed-loop REST load through nginx, "
             f"{results['duration_s']:.0f} s per level.", "",
             "| replicas | conversations | messages/s | p50 ms | p99 ms | errors | CPU ms per message |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for row in results["baseline"]["levels"]:
        lines.append(f"| `make run` (1 process, SQLite) | {row['concurrency']} | {row['throughput']} | "
                     f"{row['p50_ms']} | {row['p99_ms']} | {row['errors']} | {row['cpu_ms_per_message']} |")
    for replicas, run in results["runs"].items():
        for row in run["levels"]:
            lines.append(f"| {replicas} | {row['concurrency']} | {row['throughput']} | {row['p50_ms']} | "
                         f"{row['p99_ms']} | {row['errors']} | {row['cpu_ms_per_message']} |")
    shares = results["runs"]["2"]["levels"][0]["cpu_share_by_role"]
    lines += ["", "Where the CPU went (2 replicas, first level): " + ", ".join(
        f"{role} {share:.0%}" for role, share in sorted(shares.items(), key=lambda item: -item[1])) + "."]
    lines += ["", "| replicas | whole cluster PSS | per replica: Rasa PSS (RSS) | action server PSS (RSS) |",
              "|---:|---:|---:|---:|"]
    for replicas, run in results["runs"].items():
        first = run["memory_per_replica"][-1]
        lines.append(f"| {replicas} | {run['cluster_pss'] / mib:.0f} MiB | {first['rasa_pss'] / mib:.0f} "
                     f"({first['rasa_rss'] / mib:.0f}) MiB | {first['action_pss'] / mib:.0f} "
                     f"({first['action_rss'] / mib:.0f}) MiB |")
    kill = results["runs"].get("2", {}).get("replica_kill")
    if kill:
        lines += ["", f"Replica 0 SIGKILLed a third into a {results['duration_s']:.0f} s run at "
                  f"{kill['concurrency']} conversations: {kill['messages']} messages, {kill['errors']} failed in "
                  f"flight ({kill['failed_but_stored']} of them stored before the reply was lost), "
                  f"**{kill['lost_turns']} answered turns lost, {kill['duplicated_turns']} duplicated**; "
                  f"p99 {kill['p99_ms']} ms, slowest {kill['max_ms']} ms. The load generator does not retry; "
                  "a client that does (same `metadata.message_id`) gets the stored answer, not a second turn."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per load level")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[32, 64])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "cluster.md")
    args = parser.parse_args(argv)
    machine = machine_info()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as workdir:
        results = measure(args.levels, args.duration, Path(workdir))
    (args.out / "cluster.json").write_text(json.dumps({"machine": machine, **results}, indent=1), encoding="utf-8")
    args.report.write_text(render(results, machine), encoding="utf-8")
    log(f"report: {args.report}")


if __name__ == "__main__":
    main()
