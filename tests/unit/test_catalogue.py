"""The intent catalogue (knowledge/intents.yml) is the one list of intents: the domain, the rules, the
training data and the held-out file all agree with it."""

import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.training_data.loading import load_data

from common.knowledge import load_knowledge
from scripts.build_domain import generated_files
from tests.conftest import ROOT


def test_domain_and_rules_are_what_make_domain_writes_from_the_catalogue():
    for path, text in generated_files(load_knowledge()).items():
        assert path.read_text(encoding="utf-8") == text, f"{path.relative_to(ROOT)} is stale: run `make domain`"


def test_the_domain_knows_exactly_the_catalogues_intents_and_responses():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    knowledge = load_knowledge()
    assert domain["intents"] == list(knowledge.intents)
    assert set(domain["responses"]) == set(knowledge.responses)


def test_every_intent_is_trained_and_held_out_and_nothing_else_is():
    catalogue = set(load_knowledge().intents)
    for folder in (ROOT / "data" / "nlu", ROOT / "holdout" / "heldout.yml"):
        intents = {example.get("intent") for example in load_data(str(folder)).intent_examples}
        assert intents == catalogue, folder


def test_the_capabilities_reply_lists_every_problem_title():
    domain = Domain.load(str(ROOT / "domain.yml"))
    reply = domain.responses["utter_out_of_scope"][0]["text"]
    knowledge = load_knowledge()
    for key in knowledge.intents_of_kind("problem"):
        assert knowledge.intent_titles[key] in reply
