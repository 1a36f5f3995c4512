"""Last pipeline step: messages a Chinese classifier cannot read, and scam reports, get a fixed intent.

A message matching knowledge/scam_signals.yml is `fraud_check`, so the warning never depends on the
classifier. Empty text, emoji and punctuation become `unreadable_input`; a bare phone number becomes
`fraud_check` (the user wants to know whose number it is); other text without any Chinese
becomes `non_chinese`, unless the classifier already heard a greeting, thanks or yes/no.
Text with Chinese in it is never unreadable or non-Chinese: the next intent in the ranking is taken.
A request to be put through to a person (knowledge/person_requests.yml, seeking_a_person) gets `ask_hotline` even
under the threshold when that is its likeliest intent, or when it names the service: asking for a person must not
cost a click ("支付宝的人工客服怎么找", "花呗多扣了钱，我要找人工": that service's hotline card, with 在线人工).
Without a service named and with another likeliest intent, it is clarified as before ("我要转人工 我要改发票抬头").
"""

from __future__ import annotations

from typing import List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME as FALLBACK_INTENT
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from common.knowledge import load_knowledge
from common.text import has_chinese, has_latin
from pipeline.entities import PHONE_NUMBER, PRODUCT
from pipeline.stateless import StatelessComponent


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputGuard(StatelessComponent, IntentClassifier):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = self._forced_intent(message)
            if intent:
                ranking = [{"name": intent, "confidence": 1.0}]
                message.set(INTENT, ranking[0], add_to_output=True)
                message.set("intent_ranking", ranking, add_to_output=True)
            elif has_chinese(message.get(TEXT) or ""):
                self._drop_guard_intents(message)
                self._answer_an_unsure_person_request(message)
        return messages

    @staticmethod
    def _answer_an_unsure_person_request(message: Message) -> None:
        if (message.get(INTENT) or {}).get("name") != FALLBACK_INTENT:
            return
        ranked = [r for r in message.get("intent_ranking", []) if r["name"] != FALLBACK_INTENT]
        if not ranked or not load_knowledge().seeks_a_person(message.get(TEXT)):
            return
        names_a_service = any(e[ENTITY_ATTRIBUTE_TYPE] == PRODUCT for e in message.get(ENTITIES, []))
        if ranked[0]["name"] == "ask_hotline" or names_a_service:
            hotline = next((r for r in ranked if r["name"] == "ask_hotline"), None)
            message.set(INTENT, hotline or {"name": "ask_hotline", "confidence": 0.0}, add_to_output=True)

    @staticmethod
    def _drop_guard_intents(message: Message) -> None:
        """Also from the ranking: the clarification offers its top entries as buttons."""
        guard_intents = load_knowledge().intents_of_kind("guard")
        ranking = [r for r in message.get("intent_ranking", []) if r["name"] not in guard_intents]
        message.set("intent_ranking", ranking, add_to_output=True)
        if ranking and (message.get(INTENT) or {}).get("name") in guard_intents:
            message.set(INTENT, ranking[0], add_to_output=True)

    @staticmethod
    def _forced_intent(message: Message) -> Optional[str]:
        text = message.get(TEXT) or ""
        if load_knowledge().sounds_like_scam(text):
            return "fraud_check"
        if has_chinese(text):
            return None
        if any(e[ENTITY_ATTRIBUTE_TYPE] == PHONE_NUMBER for e in message.get(ENTITIES, [])):
            return "fraud_check"
        if has_latin(text):
            predicted = load_knowledge().intents.get((message.get(INTENT) or {}).get("name"))
            return None if predicted is not None and predicted.any_language else "non_chinese"
        return "unreadable_input"
