"""Answers a message that leans on the previous turn, as the context policy read it (the follow_up slot;
common/follow_ups.py says how it is read, knowledge/follow_ups.yml holds the phrases and the answers)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import answer_topic, resolved_buttons
from actions.clarify import buttons
from actions.fraud import after_fraud, check_numbers
from actions.handoff import hand_off, tell_service_hours
from actions.replies import answer_metadata, entity_values, knowledge_for, product_buttons
from common.conversation import ANSWER_KIND_KEY, CLARIFY_ATTEMPTS_SLOT, FOLLOW_UP_ACTION, FOLLOW_UP_SLOT, PRODUCT_SLOT
from common.follow_ups import ASPECT, HAPPENED, NOT_RESOLVED, NUMBER, SWITCH, FollowUp
from common.knowledge import Knowledge


class ActionFollowUp(Action):
    def name(self) -> str:
        return FOLLOW_UP_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        knowledge = knowledge_for(tracker)
        follow_up = FollowUp.from_slot(tracker.get_slot(FOLLOW_UP_SLOT))
        if follow_up is None:  # only the context policy runs this action, and it always sets the slot
            dispatcher.utter_message(text=knowledge.template("clarify_none"))
            return []
        kind = {ANSWER_KIND_KEY: follow_up.kind}
        product = follow_up.product
        events: List[EventType] = [SlotSet(FOLLOW_UP_SLOT, None), SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0)]
        if follow_up.kind == SWITCH:
            return events + answer_for_another_service(dispatcher, knowledge, follow_up, tracker, kind)
        if follow_up.kind == NUMBER:
            # "那10086呢": digits the entity layer leaves alone. "这个号码是真的吗" with no digits, after a hotline
            # card: the line of the service in context.
            numbers = (entity_values(tracker, "phone_number") or ([follow_up.number] if follow_up.number else [])
                       or [s.dial for s in knowledge.services_for(product)][:1])
            return events + check_numbers(dispatcher, knowledge, numbers, product, **kind)
        if follow_up.kind == HAPPENED:
            steps = f"{knowledge.follow_ups.leads['happened']}\n{knowledge.template('fraud_happened')}"
            return events + after_fraud(dispatcher, knowledge, product, tracker, steps, **kind)
        if follow_up.kind == NOT_RESOLVED:
            # After a scam warning or the after-fraud steps there was nothing to "solve": a lead of its own.
            after_fraud_topic = follow_up.topic in knowledge.follow_ups.happened_topics
            lead = knowledge.follow_ups.leads["not_resolved_after_fraud" if after_fraud_topic else "not_resolved"]
            dispatcher.utter_message(text=lead)
            return events + hand_off(dispatcher, knowledge, product, tracker)
        if follow_up.kind == ASPECT:
            return events + answer_aspect(dispatcher, knowledge, follow_up, kind)
        raise ValueError(f"unknown follow-up kind {follow_up.kind}")


def answer_for_another_service(dispatcher: CollectingDispatcher, knowledge: Knowledge, follow_up: FollowUp,
                               tracker: Tracker, metadata: Dict[str, Any]) -> List[EventType]:
    """The same question for the service just named: its answer, its hours or its card."""
    topic, product = follow_up.topic, follow_up.product
    if not topic:  # "支付宝呢" after 「您是想问…」: the same choices, for that service
        service = "、".join(service.name for service in knowledge.services_for(product))
        dispatcher.utter_message(text=knowledge.template("clarify_for_service", service=service),
                                 buttons=buttons(list(follow_up.offered), knowledge))
        return [SlotSet(PRODUCT_SLOT, product)]
    services = knowledge.services_for(product)
    if len(services) > 1:  # "小米的也是这样吗": the brand has two services; each button answers the same question
        dispatcher.utter_message(text=knowledge.template("ask_product"), buttons=product_buttons(services, topic))
        return []
    if topic in knowledge.topics and topic != "service_hours":
        return answer_topic(dispatcher, knowledge, topic, product, tracker, **metadata)
    if topic == "service_hours":
        return tell_service_hours(dispatcher, knowledge, product)
    events: List[EventType] = [SlotSet(PRODUCT_SLOT, product)] if product else []
    return events + hand_off(dispatcher, knowledge, product, tracker)  # a hotline or a number check before


def answer_aspect(dispatcher: CollectingDispatcher, knowledge: Knowledge, follow_up: FollowUp,
                  metadata: Dict[str, Any]) -> List[EventType]:
    """What the documents say about that aspect (cost, duration, where, how, what to prepare, when) of the topic."""
    aspect, product = follow_up.aspect, follow_up.product
    services = knowledge.services_for(product)
    metadata = {**metadata, "aspect": aspect}
    text = aspect_text(knowledge, follow_up.topic, aspect, product)
    if aspect == "time":  # followed by the service's hours and whether it is staffed now
        return tell_service_hours(dispatcher, knowledge, product, text, follow_up.topic, **metadata)
    dispatcher.utter_message(
        text=f"{text}\n\n{knowledge.template('resolved_question')}",
        buttons=resolved_buttons(knowledge),
        **answer_metadata(follow_up.topic, services, **metadata),
    )
    return []


def aspect_text(knowledge: Knowledge, topic: str, aspect: Optional[str], product: Optional[str]) -> str:
    rules = knowledge.follow_ups
    specific = rules.answers.get(topic, {}).get(aspect or "")
    if specific:
        return specific.strip()
    services = knowledge.services_for(product)
    if len(services) == 1:
        service = services[0]
        return rules.generic[aspect].strip().format(online=service.online, prepare="、".join(service.prepare))
    return rules.generic[aspect].strip().format(online="官方App或官网的在线客服", prepare="身份信息和问题描述")
