"""Hand-off to a person: the right official hotline, its hours, and what to have ready."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import (
    answer_metadata,
    entity_values,
    hotline_card,
    hotline_line,
    hours_lines,
    knowledge_for,
    now_in_service_timezone,
    number_verdict,
    product_buttons,
    resolve_product,
)
from common.conversation import CLARIFY_ATTEMPTS_SLOT, HANDOFF_KEY, PRODUCT_SLOT, TOPIC_SLOT
from common.knowledge import Knowledge
from common.live_chat import LiveChats, join_payload, ticket_payload
from common.tracker_db import engine_from_env

logger = logging.getLogger(__name__)

# Live chat needs the page's socket: agents' replies cannot reach a REST client.
LIVE_CHAT_CHANNEL = "socketio"
_live_chats: List[LiveChats] = []


def agent_online_for(service: str) -> bool:
    """Whether an agent of the service is online now (the live-chat store in the tracker database)."""
    try:
        if not _live_chats:
            _live_chats.append(LiveChats(engine_from_env()))
        return service in _live_chats[0].online_services()
    except Exception:  # the database is down: offer the hotline only
        logger.exception("Could not read which agents are online")
        return False


def hand_off(dispatcher: CollectingDispatcher, knowledge: Knowledge, product: Optional[str],
             tracker: Tracker) -> List[EventType]:
    """Sends the hotline card for one service, or asks which service when that is not clear. On the chat page
    (which can show agents' replies) the card carries a 「在线人工」 button when an agent of the service is
    online, and a 「留言」 button when nobody is or it is outside the service's hours."""
    services = knowledge.services_for(product)
    if len(services) == 1:
        buttons = []
        service = services[0]
        if tracker.get_latest_input_channel() == LIVE_CHAT_CHANNEL:
            online = agent_online_for(service.key)
            if online:
                buttons.append({"title": knowledge.template("live_button"), "payload": join_payload(service.key)})
            if not online or (service.hours is not None and not service.hours.is_open(now_in_service_timezone())):
                buttons.append({"title": knowledge.template("live_ticket_button"),
                                "payload": ticket_payload(service.key)})
        dispatcher.utter_message(text=hotline_card(service, knowledge, now_in_service_timezone()),
                                 buttons=buttons, **{HANDOFF_KEY: service.key})
        return [SlotSet(PRODUCT_SLOT, service.key), SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0)]
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
        knowledge = knowledge_for(tracker)
        # "客服电话是400-680-8581吗": answer the quoted number before giving the real one.
        for digits in dict.fromkeys(entity_values(tracker, "phone_number")):
            dispatcher.utter_message(text=number_verdict(digits, knowledge))
        topic = tracker.get_slot(TOPIC_SLOT)
        product = resolve_product(tracker, knowledge, topic)
        # After a card that followed no problem, "那小米贷款的呢" asks for another service's card.
        return [SlotSet(TOPIC_SLOT, topic or "ask_hotline"), *hand_off(dispatcher, knowledge, product, tracker)]


class ActionTellServiceHours(Action):
    def name(self) -> str:
        return "action_tell_service_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        knowledge = knowledge_for(tracker)
        product = resolve_product(tracker, knowledge, tracker.get_slot(TOPIC_SLOT))
        return tell_service_hours(dispatcher, knowledge, product)


def tell_service_hours(dispatcher: CollectingDispatcher, knowledge: Knowledge, product: Optional[str],
                       lead: Optional[str] = None, topic: str = "service_hours", **metadata: Any) -> List[EventType]:
    """Each service's line with its hours and whether it is staffed now; all services when none is known."""
    services = knowledge.services_for(product) or list(knowledge.services.values())
    now = now_in_service_timezone()
    blocks = [lead or knowledge.topics["service_hours"].answer_for(product)]
    for service in services:
        blocks.append("\n".join([hotline_line(service, knowledge), *hours_lines(service, knowledge, now)]))
    dispatcher.utter_message(text="\n\n".join(blocks), **answer_metadata(topic, services, **metadata))
    events: List[EventType] = [SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0), SlotSet(TOPIC_SLOT, topic)]
    if len(services) == 1:
        events.append(SlotSet(PRODUCT_SLOT, services[0].key))
    return events
