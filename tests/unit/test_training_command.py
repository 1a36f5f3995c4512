"""`python -m rasa_server train` (make train, the console's retrain): a training reflects the files as they are."""

import subprocess
import sys
import tarfile

from tests.conftest import ROOT

CONFIG = """recipe: default.v1
language: zh
pipeline:
  - name: JiebaTokenizer
    dictionary_path: dictionary
policies: []
"""
NLU = """version: "3.1"
nlu:
- intent: ask_hotline
  examples: |
    - 天星金融客服电话
    - 随星借人工客服
- intent: greet
  examples: |
    - 你好
    - 在吗
"""


def test_a_jieba_word_added_to_the_dictionary_is_in_the_next_model(tmp_path):
    # Rasa's training cache kept the first training's dictionary for the second: the data had not changed.
    (tmp_path / "config.yml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "nlu.yml").write_text(NLU, encoding="utf-8")
    (tmp_path / "dictionary").mkdir()
    dictionary = tmp_path / "dictionary" / "userdict.txt"

    def train(words, out):
        dictionary.write_text("".join(f"{word} 100000 n\n" for word in words), encoding="utf-8")
        subprocess.run(
            [sys.executable, "-m", "rasa_server", "train", "nlu", "--config", "config.yml", "--nlu", "nlu.yml",
             "--out", out],
            cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "RASA_CACHE_DIRECTORY": str(tmp_path / "cache"),
                               "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            check=True, capture_output=True,
        )
        (model,) = (tmp_path / out).glob("*.tar.gz")
        with tarfile.open(model) as archive:
            (stored,) = [m for m in archive.getmembers() if m.name.endswith("userdict.txt")]
            return archive.extractfile(stored).read().decode("utf-8")

    assert "随星借" not in train(["天星金融"], "first")
    assert "随星借" in train(["天星金融", "随星借"], "second")
