"""RecentTurnsRulePolicy predicts what Rasa's RulePolicy predicts, without reading the whole conversation."""

import itertools

import pytest
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.training import load_data
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

from pipeline.policies import RecentTurnsRulePolicy
from tests.conftest import ROOT

# What users say, as the NLU pipeline labels it: problems, follow-ups that only rules with
# context can answer (affirm/deny right after an answer), fallbacks, small talk.
USER_TURNS = [
    ("greet", "你好"), ("repayment_failure", "还款失败了"), ("deny", "没用"), ("thanks", "谢谢"),
    ("account_locked", "账户被锁了"), ("affirm", "好了"), ("ask_hotline", "客服电话"),
    ("nlu_fallback", "嗯那个"), ("nlu_fallback", "就是那个"), ("affirm", "对"), ("fraud_check", "是真的吗"),
    ("after_sales_repair", "屏幕碎了"), ("deny", "不行"), ("out_of_scope", "怎么开户"), ("deny", "不是"),
    ("goodbye", "再见"),
]


@pytest.fixture(scope="module")
def domain_and_policies(tmp_path_factory):
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "domain.yml"), training_data_paths=[str(ROOT / "data" / "rules")],
    )
    domain = importer.get_domain()
    trackers = load_data(importer, domain, augmentation_factor=0, use_story_concatenation=False)
    config = {**RulePolicy.get_default_config(), "core_fallback_threshold": 0.3,
              "core_fallback_action_name": "action_clarify", "enable_fallback_prediction": True}
    storage = LocalModelStorage(tmp_path_factory.mktemp("policies"))
    context = ExecutionContext(GraphSchema({}), "test")
    policies = []
    for policy_class in (RulePolicy, RecentTurnsRulePolicy):
        policy = policy_class.create(config, storage, Resource(policy_class.__name__), context)
        policy.train(trackers, domain)
        policies.append(policy)
    return domain, *policies


def predict(policy, tracker, domain):
    prediction = policy.predict_action_probabilities(tracker, domain)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return domain.action_names_or_texts[best], prediction


def test_same_prediction_as_rule_policy_on_every_step_of_a_long_conversation(domain_and_policies):
    domain, stock, recent = domain_and_policies
    tracker = DialogueStateTracker.from_events("long", [
        ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME),
    ], slots=domain.slots)
    steps = cut = 0
    for intent, text in itertools.islice(itertools.cycle(USER_TURNS), 120):
        tracker.update(UserUttered(text, {"name": intent, "confidence": 0.9}))
        for _ in range(5):  # the actions of one turn, up to action_listen
            action, expected = predict(stock, tracker, domain)
            recent_action, got = predict(recent, tracker, domain)
            assert (recent_action, got.probabilities, got.events, got.optional_events) == (
                action, expected.probabilities, expected.events, expected.optional_events), (intent, text)
            steps += 1
            cut += len(recent._recent_part(tracker).events) < len(tracker.events)
            tracker.update(ActionExecuted(action))
            if action == ACTION_LISTEN_NAME:
                break
            tracker.update(BotUttered("……"))
            tracker.update(SlotSet("topic", intent))
    assert cut >= steps - 10  # after the first turns, the policy read only the recent part
    assert 0 < len(recent._matches) < steps / 2  # the states repeat: most turns' matching rules were remembered


def test_recent_part_is_short_and_whole_history_is_kept_when_it_was_rewritten(domain_and_policies):
    domain, _, recent = domain_and_policies
    events = [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME)]
    for intent, text in USER_TURNS * 10:
        events += [UserUttered(text, {"name": intent, "confidence": 0.9}), ActionExecuted("utter_greet"),
                   BotUttered("……"), ActionExecuted(ACTION_LISTEN_NAME)]
    tracker = DialogueStateTracker.from_events("long", events, slots=domain.slots)
    assert len(recent._recent_part(tracker).events) < 20 < len(tracker.events)

    # A revert among the recent events may reach back further: the whole history is used.
    reverted = DialogueStateTracker.from_events("long", [*events, UserUtteranceReverted()], slots=domain.slots)
    assert recent._recent_part(reverted) is reverted
