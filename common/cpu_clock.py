"""Where a server's CPU time goes: CPU seconds per stage of handling a message, and the embedding's counts.

`make bench` reports CPU milliseconds per message by stage (NLU counts, embedding, policies, tracker store, and
the rest), the share of messages embedded and the serving cache's hit rate. The stages are timed where they run
(`clocked`): each span is the CPU time of the thread that runs it (time.thread_time), so spans on the NLU threads
and on the event loop do not count each other's time. A span must not give the event loop away in between (no
await inside), or it would count what other conversations did meanwhile.

With STAGE_CPU_DIR set (the bench sets it for the servers it starts), a process writes its totals to
STAGE_CPU_DIR/<pid>.json about twice a second; without it, the totals are only kept in memory (a few
additions per message).
"""

from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator

WRITE_EVERY_SECONDS = 0.5

_lock = threading.Lock()
_totals: Dict[str, float] = {}
_writer_pid = 0  # the process whose writer thread runs (a forked Sanic worker starts its own)


def add(name: str, amount: float = 1.0) -> None:
    """Adds to a total: CPU seconds of a stage (`cpu_<stage>`) or a count (messages, embeddings, cache hits)."""
    with _lock:
        _totals[name] = _totals.get(name, 0.0) + amount
    _start_writer()


@contextmanager
def clocked(stage: str) -> Iterator[None]:
    """Adds the CPU time this thread spends in the block to the stage's total."""
    start = time.thread_time()
    try:
        yield
    finally:
        add(f"cpu_{stage}", time.thread_time() - start)


def totals() -> Dict[str, float]:
    with _lock:
        return dict(_totals)


def _start_writer() -> None:
    global _writer_pid
    if _writer_pid == os.getpid() or not os.environ.get("STAGE_CPU_DIR"):
        return
    with _lock:
        if _writer_pid == os.getpid():
            return
        _writer_pid = os.getpid()
    threading.Thread(target=_write_forever, args=(Path(os.environ["STAGE_CPU_DIR"]),), daemon=True,
                     name="cpu-clock").start()


def _write_forever(directory: Path) -> None:
    path = directory / f"{os.getpid()}.json"
    partial = directory / f".{os.getpid()}.json"
    while True:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(totals()), encoding="utf-8")
            os.replace(partial, path)
        except OSError:  # a measurement aid: the server goes on without it
            pass
        time.sleep(WRITE_EVERY_SECONDS)


def read_totals(directory: Path) -> Dict[str, float]:
    """The totals of every process that wrote to `directory`, summed (the bench's side)."""
    summed: Dict[str, float] = {}
    for path in Path(directory).glob("[0-9]*.json"):
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for name, value in values.items():
            summed[name] = summed.get(name, 0.0) + value
    return summed
