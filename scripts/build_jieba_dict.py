"""Writes jieba's user dictionary: knowledge/jieba_words.txt plus every alias in services.yml.

Usage: python scripts/build_jieba_dict.py build/jieba/userdict.txt
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.knowledge import KNOWLEDGE_DIR, load_knowledge  # noqa: E402
from common.text import normalize  # noqa: E402


def main(target: Path) -> None:
    lines = (KNOWLEDGE_DIR / "jieba_words.txt").read_text(encoding="utf-8").splitlines()
    words = [normalize(line) for line in lines if line.strip() and not line.startswith("#")]
    words += load_knowledge().alias_index()  # aliases, normalised as the tokenizer will see them
    target.parent.mkdir(parents=True, exist_ok=True)
    # No frequency column: jieba then picks one high enough to keep each word whole.
    target.write_text("".join(f"{word}\n" for word in dict.fromkeys(words)), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
