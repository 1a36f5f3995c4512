"""Example phrasings of the topics, as the training data (data/nlu/*.yml, or OPS_TRAINING_DATA) holds them.

The knowledge editor shows how many each topic has and lists them; a published removal takes the example out
of whichever file has it (line by line, so the files' comments and order stay). Additions are filed like the
review inbox's labels (ops/inbox.Reviews.file_examples), never a held-out test sentence.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterable, List

import yaml

_INTENT_LINE = "- intent: "
_EXAMPLE_INDENT = "    - "


def examples_by_intent(nlu_dir: Path) -> Dict[str, List[str]]:
    """intent -> its examples, in file order."""
    found: Dict[str, List[str]] = {}
    for path in sorted(nlu_dir.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in block and "examples" in block:
                found.setdefault(block["intent"], []).extend(
                    line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- "))
    return found


def remove_examples(nlu_dir: Path, intent: str, texts: Iterable[str]) -> int:
    """Takes the examples out of the intent's blocks in every file (a block left empty goes too); returns
    how many examples went."""
    unwanted = set(texts)
    removed = 0
    for path in sorted(nlu_dir.glob("*.yml")):
        blocks: List[List[str]] = [[]]  # the lines before the first block, then one list per "- " block
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            if line.startswith("- "):
                blocks.append([])
            blocks[-1].append(line)
        kept: List[str] = []
        for block in blocks:
            if block and block[0].startswith(_INTENT_LINE) and block[0][len(_INTENT_LINE):].strip() == intent:
                lines = [line for line in block
                         if not (line.startswith(_EXAMPLE_INDENT) and line[len(_EXAMPLE_INDENT):].strip() in unwanted)]
                removed += len(block) - len(lines)
                if not any(line.startswith(_EXAMPLE_INDENT) for line in lines):
                    continue
                block = lines
            kept.extend(block)
        if len(kept) != sum(map(len, blocks)):
            temporary = path.with_name(f".{path.name}.tmp")
            temporary.write_text("".join(kept), encoding="utf-8")
            os.replace(temporary, path)
    return removed
