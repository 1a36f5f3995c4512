"""The held-out and blind files stay held out: no sentence of theirs is (after normalisation) in the training data."""

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from common.text import normalize
from tests.conftest import ROOT


def _texts(path):
    return {normalize(m.get("text")): m.get("intent") for m in load_data(str(path)).intent_examples}


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

    real = {normalize(text) for text, _ in load_real_dev(REAL_DEV)}
    assert sorted(set(_texts(ROOT / "data" / "nlu")) & real) == []
