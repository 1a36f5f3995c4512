"""Hand-off to a person: the right official hotline, its hours, and what to have ready."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import (
    entity_values,
    hotline_card,
    hotline_line,
    hours_lines,
    now_in_service_timezone,
    number_verdict,
    product_buttons,
    resolve_product,
)
from common.conversation import CLARIFY_ATTEMPTS_SLOT, HANDOFF_KEY, PRODUCT_SLOT, TOPIC_SLOT
from common.knowledge import Knowledge, load_knowledge


def hand_off(dispatcher: CollectingDispatcher, knowledge: Knowledge, product: Optional[str]) -> List[EventType]:
    """Sends the hotline card for one service, or asks which service when that is not clear."""
    services = knowledge.services_for(product)
    if len(services) == 1:
        dispatcher.utter_message(text=hotline_card(services[0], knowledge, now_in_service_timezone()),
                                 **{HANDOFF_KEY: services[0].key})
        return [SlotSet(PRODUCT_SLOT, services[0].key), SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0)]
    choices = services or list(knowledge.services.values())
    dispatcher.utter_message(
        text=knowledge.template("ask_product"), buttons=product_buttons(choices, "ask_hotline")
    )
    return [SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0)]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        knowledge = load_knowledge()
        # "客服电话是400-680-8581吗": answer the quoted number before giving the real one.
        for digits in dict.fromkeys(entity_values(tracker, "phone_number")):
            dispatcher.utter_message(text=number_verdict(digits, knowledge))
        product = resolve_product(tracker, knowledge, tracker.get_slot(TOPIC_SLOT))
        return hand_off(dispatcher, knowledge, product)


class ActionTellServiceHours(Action):
    def name(self) -> str:
        return "action_tell_service_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        knowledge = load_knowledge()
        product = resolve_product(tracker, knowledge, tracker.get_slot(TOPIC_SLOT))
        services = knowledge.services_for(product) or list(knowledge.services.values())
        now = now_in_service_timezone()
        blocks = [knowledge.topics["service_hours"].answer_for(product)]
        for service in services:
            blocks.append("\n".join([hotline_line(service, knowledge), *hours_lines(service, knowledge, now)]))
        dispatcher.utter_message(text="\n\n".join(blocks))
        events: List[EventType] = [SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0)]
        if len(services) == 1:
            events.append(SlotSet(PRODUCT_SLOT, services[0].key))
        return events
