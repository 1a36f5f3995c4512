"""Low-confidence turns: answer the best topic at once when it is far enough ahead or the nearest training examples
agree on it, with 「不是这个问题？」 and the other likely topics as buttons (猜你想问); else ask "您是想问…吗?" with the
likeliest topics, those that fit the conversation's service first; after two misses, offer a person."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import answer_topic
from actions.fraud import check_numbers
from actions.replies import all_hotlines, entity_values, knowledge_for, product_named_now, resolve_product
from common.conversation import CLARIFY_ATTEMPTS_SLOT, PRODUCT_SLOT, TOPIC_SLOT
from common.hedge import hedge_topic, hedgeable
from common.knowledge import Knowledge

MAX_ATTEMPTS = 2
# Four short titles still fit on two lines of a phone's chat. On real customers' questions the right topic
# was among the first four for 0.936 of in-scope questions within one click, against 0.925 with three
# (eval/changes.md); a fifth or sixth added nothing there.
MAX_CHOICES = 4
MIN_CHOICE_CONFIDENCE = 0.05


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        knowledge = knowledge_for(tracker)
        attempts = int(tracker.get_slot(CLARIFY_ATTEMPTS_SLOT) or 0) + 1

        if attempts >= MAX_ATTEMPTS:
            product = resolve_product(tracker, knowledge, tracker.get_slot(TOPIC_SLOT))
            services = knowledge.services_for(product) or None
            dispatcher.utter_message(text=f"{knowledge.template('give_up')}\n{all_hotlines(knowledge, services)}")
            return [SlotSet(CLARIFY_ATTEMPTS_SLOT, 0.0)]

        ranking = tracker.latest_message.get("intent_ranking", [])
        topic = tracker.get_slot(TOPIC_SLOT)
        product = tracker.get_slot(PRODUCT_SLOT) if topic else None
        names = choice_intents(ranking, knowledge.intent_titles, context_order(knowledge, topic, product))
        numbers = list(dict.fromkeys(entity_values(tracker, "phone_number")))
        hedged = hedge_topic(ranking, hedgeable(knowledge, quotes_number=bool(numbers)))
        if hedged:
            product = resolve_product(tracker, knowledge, hedged)
            if hedged == "fraud_check":
                answered = [SlotSet(TOPIC_SLOT, hedged), *check_numbers(dispatcher, knowledge, numbers, product,
                                                                        hedged=True)]
            else:
                answered = answer_topic(dispatcher, knowledge, hedged, product, tracker, hedged=True)
            # No clarify_attempts event here: the console reads one set by action_clarify as a clarification (or,
            # at 0, as a second miss: ops/metrics.py), and this turn was answered.
            events = [event for event in answered if event.get("name") != CLARIFY_ATTEMPTS_SLOT]
            others = [name for name in names if name != hedged]
            if others:
                dispatcher.utter_message(text=knowledge.template("hedge"), buttons=buttons(others, knowledge))
            return events
        choices = buttons(names, knowledge)
        if choices:
            dispatcher.utter_message(text=knowledge.template("clarify"), buttons=choices)
        else:
            dispatcher.utter_message(text=knowledge.template("clarify_none"))
        # "95188多少" clarified, then "打不通咋办": the service this message named or quoted is the one in context.
        named_now = product_named_now(tracker, knowledge)
        in_context = [SlotSet(PRODUCT_SLOT, named_now)] if named_now else []
        return [SlotSet(CLARIFY_ATTEMPTS_SLOT, float(attempts)), *in_context]


def buttons(names: List[str], knowledge: Knowledge) -> List[Dict[str, str]]:
    return [{"title": knowledge.intent_titles[name], "payload": f"/{name}"} for name in names]


def choice_intents(ranking: List[Dict[str, Any]], intent_titles: Dict[str, str],
                   order: Optional[Callable[[str], int]] = None) -> List[str]:
    """The topics offered as buttons: the likeliest that have a title, each at least MIN_CHOICE_CONFIDENCE; with a
    service in the conversation, in the order `order` gives (a stable sort: likelihood decides within)."""
    likely = [c["name"] for c in ranking
              if c.get("name") in intent_titles and c.get("confidence", 0) >= MIN_CHOICE_CONFIDENCE]
    return sorted(likely, key=order)[:MAX_CHOICES] if order else likely[:MAX_CHOICES]


def context_order(knowledge: Knowledge, topic: Optional[str], product: Optional[str]) -> Optional[Callable[[str], int]]:
    """With a topic in the conversation: that topic first, then its service's own topics (default_product in
    intents.yml), then topics of any service, then another service's (after a repair, 配件购买 before 利息和费用)."""
    if not topic:
        return None
    services = [service.key for service in knowledge.services_for(product)]

    def rank(name: str) -> int:
        if name == topic:
            return 0
        entry = knowledge.topics.get(name)
        default = entry.default_product if entry else None
        return 1 if default in services else 2 if default is None else 3

    return rank
