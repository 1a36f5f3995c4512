"""The training data: the held-out and blind files stay held out (no sentence of theirs is in it after
normalisation, spaces and punctuation left out), and every line of an examples block is an example Rasa reads."""

import re

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from common.text import normalize
from tests.conftest import ROOT


def _key(text):
    """A sentence as compared: normalised, spaces and punctuation left out (「额度降低了，为什么」)."""
    return re.sub(r"[\W_]+", "", normalize(text))


def _texts(path):
    keys = {_key(m.get("text")): m.get("intent") for m in load_data(str(path)).intent_examples}
    keys.pop("", None)  # emoji or punctuation alone: nothing to compare
    return keys


@pytest.mark.parametrize("held_out_file", ["heldout.yml", "blind.yml"])
def test_no_held_out_sentence_is_trained_on(held_out_file):
    training = _texts(ROOT / "data" / "nlu")
    held_out = _texts(ROOT / "holdout" / held_out_file)
    assert sorted(set(training) & set(held_out)) == []


REAL_DEV = ROOT.parent / "shared" / "real-customers" / "dev.tsv"


@pytest.mark.skipif(not REAL_DEV.is_file(), reason="the real customers' questions (../shared) are not here")
def test_no_real_customer_question_is_trained_on():
    # The real customers' questions measure how well the assistant understands words it never saw.
    from eval.common import load_real_dev

    real = {_key(text) for text, _ in load_real_dev(REAL_DEV)}
    assert sorted(set(_texts(ROOT / "data" / "nlu")) & real) == []


@pytest.mark.parametrize("path", sorted((ROOT / "data" / "nlu").glob("*.yml")), ids=lambda p: p.name)
def test_every_line_of_an_examples_block_is_an_example(path):
    # Inside `examples: |` a "# note" is not a YAML comment but text: Rasa drops the line with a warning,
    # and an operator who wrote an example there would lose it silently. Notes go above the block.
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        lines = block.get("examples", "").splitlines()
        strays = [line for line in lines if line.strip() and not line.lstrip().startswith("- ")]
        assert strays == [], f"{path.name}, {block.get('intent')}: {strays}"
