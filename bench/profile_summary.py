"""Where the Rasa server's time goes: buckets over py-spy's raw (collapsed) stack samples.

Each sample is put in the first bucket (in the order below) whose marker appears in its stack,
so the buckets add up to 100 % of the samples. `serve (sanic/server/runners.py)` as the leaf
frame is the event loop waiting for work (uvloop runs in C under it): that is idle time.

    python -m bench.profile_summary results/bench/profile/ours-rasa.txt
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path
from typing import Dict, List, Tuple

# (bucket, markers): a marker is a substring of a "function (file)" frame.
BUCKETS: List[Tuple[str, Tuple[str, ...]]] = [
    ("action result schema check (jsonschema)", ("_validate_action_result", "jsonschema/")),
    ("tracker store: save (SQL insert + commit)",
     ("save (rasa/core/tracker_store.py", "save (rasa_server/tracker_store.py")),
    ("tracker store: retrieve (SQL read + replay)",
     ("retrieve (rasa/core/tracker_store.py", "retrieve (rasa_server/tracker_store.py", "get_or_create_tracker")),
    # On the event loop, and on the NLU thread (rasa_server/rasa_internals.py, patch 8)
    ("NLU pipeline (parse message)",
     ("parse_message (rasa/core/processor.py", "_parse_message_with_graph (rasa/core/processor.py")),
    ("policies (predict next action)", ("_predict_next_with_tracker", "predict_next_with_tracker_if_should")),
    ("action server call (HTTP client)", ("run (rasa/core/actions/action.py",)),
    ("other dialogue handling (events, tracker updates)", ("handle_message (rasa/core/processor.py",)),
    ("logging", ("logging/__init__.py",)),
    ("HTTP server (Sanic request/response)", ("handle_request", "http1 (sanic", "connection_task")),
]
IDLE = "event loop idle (waiting for I/O)"
OTHER = "other"


def _frames(stack: str) -> List[str]:
    return [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]


def load(path: Path) -> List[Tuple[List[str], int]]:
    samples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            samples.append((_frames(stack), int(count)))
    return samples


def bucket_of(frames: List[str]) -> str:
    if frames and frames[-1].startswith("serve (sanic/server/runners.py"):
        return IDLE
    for name, markers in BUCKETS:
        if any(marker in frame for frame in frames for marker in markers):
            return name
    return OTHER


def summarize(path: Path) -> Dict[str, float]:
    """Bucket -> share of all samples (0..1), largest first."""
    counts: Dict[str, int] = collections.Counter()
    for frames, count in load(path):
        counts[bucket_of(frames)] += count
    total = sum(counts.values()) or 1
    return {name: count / total for name, count in sorted(counts.items(), key=lambda kv: -kv[1])}


def top_functions(path: Path, limit: int = 15) -> List[Tuple[str, float]]:
    """The functions with the most inclusive time, outside Rasa/Sanic/asyncio plumbing."""
    inclusive: Dict[str, int] = collections.Counter()
    total = 0
    plumbing = ("sanic/", "asyncio/", "rasa/__main__", "rasa/cli/", "rasa/api.py", "rasa/core/run.py",
                "<module>", "runpy.py", "dask/", "rasa/engine/", "rasa/core/agent.py", "rasa/core/channels/",
                "rasa_server/channels.py", "handle_request", "connection_task", "rasa/core/processor.py")
    for frames, count in load(path):
        total += count
        for frame in set(frames):
            if not any(p in frame for p in plumbing):
                inclusive[frame] += count
    return [(frame, n / (total or 1)) for frame, n in inclusive.most_common(limit)]


def main(argv: List[str]) -> None:
    for arg in argv:
        print(f"# {arg}")
        for name, share in summarize(Path(arg)).items():
            print(f"{100 * share:5.1f}%  {name}")
        print()
        for frame, share in top_functions(Path(arg)):
            print(f"{100 * share:5.1f}%  {frame}")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
