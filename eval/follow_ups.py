"""The follow-up set (eval/follow_ups.yml): conversations whose last message leans on the turns before it, sent to
the real action server and Rasa server with the trained model (models/cs-assistant.tar.gz), scored by what the
last reply answers.

Each reply to the last message is read from the tracker (HTTP API): what an answer is about is in its bot event's
metadata (`topic`, `service`; a hotline card's `handoff` counts as the topic ask_hotline for that service, see
common/conversation.py), a clarification's or hedge's buttons from its data. Outcomes, as for single questions:
- right at once: an answer about the expected topic for the expected service;
- within one click: that, or a reply whose buttons hold the expected topic ("您是想问…", 「不是这个问题？」, or
  "which service?" for that topic);
- wrong: an answer about another topic or service (a clarification or a decline is not wrong, only not right).

Usage: python -m eval.follow_ups  (make eval runs it after the NLU systems; results/eval/follow_ups.json)
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import yaml

from common.conversation import ANSWER_SERVICE_KEY, ANSWER_TOPIC_KEY, HANDOFF_KEY
from eval.common import RESULTS, ROOT, write_json

FOLLOW_UPS = ROOT / "eval" / "follow_ups.yml"
MODEL = ROOT / "models" / "cs-assistant.tar.gz"
KINDS = ("aspect", "switch", "not_resolved", "happened", "number", "new_question")
PARALLEL = 3


def load_set(path: Path = FOLLOW_UPS) -> List[Dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        conversations = yaml.safe_load(handle)["conversations"]
    for item in conversations:
        if item["kind"] not in KINDS or len(item["turns"]) < 2:
            raise ValueError(f"eval/follow_ups.yml: bad conversation {item}")
    return conversations


def _post(url: str, payload: Any) -> Any:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def _last_turn_replies(server_url: str, token: str, sender: str) -> List[Dict[str, Any]]:
    with urllib.request.urlopen(f"{server_url}/conversations/{sender}/tracker?token={token}", timeout=60) as response:
        events = json.loads(response.read())["events"]
    last_user = max(i for i, event in enumerate(events) if event["event"] == "user")
    return [event for event in events[last_user:] if event["event"] == "bot"]


def answered(replies: List[Dict[str, Any]]) -> Set[Tuple[str, Optional[str]]]:
    """(topic, service) of every answer among the replies; a hotline card is ask_hotline for its service."""
    found = set()
    for reply in replies:
        metadata = reply.get("metadata") or {}
        if metadata.get(ANSWER_TOPIC_KEY):
            found.add((metadata[ANSWER_TOPIC_KEY], metadata.get(ANSWER_SERVICE_KEY)))
        if metadata.get(HANDOFF_KEY):
            found.add(("ask_hotline", metadata[HANDOFF_KEY]))
    return found


def offered(replies: List[Dict[str, Any]]) -> Set[str]:
    """Topics the replies' buttons lead to (/intent or /intent{"product": ...})."""
    topics = set()
    for reply in replies:
        for button in (reply.get("data") or {}).get("buttons") or []:
            payload = str(button.get("payload", ""))
            if payload.startswith("/"):
                topics.add(payload[1:].split("{", 1)[0])
    return topics


def score(item: Dict[str, Any], replies: List[Dict[str, Any]]) -> Dict[str, bool]:
    topic, service = item["topic"], item.get("service")
    answers = answered(replies)
    at_once = any(t == topic and (service is None or s == service) for t, s in answers)
    return {
        "at_once": at_once,
        "one_click": at_once or topic in offered(replies),
        "wrong": bool(answers) and not at_once,
    }


def run(conversations: List[Dict[str, Any]], model: Path = MODEL) -> List[Dict[str, Any]]:
    from devtools.servers import NO_RATE_LIMITS, Assistant

    with tempfile.TemporaryDirectory(prefix="eval-follow-ups-") as workdir:
        server = Assistant(workdir=Path(workdir), model=model, extra_env=dict(NO_RATE_LIMITS))
        server.start()
        try:
            def converse(numbered: Tuple[int, Dict[str, Any]]) -> Dict[str, Any]:
                index, item = numbered
                sender = f"eval-follow-up-{index}"
                for turn in item["turns"]:
                    _post(f"{server.url}/webhooks/rest/webhook", {"sender": sender, "message": turn})
                replies = _last_turn_replies(server.url, server.auth_token, sender)
                return {**item, **score(item, replies), "answered": sorted(map(list, answered(replies))),
                        "replies": [reply.get("text") or "" for reply in replies]}

            with ThreadPoolExecutor(PARALLEL) as pool:
                return list(pool.map(converse, enumerate(conversations)))
        finally:
            server.stop()


def summary(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    def tally(items: List[Dict[str, Any]]) -> Dict[str, Any]:
        n = len(items)
        return {"n": n, **{key: sum(r[key] for r in items) for key in ("at_once", "one_click", "wrong")}}

    return {"all": tally(results), "kinds": {kind: tally([r for r in results if r["kind"] == kind]) for kind in KINDS},
            "services": {s: tally([r for r in results if r.get("service") == s])
                         for s in sorted({r.get("service") for r in results if r.get("service")})}}


def main() -> int:
    if not MODEL.exists():
        sys.exit("no trained model: run `make train`")
    results = run(load_set())
    write_json(RESULTS / "follow_ups.json", {"summary": summary(results), "conversations": results})
    total = summary(results)["all"]
    print(f"[eval] follow-ups: {total['n']} conversations, right at once {total['at_once'] / total['n']:.3f}, within "
          f"one click {total['one_click'] / total['n']:.3f}, wrong {total['wrong']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
