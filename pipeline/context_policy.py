"""The policy that reads a message in the light of the conversation (common/follow_ups.py).

Rasa's NLU reads one message at a time, and each intent's rule answers it as if it came alone: "费用是？" after
a repair answer was the loan fees answer. A policy sees the tracker: the topic and service of the last answer
(the `topic` and `product` slots the actions set) and when it was given. When the latest message is a
follow-up, this policy predicts action_follow_up with the reading in the `follow_up` slot, and wins over the
rules by its priority; otherwise it predicts nothing and the rules answer as before. Context lasts
`context_minutes` (knowledge/follow_ups.yml) after the assistant's last reply.
"""

from __future__ import annotations

import itertools
from typing import Any, Dict, List, Optional, Tuple

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from common.conversation import FOLLOW_UP_ACTION, FOLLOW_UP_SLOT, PRODUCT_SLOT, TOPIC_SLOT
from common.follow_ups import Context, FollowUp
from common.hedge import hedge_topic, hedgeable
from common.knowledge import load_knowledge

# Above RulePolicy's 6: where both are sure, the conversation's reading of a follow-up wins.
DEFAULT_PRIORITY = 7


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class ConversationContextPolicy(Policy):
    """Predicts action_follow_up for a message that leans on the previous turn; nothing otherwise."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"priority": DEFAULT_PRIORITY}

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, **kwargs: Any) -> None:
        super().__init__(config, model_storage, resource, execution_context, **kwargs)

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource  # nothing to learn: the phrases and answers are data (knowledge/follow_ups.yml)

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if tracker.latest_action_name == FOLLOW_UP_ACTION:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(probabilities)
        follow_up = read_from_tracker(tracker) if tracker.latest_action_name == ACTION_LISTEN_NAME else None
        if follow_up is None:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(FOLLOW_UP_ACTION)] = 1.0
        return self._prediction(probabilities, optional_events=[SlotSet(FOLLOW_UP_SLOT, follow_up.to_slot())])


def read_from_tracker(tracker: DialogueStateTracker) -> Optional[FollowUp]:
    """The latest message as a follow-up of what the tracker holds, or None."""
    message = tracker.latest_message
    text = (message.text or "") if message else ""
    if not text or text.startswith("/"):  # a button's payload says exactly what it means
        return None
    knowledge = load_knowledge()
    entities = message.entities or []
    named = [str(e["value"]) for e in entities if e.get("entity") == PRODUCT_SLOT]
    numbers = [str(e["value"]) for e in entities if e.get("entity") == "phone_number"]
    intent = (message.intent or {}).get("name")
    if intent == "nlu_fallback" and set(named) - {product_before_latest_message(tracker)}:
        # Under the threshold, a topic that 猜你想问 answers at once is as clear when the message names another
        # service: "随星借这个月要还多少钱" after a 余额宝 withdrawal answer asks about the repayment for 随星借.
        # Without one, a longer message more often asks about the answer just given ("那修的时候要把手机留那吗").
        intent = hedge_topic(message.parse_data.get("intent_ranking") or [], hedgeable(knowledge, bool(numbers)))
    clear_topic = intent if intent in knowledge.intents and knowledge.intents[intent].kind == "problem" else None
    context = Context(tracker.get_slot(TOPIC_SLOT), tracker.get_slot(PRODUCT_SLOT), idle_seconds(tracker),
                      offered_topics(tracker, knowledge.intent_titles))
    return knowledge.read_follow_up(text, context, named, numbers, clear_topic)


def product_before_latest_message(tracker: DialogueStateTracker) -> Optional[str]:
    """The service in context before the latest message (the product slot already holds the one it names)."""
    latest = max((i for i, event in enumerate(tracker.events) if isinstance(event, UserUttered)), default=0)
    product = None
    for event in itertools.islice(tracker.events, latest):
        if isinstance(event, SlotSet) and event.key == PRODUCT_SLOT:
            product = event.value
    return product


def offered_topics(tracker: DialogueStateTracker, titled_intents: Dict[str, str]) -> Tuple[str, ...]:
    """The intents the assistant's last reply offered as buttons (「您是想问…」, the greeting's), in their order."""
    seen_latest_message = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            if seen_latest_message:
                return ()
            seen_latest_message = True
        elif isinstance(event, BotUttered) and seen_latest_message and event.data.get("buttons"):
            payloads = (str(button.get("payload", "")) for button in event.data["buttons"])
            return tuple(p[1:] for p in payloads if p.startswith("/") and p[1:] in titled_intents)
    return ()


def idle_seconds(tracker: DialogueStateTracker) -> Optional[float]:
    """Seconds from the assistant's last reply to the latest message; None when it has not replied yet."""
    latest: Optional[float] = None
    for event in reversed(tracker.events):
        if latest is None:
            if isinstance(event, UserUttered):
                latest = event.timestamp
        elif isinstance(event, BotUttered):
            return latest - event.timestamp
    return None
