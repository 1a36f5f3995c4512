"""The review inbox (待审核): messages the assistant was unsure about, grouped, and the operator's labels.

Which messages come in is decided by ops.metrics.review_candidates. Similar messages form one item
(same text once spaces, punctuation and numbers are ignored, or sharing most character pairs), so a
recurring gap shows as one row with a count. Labelling an item:
- with an intent (out_of_scope included): its messages are filed as training examples in
  data/nlu/reviewed.yml, masked, and skipped if the training data already has them or if they are
  sentences of the held-out or blind test files (those must never be trained on), where "the same"
  means the same similarity key, so a copy with other punctuation or spacing counts too;
- with "ignore": nothing is filed.
Either way the decision is kept in var/ops-decisions.json and the messages leave the inbox.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

import yaml

from ops.masking import mask_for_display
from ops.metrics import NOT_ENOUGH, REVIEW_REASONS, SIGNALS, ReviewCandidate, character_pairs, similarity_key

IGNORE = "ignore"
SIMILAR = 0.6  # share of character pairs two messages must have in common to be grouped
CLICKED = "（点选的问题）"  # a row of button clicks only has no typed text to show
MAX_EXAMPLES = 5


@dataclass
class InboxItem:
    key: str
    pairs: Set[str]
    candidates: List[ReviewCandidate] = field(default_factory=list)

    @property
    def id(self) -> str:
        return hashlib.sha1(self.key.encode()).hexdigest()[:12]

    def as_dict(self) -> Dict[str, object]:
        latest = self.candidates[-1].turn
        intent, _ = Counter(c.turn.predicted for c in self.candidates).most_common(1)[0]
        (reason, signal), _ = Counter((c.reason, c.signal) for c in self.candidates).most_common(1)[0]
        texts = list(dict.fromkeys(mask_for_display(c.turn.text) for c in reversed(self.candidates)
                                   if not c.turn.is_click)) or [CLICKED]
        return {
            "id": self.id,
            "text": texts[0],
            "examples": texts[:MAX_EXAMPLES],
            "intent": intent,
            "confidence": round(sum(c.turn.confidence for c in self.candidates) / len(self.candidates), 3),
            "reason": reason,
            "signal": signal,
            "reason_text": REVIEW_REASONS[reason] + (f"（{SIGNALS[signal]}）" if signal else ""),
            # the answer was right but not enough: better text in the knowledge editor, not a training label
            "to_knowledge": reason == NOT_ENOUGH,
            "count": len(self.candidates),
            "conversation": latest.conversation,
            "conversations": len({c.turn.conversation for c in self.candidates}),
            "last_seen": latest.timestamp,
        }


def group(candidates: Iterable[ReviewCandidate]) -> List[InboxItem]:
    """Similar messages together; the biggest groups first."""
    items: List[InboxItem] = []
    by_key: Dict[str, InboxItem] = {}
    for candidate in candidates:
        key = similarity_key(candidate.turn.text)
        if candidate.reason == NOT_ENOUGH:  # one row per topic: its answer is what needs more
            key = f"{NOT_ENOUGH}:{candidate.turn.intent}"
            if key not in by_key:
                by_key[key] = InboxItem(key, set())
                items.append(by_key[key])
        if not key:
            continue
        item = by_key.get(key)
        if item is None:
            pairs = character_pairs(key)
            item = next((i for i in items if len(pairs & i.pairs) / len(pairs | i.pairs) >= SIMILAR), None)
            if item is None:
                item = InboxItem(key, pairs)
                items.append(item)
            by_key[key] = item
        item.candidates.append(candidate)
    return sorted(items, key=lambda i: (-len(i.candidates), -i.candidates[-1].turn.timestamp))


def nlu_keys(paths: Iterable[Path]) -> Set[str]:
    """The similarity keys of the examples in Rasa NLU files (read as Rasa reads them)."""
    from rasa.shared.nlu.training_data.loading import load_data

    keys: Set[str] = set()
    for path in paths:
        if path.exists():
            keys |= {similarity_key(m.get("text")) for m in load_data(str(path)).intent_examples}
    return keys


def _training_example(text: str) -> str:
    """A masked message as one line of a Rasa examples block: no line breaks, no [..] annotation syntax."""
    return " ".join(mask_for_display(text).split()).replace("[", "【").replace("]", "】")


class Reviews:
    """The operator's decisions and the training file they feed."""

    HEADER = (
        "# Messages from the operator console's review inbox (待审核), labelled by an operator\n"
        "# (ops/inbox.py writes this file). Personal numbers are masked; held-out test sentences never appear.\n"
    )

    def __init__(self, reviewed_file: Path, decisions_file: Path, training_dir: Path, heldout_files: List[Path]):
        self.reviewed_file = reviewed_file
        self.decisions_file = decisions_file
        self.training_dir = training_dir
        self.heldout = nlu_keys(heldout_files)
        self._lock = threading.Lock()

    def decided(self) -> Dict[str, str]:
        """similarity key -> label, for every message an operator has labelled or ignored."""
        try:
            return json.loads(self.decisions_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def pending(self, items: List[InboxItem]) -> List[InboxItem]:
        decided = self.decided()
        for item in items:
            item.candidates = [c for c in item.candidates if similarity_key(c.turn.text) not in decided]
        return [item for item in items if item.candidates]

    def label(self, item: InboxItem, label: str) -> Dict[str, int]:
        """Files the item's messages under `label` (an intent), or only records IGNORE. Returns counts."""
        with self._lock:
            result = {"filed": 0, "skipped_heldout": 0, "skipped_known": 0}
            if label != IGNORE:
                result = self._file(label, [_training_example(c.turn.text) for c in item.candidates])
            decided = self.decided()
            decided.update({similarity_key(c.turn.text): label for c in item.candidates})
            _write_atomically(self.decisions_file, json.dumps(decided, ensure_ascii=False, indent=1) + "\n")
            return result

    def file_examples(self, intent: str, texts: List[str]) -> Dict[str, int]:
        """Files texts as training examples of `intent` (the knowledge editor's new phrasings). Returns counts."""
        with self._lock:
            return self._file(intent, [_training_example(text) for text in texts])

    def is_heldout(self, text: str) -> bool:
        """Whether the text is a sentence of the held-out or blind test files (never to be trained on)."""
        return similarity_key(text) in self.heldout

    def _file(self, intent: str, texts: List[str]) -> Dict[str, int]:
        """Appends the texts the training data does not have yet and that are not held-out sentences."""
        skipped_heldout = skipped_known = 0
        known = nlu_keys(sorted(self.training_dir.glob("*.yml")))
        new: List[str] = []
        for text in dict.fromkeys(texts):
            key = similarity_key(text)
            if key in self.heldout:
                skipped_heldout += 1
            elif key in known:
                skipped_known += 1
            else:
                known.add(key)
                new.append(text)
        if new:
            self._append_examples(intent, new)
        return {"filed": len(new), "skipped_heldout": skipped_heldout, "skipped_known": skipped_known}

    def _append_examples(self, intent: str, texts: List[str]) -> None:
        blocks: Dict[str, List[str]] = {}
        if self.reviewed_file.exists():
            for block in (yaml.safe_load(self.reviewed_file.read_text(encoding="utf-8")) or {}).get("nlu") or []:
                blocks[block["intent"]] = [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]
        blocks.setdefault(intent, []).extend(texts)
        lines = [self.HEADER + 'version: "3.1"', "", "nlu:"]
        for name in sorted(blocks):
            lines += [f"- intent: {name}", "  examples: |", *(f"    - {text}" for text in blocks[name])]
        _write_atomically(self.reviewed_file, "\n".join(lines) + "\n")


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def find(items: List[InboxItem], item_id: str) -> Optional[InboxItem]:
    return next((item for item in items if item.id == item_id), None)


def parse_label(raw: object, intents: Tuple[str, ...]) -> Optional[str]:
    """An intent of the domain, or IGNORE; None for anything else."""
    return raw if isinstance(raw, str) and (raw == IGNORE or raw in intents) else None
