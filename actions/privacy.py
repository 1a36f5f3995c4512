"""Deletion on request: after the user confirmed, say the history is gone and tell the page to forget it.

The erasure itself happens in the Rasa server, when the tracker store saves this turn
(common/erasure.py): an action here cannot do it, since the turn's own save would write the
conversation back.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from common.erasure import CLEAR_PAGE_MESSAGE, ERASE_ACTION
from common.knowledge import load_knowledge


class ActionDeleteHistory(Action):
    def name(self) -> str:
        return ERASE_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        dispatcher.utter_message(text=load_knowledge().template("history_deleted"), json_message=CLEAR_PAGE_MESSAGE)
        return []
