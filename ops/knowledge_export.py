"""`make knowledge-export`: the published version of the knowledge editor written back into knowledge/intents.yml
and knowledge/services.yml, for review and commit (docs/ops.md, "The knowledge editor").

Only values that differ are rewritten, in place: the files' comments, order and layout stay, so `git diff`
shows exactly what operators changed. Example phrasings need no export: publishing already wrote them into
the training data (OPS_TRAINING_DATA, data/ by default).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from common.knowledge import KNOWLEDGE_DIR, load_knowledge
from common.knowledge_store import Content, KnowledgeStore, editable_content
from common.tracker_db import engine_from_env


def _text(value: str, old: Any) -> Any:
    """A text as the file writes it: multi-line (or replacing a block) as a `|` block, else plain."""
    if "\n" in value or isinstance(old, LiteralScalarString):
        return LiteralScalarString(value.rstrip("\n") + "\n")
    return value


def _pop(mapping: Any, key: str) -> Any:
    """Removes a key; the blank line that followed it (a comment of the key) returned, for the key before."""
    closing = mapping.ca.items.pop(key, None)
    mapping.pop(key, None)
    return closing


def _set_variant(entry: Any, service: str, text: Optional[Any]) -> None:
    """Sets or (None) removes an answer variant, keeping the blank line that closes the entry at its end."""
    variants = entry.get("answer_by_product")
    if text is None:
        if variants is None or service not in variants:
            return
        closing = _pop(variants, service)
        if not variants:
            _pop(entry, "answer_by_product")
        holder = variants if variants else entry
        if closing is not None and len(holder):
            holder.ca.items[list(holder)[-1]] = closing
        return
    if variants is None:
        closing = entry.ca.items.pop(list(entry)[-1], None)  # the blank line after the entry
        variants = entry["answer_by_product"] = CommentedMap()
        variants[service] = text
        if closing is not None:
            variants.ca.items[service] = closing
        return
    variants[service] = text


def export(content: Content, directory: Path = KNOWLEDGE_DIR) -> List[str]:
    """Writes the content's changes into the YAML files; returns the paths that changed."""
    yaml = YAML()  # round trip: comments and layout kept (the files' own indentation)
    yaml.width = 4096
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(  # `hours: null` as the files write it, not an empty value
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null"))
    current = editable_content(load_knowledge(directory))
    changed = [path for path in sorted(set(content) | set(current)) if content.get(path) != current.get(path)]
    if not changed:
        return []
    intents_file, services_file = directory / "intents.yml", directory / "services.yml"
    intents = yaml.load(intents_file.read_text(encoding="utf-8"))
    services = yaml.load(services_file.read_text(encoding="utf-8"))
    for path in changed:
        kind, key, what, *service = path.split("/")
        value = content.get(path)
        if kind == "topic":
            entry: Dict[str, Any] = intents["intents"][key]
            if what == "title":
                entry["title"] = value
            elif service:
                old = (entry.get("answer_by_product") or {}).get(service[0], entry.get("answer"))
                _set_variant(entry, service[0], None if value is None else _text(value, old))
            else:
                entry["answer"] = _text(value, entry.get("answer"))
        else:
            entry = services["services"][key]
            if what == "hours":
                # quoted: "09:00" unquoted is a number of minutes to YAML 1.1 readers (PyYAML)
                entry["hours"] = None if value is None else {
                    "open": DoubleQuotedScalarString(value["open"]), "close": DoubleQuotedScalarString(value["close"]),
                    "days": value["days"], "note": value["note"]}
            else:
                entry["human_agent_tip"] = value
    for path, data in ((intents_file, intents), (services_file, services)):
        with path.open("w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
    load_knowledge.cache_clear()
    if editable_content(load_knowledge(directory)) != content:  # what the files now say is what was published
        raise RuntimeError("the exported files do not read back as the published version")
    return changed


def main(argv: List[str] = sys.argv[1:]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", type=Path, default=KNOWLEDGE_DIR)
    args = parser.parse_args(argv)
    store = KnowledgeStore(engine_from_env(), load_knowledge(args.directory))
    published = store.published()
    changed = export(published.content, args.directory)
    if changed:
        print(f"knowledge/: version {published.version} exported, {len(changed)} values changed:")
        print("\n".join(f"  {path}" for path in changed))
        print("Review with `git diff knowledge/` and commit.")
    else:
        print(f"knowledge/ already says what version {published.version} says")


if __name__ == "__main__":
    main()
