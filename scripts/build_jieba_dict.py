"""Writes jieba's user dictionary: knowledge/jieba_words.txt plus every alias in services.yml.

Usage: python scripts/build_jieba_dict.py build/jieba/userdict.txt
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.knowledge import KNOWLEDGE_DIR, load_knowledge  # noqa: E402
from common.text import normalize  # noqa: E402

ALIAS_FREQUENCY = 100000


def main(target: Path) -> None:
    lines = (KNOWLEDGE_DIR / "jieba_words.txt").read_text(encoding="utf-8").splitlines()
    words = [normalize(line) for line in lines if line.strip() and not line.startswith("#")]
    aliases = list(load_knowledge().alias_index)  # normalised as the tokenizer will see them
    target.parent.mkdir(parents=True, exist_ok=True)
    # Words without a frequency: jieba picks one high enough to keep each word whole when it stands alone. An alias
    # must also stay whole beside a word that overlaps it ("小米贷款额度" is 小米贷款|额度, not 小米|贷款额度, or the
    # entity ruler finds only the brand 小米 and the service is lost), hence a frequency above any common word's.
    lines = [f"{word}\n" for word in dict.fromkeys(words) if word not in aliases]
    lines += [f"{alias} {ALIAS_FREQUENCY}\n" for alias in aliases]
    target.write_text("".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
