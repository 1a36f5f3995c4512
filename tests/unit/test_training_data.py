"""The held-out file stays held out: no sentence of it is (after normalisation) in the training data."""

from rasa.shared.nlu.training_data.loading import load_data

from assistant.text import normalize
from tests.conftest import ROOT


def _texts(path):
    return {normalize(m.get("text")): m.get("intent") for m in load_data(str(path)).intent_examples}


def test_no_heldout_sentence_is_trained_on():
    training = _texts(ROOT / "data" / "nlu")
    heldout = _texts(ROOT / "tests" / "nlu" / "heldout.yml")
    assert sorted(set(training) & set(heldout)) == []


def test_heldout_covers_every_intent():
    training_intents = set(_texts(ROOT / "data" / "nlu").values())
    assert set(_texts(ROOT / "tests" / "nlu" / "heldout.yml").values()) == training_intents
