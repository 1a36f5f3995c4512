"""Writes what Rasa needs from the intent catalogue: domain.yml's intent list and responses, and one dialogue
rule per intent (data/rules/intents.yml), from knowledge/intents.yml and knowledge/responses.yml.

`make domain` runs it (and `make train` first, when the catalogue changed); tests/unit/test_catalogue.py
fails when the committed files differ from what it writes. The rest of domain.yml (entities, slots,
actions, session settings) is written by hand and kept as it is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Dict

import yaml

from common.knowledge import Knowledge, load_knowledge

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "domain.yml"
RULES = ROOT / "data" / "rules" / "intents.yml"
GENERATED = "# Written by `make domain` from knowledge/intents.yml and knowledge/responses.yml: edit those."
_TOP_LEVEL_KEY = re.compile(r"(?m)^(?=[a-z_]+:)")


class _IndentedDumper(yaml.SafeDumper):
    """Indents lists inside mappings, as the hand-written YAML files of this project do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_IndentedDumper, allow_unicode=True, sort_keys=False, width=1000)


def _responses(knowledge: Knowledge) -> Dict[str, list]:
    titles = "、".join(knowledge.intent_titles[key] for key in knowledge.intents_of_kind("problem"))
    return {
        name: [{**variation, "text": variation["text"].replace("{problem_titles}", titles)}
               for variation in variations]
        for name, variations in knowledge.responses.items()
    }


def _section(key: str, value: object) -> str:
    """A top-level YAML section whose first line inside says where it comes from."""
    head, body = _dump({key: value}).split("\n", 1)
    return f"{head}\n  {GENERATED}\n{body}"


def domain_text(knowledge: Knowledge, current: str) -> str:
    """domain.yml with its `intents` and `responses` sections written from the catalogue."""
    sections = {"intents": list(knowledge.intents), "responses": _responses(knowledge)}
    out = []
    for part in _TOP_LEVEL_KEY.split(current):
        key = part.split(":", 1)[0]
        if key not in sections:
            out.append(part)
            continue
        # Comments and blank lines at the end of a part belong to the section after it: keep them.
        lines = part.split("\n")[:-1]  # the part ends with a newline
        tail = []
        while lines and (not lines[-1].strip() or lines[-1].startswith("#")):
            tail.insert(0, lines.pop())
        out.append(_section(key, sections.pop(key)) + "".join(line + "\n" for line in tail))
    if sections:
        raise ValueError(f"domain.yml has no top-level {', '.join(sections)} section to write")
    return "".join(out)


def rules_text(knowledge: Knowledge) -> str:
    rules = [
        {"rule": f"{key} ({intent.kind})", "steps": [{"intent": key}, {"action": intent.next_step}]}
        for key, intent in knowledge.intents.items()
    ]
    return f"{GENERATED}\n# One rule per intent: its answer, its own action or its response.\n" + _dump(
        {"version": "3.1", "rules": rules}
    )


def generated_files(knowledge: Knowledge) -> Dict[Path, str]:
    return {
        DOMAIN: domain_text(knowledge, DOMAIN.read_text(encoding="utf-8")),
        RULES: rules_text(knowledge),
    }


def main() -> None:
    for path, text in generated_files(load_knowledge()).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
