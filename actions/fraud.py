"""Is this number official? Does this sound like a scam? Has fraud already happened? Answers from the
hotline data only."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import hand_off
from actions.replies import entity_values, hotline_line, knowledge_for, number_verdict, resolve_product
from common.conversation import CLARIFY_ATTEMPTS_SLOT
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
        if kind == "fraud_happened" or (kind and not knowledge.sounds_like_scam(text)):
            # Harm already done: what to do now, then the line that can freeze the account.
            dispatcher.utter_message(text=knowledge.template(kind))
            return hand_off(dispatcher, knowledge, resolve_product(tracker, knowledge), tracker)
        lines = [number_verdict(digits, knowledge) for digits in numbers]
        lines.append(knowledge.template("anti_fraud" if numbers else "scam_warning"))
        services = knowledge.services_for(resolve_product(tracker, knowledge))
        if len(services) == 1:
            lines.append(hotline_line(services[0], knowledge))
        dispatcher.utter_message(text="\n".join(lines))
        return [SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0)]
