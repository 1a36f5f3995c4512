"""Low-confidence turns: ask "您是想问…吗?" with the likeliest topics; after two misses, offer a person."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.replies import all_hotlines, knowledge_for, resolve_product
from common.conversation import CLARIFY_ATTEMPTS_SLOT, TOPIC_SLOT

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
        choices = [
            {"title": knowledge.intent_titles[name], "payload": f"/{name}"}
            for name in choice_intents(ranking, knowledge.intent_titles)
        ]
        if choices:
            dispatcher.utter_message(text=knowledge.template("clarify"), buttons=choices)
        else:
            dispatcher.utter_message(text=knowledge.template("clarify_none"))
        return [SlotSet(CLARIFY_ATTEMPTS_SLOT, float(attempts))]


def choice_intents(ranking: List[Dict[str, Any]], intent_titles: Dict[str, str]) -> List[str]:
    """The topics offered as buttons: the likeliest that have a title, each at least MIN_CHOICE_CONFIDENCE."""
    return [
        c["name"]
        for c in ranking
        if c.get("name") in intent_titles and c.get("confidence", 0) >= MIN_CHOICE_CONFIDENCE
    ][:MAX_CHOICES]
