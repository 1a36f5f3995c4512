"""Is this number official? Does this sound like a scam? Has fraud already happened? Answers from the
hotline data only."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import hand_off
from actions.replies import (
    answer_metadata,
    entity_values,
    hotline_line,
    knowledge_for,
    number_verdict,
    resolve_product,
    services_of_numbers,
)
from common.conversation import CLARIFY_ATTEMPTS_SLOT, PRODUCT_SLOT, TOPIC_SLOT
from common.knowledge import Knowledge
from common.text import normalize


class ActionCheckFraud(Action):
    def name(self) -> str:
        return "action_check_fraud"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        knowledge = knowledge_for(tracker)
        numbers = list(dict.fromkeys(entity_values(tracker, "phone_number")))
        text = normalize(tracker.latest_message.get("text"))
        kind = None if numbers else knowledge.fraud_kind(text)
        product = resolve_product(tracker, knowledge)
        events: List[EventType] = [SlotSet(TOPIC_SLOT, "fraud_check")]
        if kind == "fraud_happened" or (kind and not knowledge.sounds_like_scam(text)):
            # Harm already done: what to do now, then the line that can freeze the account.
            return events + after_fraud(dispatcher, knowledge, product, tracker, knowledge.template(kind))
        if not numbers and asks_about_a_number(knowledge, text):
            # "这个号码是真的吗" with nothing before it: the number is still to come (action_follow_up checks it).
            dispatcher.utter_message(text=f"{knowledge.template('number_please')}\n{knowledge.template('anti_fraud')}",
                                     **answer_metadata("fraud_check", knowledge.services_for(product)))
            return events
        return events + check_numbers(dispatcher, knowledge, numbers, product)


def asks_about_a_number(knowledge: Knowledge, text: str) -> bool:
    """A short question about "this number" that quotes none and tells no scam story."""
    rules = knowledge.follow_ups
    return bool(rules and rules.this_number.search(text) and len(text) <= rules.longest
                and not knowledge.sounds_like_scam(text))


def after_fraud(dispatcher: CollectingDispatcher, knowledge: Knowledge, product: Optional[str], tracker: Tracker,
                steps: str, **metadata: Any) -> List[EventType]:
    """What to do now that money or an account is gone, then the card of the line that can freeze it."""
    dispatcher.utter_message(text=steps, **answer_metadata("fraud_check", knowledge.services_for(product), **metadata))
    return hand_off(dispatcher, knowledge, product, tracker)


def check_numbers(dispatcher: CollectingDispatcher, knowledge: Knowledge, numbers: List[str], product: Optional[str],
                  **metadata: Any) -> List[EventType]:
    """Each quoted number's verdict and the anti-fraud reminder; the scam warning when none is quoted."""
    lines = [number_verdict(digits, knowledge) for digits in numbers]
    lines.append(knowledge.template("anti_fraud" if numbers else "scam_warning"))
    # "95188多少" then "打不通咋办": an official line just confirmed is the service the conversation is about.
    services = services_of_numbers(knowledge, numbers) or knowledge.services_for(product)
    if len(services) == 1:
        lines.append(hotline_line(services[0], knowledge))
    dispatcher.utter_message(text="\n".join(lines), **answer_metadata("fraud_check", services, **metadata))
    in_context = [SlotSet(PRODUCT_SLOT, services[0].key)] if len(services) == 1 else []
    return [SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0), *in_context]
