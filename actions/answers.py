"""Self-help answers for the problem intents, from the intent catalogue (knowledge/intents.yml)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import hand_off
from actions.replies import answer_metadata, knowledge_for, product_buttons, resolve_product
from common.conversation import CLARIFY_ATTEMPTS_SLOT, PRODUCT_SLOT, TOPIC_SLOT
from common.knowledge import Knowledge
from common.text import normalize


class ActionAnswerProblem(Action):
    """Answers the problem the latest message describes, for the product in context."""

    def name(self) -> str:
        return "action_answer_problem"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        knowledge = knowledge_for(tracker)
        topic_key = tracker.get_intent_of_latest_message()
        if topic_key not in knowledge.topics:  # a rule points an intent here that has no answer in intents.yml
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        product = resolve_product(tracker, knowledge, topic_key)
        return answer_topic(dispatcher, knowledge, topic_key, product, tracker)


def answer_topic(dispatcher: CollectingDispatcher, knowledge: Knowledge, topic_key: str, product: Optional[str],
                 tracker: Tracker, **metadata: Any) -> List[EventType]:
    """A problem's self-help answer for a product, with 解决了/没解决 buttons, or the hotline card after it where a
    person is needed; asks which service first where the answer differs per service and none is known."""
    topic = knowledge.topics[topic_key]
    events: List[EventType] = [SlotSet(TOPIC_SLOT, topic_key), SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0)]
    if product:
        events.append(SlotSet(PRODUCT_SLOT, product))

    services = knowledge.services_for(product)
    if topic.ask_service and len(services) != 1:
        # "电话打不通" means a different line per service: ask, and each button answers the same topic.
        dispatcher.utter_message(
            text=knowledge.template("ask_product"),
            buttons=product_buttons(services or knowledge.services.values(), topic_key),
        )
        return events

    about = answer_metadata(topic_key, services, **metadata)
    # Complaints always go to a person; so does any problem whose message also asks for one
    # ("耳机坏了想修，顺便给我售后的电话").
    if topic.handoff or knowledge.asks_for_person(normalize(tracker.latest_message.get("text"))):
        dispatcher.utter_message(text=topic.answer_for(product), **about)
        return events + hand_off(dispatcher, knowledge, product, tracker)

    dispatcher.utter_message(
        text=f"{topic.answer_for(product)}\n\n{knowledge.template('resolved_question')}",
        buttons=resolved_buttons(knowledge),
        **about,
    )
    return events


def resolved_buttons(knowledge: Knowledge) -> List[Dict[str, str]]:
    return [
        {"title": knowledge.template("resolved_yes"), "payload": "/affirm"},
        {"title": knowledge.template("resolved_no"), "payload": "/deny"},
    ]
