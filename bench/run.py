"""`make bench`: how fast the assistant answers and how it grows, against Rasa's default setup.

    python -m bench.run [--duration 20] [--levels 1,8,32,64] [--out results/bench] [--report reports/bench.md]

Steps (all traffic goes to 127.0.0.1; every load loop stops by itself):
1. Train our model (config.yml) and the peer's (Rasa's `rasa init` default config with
   JiebaTokenizer), each timed with an empty Rasa training cache. The peer takes minutes to
   train, so its model is kept in results/bench/models/ and reused while its inputs (config,
   domain, data, jieba dictionary) are unchanged; its training time is the one measured then.
2. For each system: start the action server and the Rasa server the way `make run` does
   (devtools/servers.py), time start -> first answer, check the loan hotline answer, then a
   closed-loop load at each concurrency level on the varied load (customers' questions, none sent
   twice: bench/conversations.py), resident memory, and the latency of turns 1, 50 and 200 of long
   conversations. Ours and the peer also get one level on the repeated load (49 texts), the note on
   the serving cache. Ours reports its CPU time per stage, the share of messages embedded and the
   cache's hit rate (common/cpu_clock.py), is profiled with py-spy under load, and is measured at
   32 conversations with other numbers of NLU threads (--nlu-threads).
3. Ours again with 10,000 stored conversations in its tracker database.
4. Ours with its default rate limits: 16 conversations at a person's pace, without and with one
   client flooding 50 messages a second (bench/flood.py). `python -m bench.run --only-flood` runs
   just this step, on models/cs-assistant.tar.gz, and prints the figures.
5. results/bench/bench.json (raw), reports/bench.md and reports/bench.png (bench/report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bench import loadgen, populate
from bench.conversations import (
    COMPARED_TURNS,
    LONG_CONVERSATION_CYCLE,
    RETURNING_SEED,
    SMOKE_CHECK,
    WARMUP_SEED,
)
from bench.flood import flood_scenario
from common import cpu_clock
from devtools.servers import NO_RATE_LIMITS, ROOT, VENV_BIN, Assistant, process_tree

PEER_CONFIG = ROOT / "eval" / "peer_rasa_default.yml"  # the same peer (a) that make eval measures
PEER_ENDPOINTS = ROOT / "bench" / "peer_endpoints.yml"
# Rasa's own start command, without rasa_server's patches: the peer, and our model on stock Rasa.
STOCK_RASA = {"RASA_COMMAND": str(VENV_BIN / "rasa")}
OUR_ENDPOINTS = ROOT / "endpoints.yml"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- machine and noise ---------------------------------------------------------------------------

def machine_info() -> Dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        mem_kb = int(info.readline().split()[1])
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    from importlib.metadata import version

    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "rasa": version("rasa"),
        "rasa_sdk": version("rasa-sdk"),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "loadavg_at_start": os.getloadavg(),
    }


def _cpu_ticks_of(pids: List[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        except (OSError, IndexError, ValueError):
            pass
    return total


def _machine_ticks() -> List[int]:
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    return [sum(values[:8]), idle]


class CpuMeter:
    """CPU used during a phase: by our processes (servers + this load generator) and by others.

    The first pid is the Rasa server's, the second the action server's: each is also reported on its own."""

    def __init__(self, pids: List[int]) -> None:
        # the servers with their worker processes, and this process
        self.trees = [process_tree(pid) for pid in pids]
        self.pids = [p for tree in self.trees for p in tree] + [os.getpid()]

    def __enter__(self) -> CpuMeter:
        self.start_wall = time.monotonic()
        self.start_machine = _machine_ticks()
        self.start_ours = _cpu_ticks_of(self.pids)
        self.start_self = _cpu_ticks_of([os.getpid()])
        self.start_trees = [_cpu_ticks_of(tree) for tree in self.trees]
        return self

    def __exit__(self, *exc: Any) -> None:
        wall = time.monotonic() - self.start_wall
        total, idle = _machine_ticks()
        busy = (total - self.start_machine[0]) - (idle - self.start_machine[1])
        ours = _cpu_ticks_of(self.pids) - self.start_ours
        own = _cpu_ticks_of([os.getpid()]) - self.start_self
        per_core = CLK_TCK * wall
        # children's ticks (cutime) are counted when they exit: the servers are still running.
        trees = [_cpu_ticks_of(tree) - start for tree, start in zip(self.trees, self.start_trees, strict=True)]
        self.result = {
            "servers_cores": round((ours - own) / per_core, 2),
            "loadgen_cores": round(own / per_core, 2),
            "other_processes_cores": round(max(0, busy - ours) / per_core, 2),
            # CPU seconds, not rounded: the per-stage table divides them by the messages
            "rasa_cpu_s": trees[0] / CLK_TCK,
            "action_cpu_s": trees[1] / CLK_TCK if len(trees) > 1 else None,
        }


# --- training ------------------------------------------------------------------------------------

def rasa_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
    return env


# Ours trains as `make train` does, with Rasa's command line without TensorFlow; the peer needs stock rasa.
OUR_TRAINING_COMMAND = [str(VENV_BIN / "python"), "-m", "rasa_server"]
STOCK_TRAINING_COMMAND = [str(VENV_BIN / "rasa")]


def train(
    config: Path, out_dir: Path, name: str, rasa: List[str], data: Path = ROOT / "data"
) -> Tuple[float, float]:
    """rasa train with an empty training cache; returns (wall seconds, CPU seconds)."""
    cache = out_dir / f"rasa-cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    env = rasa_env()
    env["RASA_CACHE_DIRECTORY"] = str(cache)
    log_file = out_dir / f"train-{name}.log"
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_file, "wb") as output:
        subprocess.run(
            [*rasa, "train", "--config", str(config), "--domain", "domain.yml",
             "--data", str(data), "--out", str(out_dir), "--fixed-model-name", name],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, check=True,
        )
    seconds = time.monotonic() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    shutil.rmtree(cache, ignore_errors=True)
    return seconds, cpu


def inputs_digest(config: Path) -> str:
    digest = hashlib.sha256()
    files = [config, ROOT / "domain.yml", ROOT / "build" / "jieba" / "userdict.txt"]
    files += sorted((ROOT / "data").rglob("*.yml"))
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes() if path.exists() else b"")
    from importlib.metadata import version

    digest.update(version("rasa").encode())
    return digest.hexdigest()[:16]


RETRAIN_NEW_MESSAGES = 10


def config_with_fresh_embedding_cache(models: Path) -> Path:
    """config.yml with the classifier's training-embedding cache in an empty folder of the bench's own."""
    import yaml

    cache = models / "embedding-cache"
    shutil.rmtree(cache, ignore_errors=True)
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"].endswith("CascadeIntentClassifier"):
            component["embedding_cache"] = str(cache)
    path = models / "config-ours.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def data_with_new_labels(models: Path) -> Path:
    """A copy of data/ with RETRAIN_NEW_MESSAGES messages more, as if an operator had just labelled them
    in the console: texts no training has seen (training examples with a word added)."""
    copy = models / "data-relabelled"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(ROOT / "data", copy)
    first = sorted((copy / "nlu").glob("*.yml"))[0]
    lines = first.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == "examples: |") + 1
    examples = [line.rstrip("\n") for line in lines[start:start + RETRAIN_NEW_MESSAGES]]
    lines[start:start] = [f"{line}，麻烦了\n" for line in examples]
    first.write_text("".join(lines), encoding="utf-8")
    return copy


def train_models(out: Path, retrain_peer: bool, skip_peer: bool = False,
                 our_model: Optional[Path] = None, reuse_peer: bool = False) -> Dict[str, Any]:
    """Trains ours (unless `our_model` is given: then its training is not measured) and the peer. With
    `reuse_peer`, a stored peer model serves even if the training data changed since (serving speed does not
    depend on a few sentences, and the peer takes up to an hour to train on a busy machine); the report says so."""
    models = out / "models"
    models.mkdir(parents=True, exist_ok=True)
    if our_model is not None:
        log(f"our model: {our_model} (not trained, training not measured)")
        result: Dict[str, Any] = {"ours": {"model": str(our_model), "config": "config.yml"}}
    else:
        config = config_with_fresh_embedding_cache(models)
        log("training our model (config.yml, nothing cached)")
        ours_seconds, ours_cpu = train(config, models, "ours", OUR_TRAINING_COMMAND)
        log(f"  trained in {ours_seconds:.1f} s ({ours_cpu:.0f} CPU s)")
        log(f"the console's retrain after labelling {RETRAIN_NEW_MESSAGES} messages")
        retrain_seconds, retrain_cpu = train(
            config, models, "ours-retrained", OUR_TRAINING_COMMAND, data=data_with_new_labels(models)
        )
        log(f"  trained in {retrain_seconds:.1f} s ({retrain_cpu:.0f} CPU s)")
        result = {
            "ours": {"model": str(models / "ours.tar.gz"), "seconds": round(ours_seconds, 1),
                     "cpu_seconds": round(ours_cpu, 1), "config": "config.yml",
                     "retrain_seconds": round(retrain_seconds, 1), "retrain_cpu_seconds": round(retrain_cpu, 1)}}
    if skip_peer:
        return result
    digest = inputs_digest(PEER_CONFIG)
    record_file = models / "peer.json"
    record = json.loads(record_file.read_text()) if record_file.exists() else {}
    peer_model = models / "peer.tar.gz"
    inputs_changed = record.get("digest") != digest
    if retrain_peer or (inputs_changed and not reuse_peer) or not peer_model.exists():
        log(f"training the peer ({PEER_CONFIG.relative_to(ROOT)}): DIET + TED, this takes minutes")
        seconds, cpu = train(PEER_CONFIG, models, "peer", STOCK_TRAINING_COMMAND)
        record = {"digest": digest, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
                  "date": time.strftime("%Y-%m-%d %H:%M"), "reused": False}
        record_file.write_text(json.dumps(record))
        log(f"  trained in {seconds:.1f} s")
    else:
        record["reused"], record["inputs_changed"] = True, inputs_changed
        log(f"peer model of {record['date']} (trained in {record['seconds']} s) reused"
            + (", although its training inputs changed since (--reuse-peer)" if inputs_changed
               else ": inputs unchanged"))
    result["peer"] = {"model": str(peer_model), "seconds": record["seconds"],
                      "cpu_seconds": record.get("cpu_seconds"), "trained": record["date"],
                      "reused": record["reused"], "inputs_changed": record.get("inputs_changed", False),
                      "config": str(PEER_CONFIG.relative_to(ROOT))}
    return result


# --- one system under load -----------------------------------------------------------------------

def count_log_problems(log_file: Path) -> Dict[str, int]:
    text = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    return {
        "error_lines": sum(1 for line in text.splitlines() if " ERROR " in line or "Traceback" in line),
        "outage_replies": text.count("No reply for a message"),
    }


def start(assistant: Assistant) -> Dict[str, float]:
    assistant.workdir.mkdir(parents=True, exist_ok=True)
    action_ready = assistant.start_action_server()
    started = time.monotonic()
    status_ready = assistant.start_rasa_server()
    answers = asyncio.run(loadgen.ask(assistant.url, "bench-first-answer", ["你好"]))
    first_answer = time.monotonic() - started
    if not answers[0]:
        raise RuntimeError("the first message got no reply")
    return {"action_server_ready_s": round(action_ready, 1), "rasa_status_ready_s": round(status_ready, 1),
            "first_answer_s": round(first_answer, 1)}


def smoke_check(assistant: Assistant) -> Dict[str, Any]:
    texts, expected = SMOKE_CHECK
    answers = asyncio.run(loadgen.ask(assistant.url, "bench-smoke-check", texts))
    reply = " ".join(str(m.get("text", "")) for m in answers[-1])
    return {"texts": texts, "expected": expected, "ok": expected in reply, "reply": reply[:200]}


def stage_cpu_dir(workdir: Path) -> Path:
    """Where our Rasa server writes its CPU time per stage (common/cpu_clock.py): STAGE_CPU_DIR in its environment."""
    return workdir / "stage-cpu"


def _stage_totals(assistant: Assistant) -> Dict[str, float]:
    time.sleep(2 * cpu_clock.WRITE_EVERY_SECONDS)  # the server's last totals are on disk
    return cpu_clock.read_totals(stage_cpu_dir(assistant.workdir))


def stage_breakdown(before: Dict[str, float], after: Dict[str, float], cpu: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """CPU ms per message understood by stage, the share of messages embedded and the serving cache's hit rate,
    from the server's stage totals before and after a level and the level's CPU meter. None for a server that
    does not clock its stages (stock Rasa)."""
    delta = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    messages = delta.get("messages_understood", 0)
    if not messages:
        return None
    nlu, embedding = delta.get("cpu_nlu", 0.0), delta.get("cpu_embedding", 0.0)
    policies, store = delta.get("cpu_policies", 0.0), delta.get("cpu_tracker_store", 0.0)
    per_message = {  # ms
        "nlu_counts": (nlu - embedding) * 1000 / messages,
        "embedding": embedding * 1000 / messages,
        "policies": policies * 1000 / messages,
        "actions": (cpu["action_cpu_s"] or 0.0) * 1000 / messages,
        "tracker_store": store * 1000 / messages,
        "rest": (cpu["rasa_cpu_s"] - nlu - policies - store) * 1000 / messages,
    }
    lookups = delta.get("embedding_lookups", 0)
    return {
        "messages_understood": int(messages),
        "embedded_share": delta.get("messages_embedded", 0) / messages,
        "cache_hit_rate": delta.get("embedding_cache_hits", 0) / lookups if lookups else None,
        "cpu_ms": {name: round(value, 2) for name, value in per_message.items()},
    }


def measure_level(assistant: Assistant, name: str, concurrency: int, duration: float,
                  load: str = "varied") -> Dict[str, Any]:
    pids = [assistant.rasa_server.pid, assistant.action_server.pid]
    before = _stage_totals(assistant)
    with CpuMeter(pids) as meter:
        level = asyncio.run(loadgen.run_level(assistant.url, concurrency, duration, label=name, load=load))
    row = level.as_dict()
    row["load"] = load
    row["cpu"] = meter.result
    row["stages"] = stage_breakdown(before, _stage_totals(assistant), meter.result)
    stages = row["stages"]
    log(f"  {name} c={concurrency} ({load}): {level.throughput:.1f} msg/s, p50 {level.p50_ms:.0f} ms, "
        f"p99 {level.p99_ms:.0f} ms, errors {level.errors}, lost {level.lost_replies} "
        f"(other processes used {meter.result['other_processes_cores']} cores)"
        + (f"; embedded {stages['embedded_share']:.0%}, CPU ms/msg {stages['cpu_ms']}" if stages else ""))
    return row


def run_levels(assistant: Assistant, name: str, levels: List[int], duration: float) -> List[Dict[str, Any]]:
    asyncio.run(loadgen.run_level(assistant.url, 8, min(5.0, duration), label=f"{name}-warmup", seed=WARMUP_SEED))
    return [measure_level(assistant, name, concurrency, duration) for concurrency in levels]


def long_conversations(assistant: Assistant, name: str, turns: int, repeats: int) -> Dict[str, Any]:
    runs = [
        asyncio.run(loadgen.long_conversation(assistant.url, turns, LONG_CONVERSATION_CYCLE, f"bench-long-{name}-{r}",
                                              same_text_at=COMPARED_TURNS))
        for r in range(repeats)
    ]
    per_turn = [statistics.median(run[i] for run in runs) for i in range(turns)]

    def window(first: int, last: int) -> Optional[float]:
        values = per_turn[first - 1:last]
        return round(statistics.median(values), 1) if values else None

    marks = [t for t in COMPARED_TURNS if t <= turns]
    return {
        "turns": turns,
        "repeats": repeats,
        "turn_ms": {str(t): round(per_turn[t - 1], 1) for t in marks},
        "window_ms": {"2-10": window(2, min(10, turns)), "46-55": window(46, min(55, turns)),
                      "191-200": window(max(1, turns - 9), turns)},
        "per_turn_ms": [round(v, 1) for v in per_turn],
    }


def profile(assistant: Assistant, out: Path, name: str, seconds: float) -> Optional[Dict[str, Any]]:
    py_spy = VENV_BIN / "py-spy"
    if not py_spy.exists():
        log("  py-spy not installed (make .venv/dev-installed): no profile")
        return None
    raw = out / "profile" / f"{name}-rasa.txt"
    raw.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [str(py_spy), "record", "--pid", str(assistant.rasa_server.pid), "--duration", str(int(seconds)),
         "--rate", "100", "--format", "raw", "--output", str(raw), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    level = asyncio.run(loadgen.run_level(assistant.url, 32, seconds, label=f"{name}-profile"))
    try:
        _, err = spy.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()
        _, err = spy.communicate()
    if spy.returncode != 0 or not raw.exists():
        log(f"  py-spy failed: {err.decode(errors='replace')[-300:]}")
        return None
    from bench.profile_summary import summarize, top_functions

    return {
        "raw": str(raw.relative_to(ROOT)) if raw.is_relative_to(ROOT) else str(raw),
        "throughput_while_profiled": level.throughput,
        "buckets": {k: round(v, 3) for k, v in summarize(raw).items()},
        "top_functions": [(f, round(v, 3)) for f, v in top_functions(raw)],
    }


def measure_system(name: str, model: str, endpoints: Path, out: Path, args: argparse.Namespace,
                   with_profile: bool, extra_env: Optional[Dict[str, str]] = None,
                   extra_rasa_args: Optional[List[str]] = None, levels: Optional[List[int]] = None,
                   long_repeats: Optional[int] = None, workers: int = 1,
                   repeated_texts: bool = False) -> Dict[str, Any]:
    """One system under load. With `repeated_texts`, also one level at 32 conversations on the repeated load
    (bench/conversations.py): the note on the serving cache."""
    workdir = out / name
    shutil.rmtree(workdir, ignore_errors=True)
    assistant = Assistant(workdir=workdir, model=Path(model), endpoints=endpoints,
                          extra_env={**NO_RATE_LIMITS, "STAGE_CPU_DIR": str(stage_cpu_dir(workdir)),
                                     **(extra_env or {})},
                          extra_rasa_args=list(extra_rasa_args or []), workers=workers)
    log(f"{name}: starting the action server and the Rasa server"
        + (f" ({workers} Sanic workers, Redis lock store)" if workers > 1 else ""))
    try:
        result: Dict[str, Any] = {"startup": start(assistant)}
        log(f"  first answer {result['startup']['first_answer_s']} s after the Rasa server was started")
        result["memory_after_start"] = {
            "rasa": assistant.rss_bytes(assistant.rasa_server), "action": assistant.rss_bytes(assistant.action_server)}
        result["smoke_check"] = smoke_check(assistant)
        log(f"  smoke check ({SMOKE_CHECK[1]} in the reply): {'ok' if result['smoke_check']['ok'] else 'FAILED'}")
        result["levels"] = run_levels(assistant, name, levels or args.levels, args.duration)
        if repeated_texts:
            result["repeated_texts"] = measure_level(assistant, name, 32, args.duration, load="repeated")
        result["memory_after_load"] = {
            "rasa": assistant.rss_bytes(assistant.rasa_server), "action": assistant.rss_bytes(assistant.action_server)}
        repeats = args.long_repeats if long_repeats is None else long_repeats
        if repeats:
            log(f"  long conversations: {args.long_turns} turns x {repeats}")
            result["long_conversation"] = long_conversations(assistant, name, args.long_turns, repeats)
            log(f"  turn latency (median of runs): {result['long_conversation']['turn_ms']}")
        if with_profile:
            log(f"  profiling the Rasa server with py-spy ({args.profile_seconds:.0f} s at 32 conversations)")
            result["profile"] = profile(assistant, out, name, args.profile_seconds)
        result["memory_final"] = {
            "rasa": assistant.rss_bytes(assistant.rasa_server), "action": assistant.rss_bytes(assistant.action_server)}
    finally:
        assistant.stop()
    result["log_problems"] = count_log_problems(workdir / "rasa-server.log")
    result["action_log_problems"] = count_log_problems(workdir / "action-server.log")
    return result


def stored_conversations(model: str, out: Path, args: argparse.Namespace, source_db: Path,
                         extra_env: Optional[Dict[str, str]] = None,
                         extra_rasa_args: Optional[List[str]] = None) -> Dict[str, Any]:
    workdir = out / "ours-stored"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    templates = populate.complete_conversations(source_db, "bench-ours-c1-")
    log(f"ours with {args.stored:,} stored conversations: populating the tracker database "
        f"(copies of {len(templates)} real ones)")
    filled = populate.populate(workdir / "tracker.db", templates, args.stored)
    senders = filled.pop("senders")
    log(f"  {filled['events']:,} events, {filled['db_mb']} MB in {filled['seconds']} s")
    assistant = Assistant(workdir=workdir, model=Path(model), endpoints=OUR_ENDPOINTS,
                          extra_env={**NO_RATE_LIMITS, **(extra_env or {})},
                          extra_rasa_args=list(extra_rasa_args or []))
    result: Dict[str, Any] = {"populated": filled}
    try:
        result["startup"] = start(assistant)
        result["smoke_check"] = smoke_check(assistant)
        asyncio.run(loadgen.run_level(assistant.url, 8, min(5.0, args.duration), label="stored-warmup",
                                      seed=WARMUP_SEED))
        levels = []
        pids = [assistant.rasa_server.pid, assistant.action_server.pid]
        # The returning users ask other questions than the new users just did (a seed of their own), as ours'
        # levels do: the server's cache has not seen them.
        for label, concurrency, pool, seed in (("new users", 1, None, 1), ("new users", 32, None, 32),
                                               ("returning users", 32, senders[::-1], RETURNING_SEED)):
            with CpuMeter(pids) as meter:
                level = asyncio.run(loadgen.run_level(assistant.url, concurrency, args.duration,
                                                      label="stored", sender_pool=pool, seed=seed))
            row = level.as_dict()
            row["who"] = label
            row["cpu"] = meter.result
            levels.append(row)
            log(f"  {label} c={concurrency}: {level.throughput:.1f} msg/s, p50 {level.p50_ms:.0f} ms, "
                f"p99 {level.p99_ms:.0f} ms, errors {level.errors}, lost {level.lost_replies}")
        result["levels"] = levels
        result["memory_after_load"] = {"rasa": assistant.rss_bytes(assistant.rasa_server)}
    finally:
        assistant.stop()
    result["log_problems"] = count_log_problems(workdir / "rasa-server.log")
    return result


def measure_flood(model: str, out: Path, seconds: float) -> Dict[str, Any]:
    """16 paced conversations, without and then with one client flooding; default rate limits."""
    workdir = out / "ours-flood"
    shutil.rmtree(workdir, ignore_errors=True)
    assistant = Assistant(workdir=workdir, model=Path(model), endpoints=OUR_ENDPOINTS)
    log("ours with its rate limits: 16 conversations at a person's pace, without and with a 50 msg/s flood")
    result: Dict[str, Any] = {}
    try:
        start(assistant)
        for label, flood in (("without", False), ("with", True)):
            run = result[label] = asyncio.run(flood_scenario(assistant.url, seconds=seconds, flood=flood))
            log(f"  {label} the flood: {run['normal_messages']} normal messages, p50 {run['normal_p50_ms']:.0f} ms, "
                f"p99 {run['normal_p99_ms']:.0f} ms, errors {run['normal_errors']}; "
                f"flooding client's statuses {run['flood_statuses']}")
    finally:
        assistant.stop()
    result["log_problems"] = count_log_problems(workdir / "rasa-server.log")
    return result


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per load level")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32, 64])
    parser.add_argument("--long-turns", type=int, default=200)
    parser.add_argument("--long-repeats", type=int, default=3)
    parser.add_argument("--stored", type=int, default=10_000, help="stored conversations for the growth test (0: skip)")
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument("--retrain-peer", action="store_true", help="train the peer even if its inputs are unchanged")
    parser.add_argument("--workers", type=int, default=2,
                        help="also measure ours with this many Sanic workers + Redis lock store (1: skip)")
    parser.add_argument("--nlu-threads", type=lambda s: [int(x) for x in s.split(",") if x], default=[1, 3],
                        help="also measure ours at 32 conversations with these NLU_THREADS (default 2; empty: skip)")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--reuse-peer", action="store_true",
                        help="serve the stored peer model even if the training data changed since it was trained")
    parser.add_argument("--our-model", type=Path, help="serve this model of ours instead of training one (quick runs)")
    parser.add_argument("--skip-stock", action="store_true", help="skip our model on stock Rasa serving")
    parser.add_argument("--flood-seconds", type=float, default=10.0, help="0: skip the flood step")
    parser.add_argument("--only-flood", action="store_true", help="only the flood step (models/cs-assistant.tar.gz)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "bench.md")
    args = parser.parse_args(argv)

    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only_flood:
        flood = measure_flood(str(ROOT / "models" / "cs-assistant.tar.gz"), args.out, args.flood_seconds)
        (args.out / "flood.json").write_text(json.dumps(flood, ensure_ascii=False, indent=1), encoding="utf-8")
        log(f"raw results: {args.out / 'flood.json'}")
        return
    data: Dict[str, Any] = {"machine": machine_info(), "settings": {
        "levels": args.levels, "duration_s": args.duration, "long_turns": args.long_turns,
        "long_repeats": args.long_repeats, "stored_conversations": args.stored, "workers": args.workers,
        "nlu_threads": args.nlu_threads,
        "command": "make bench", "argv": sys.argv[1:]}}
    data["training"] = train_models(args.out, args.retrain_peer, args.skip_peer, args.our_model, args.reuse_peer)
    data["ours"] = measure_system("ours", data["training"]["ours"]["model"], OUR_ENDPOINTS, args.out, args,
                                  with_profile=True, repeated_texts=True)
    # How many messages the server understands at once (rasa_internals.py, patch 8): the options against the default.
    data["ours_nlu_threads"] = {
        str(threads): measure_system(f"ours_nlu_threads_{threads}", data["training"]["ours"]["model"], OUR_ENDPOINTS,
                                     args.out, args, with_profile=False, extra_env={"NLU_THREADS": str(threads)},
                                     levels=[32], long_repeats=0)
        for threads in args.nlu_threads
    }
    if args.stored:
        data["ours_stored"] = stored_conversations(data["training"]["ours"]["model"], args.out, args,
                                                   args.out / "ours" / "tracker.db")
    if args.flood_seconds:
        data["flood"] = measure_flood(data["training"]["ours"]["model"], args.out, args.flood_seconds)
    if args.workers > 1 and shutil.which("redis-server"):
        # The same, with more Sanic workers the way Rasa supports it (RASA_WORKERS=N make run).
        data["ours_workers"] = measure_system(
            "ours_workers", data["training"]["ours"]["model"], OUR_ENDPOINTS, args.out, args, with_profile=False,
            levels=[c for c in args.levels if c >= 8], long_repeats=0, workers=args.workers)
        data["ours_workers"]["workers"] = args.workers
    elif args.workers > 1:
        log("redis-server is not installed: skipping the multi-worker measurement")
    if not args.skip_stock:
        # Our model served by stock Rasa (Rasa's SQL tracker store, no speed-ups): what the fixes bring.
        data["ours_stock"] = measure_system("ours_stock", data["training"]["ours"]["model"], PEER_ENDPOINTS,
                                            args.out, args, with_profile=False, extra_env=STOCK_RASA, levels=[32],
                                            long_repeats=1)
    if not args.skip_peer:
        data["peer"] = measure_system("peer", data["training"]["peer"]["model"], PEER_ENDPOINTS, args.out, args,
                                      with_profile=False, extra_env=STOCK_RASA, repeated_texts=True)
    data["machine"]["loadavg_at_end"] = os.getloadavg()
    data["total_seconds"] = round(time.monotonic() - started, 1)
    raw = args.out / "bench.json"
    raw.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    log(f"raw results: {raw}")

    from bench import report

    report.write(data, args.report)
    log(f"report: {args.report} and {args.report.with_suffix('.png')} ({data['total_seconds']:.0f} s in all)")


if __name__ == "__main__":
    main()
