"""The conversation viewer (会话): each conversation as the customer saw it, the agents' messages of a live chat
included, and the list's search and filters (service, topic, handed off, rated, date). Masked throughout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from common.knowledge import Knowledge
from common.live_chat import AGENT, BOT, Chat, Message
from ops import metrics
from ops.masking import mask_for_display


@dataclass(frozen=True)
class Filters:
    text: str = ""  # in what the customer wrote
    service: str = ""
    topic: str = ""
    handed_off: bool = False
    rated: bool = False

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        return cls(text=(query.get("q") or "").strip(), service=query.get("service") or "",
                   topic=query.get("topic") or "", handed_off=query.get("handoff") in ("1", "true"),
                   rated=query.get("rated") in ("1", "true"))


def _shown(turn: metrics.Turn, titles: Dict[str, str]) -> str:
    """A user message as the list shows it: typed text (masked), or the clicked topic's title."""
    if not turn.is_click:
        return mask_for_display(turn.text)
    return f"（点选）{titles.get(turn.intent, turn.intent)}"


def list_row(conversation: str, turns: List[metrics.Turn], chat: Optional[Chat],
             knowledge: Knowledge) -> Optional[Dict[str, Any]]:
    """One conversation of the list, with what the filters look at; None when the customer only opened the page."""
    said = [turn for turn in turns if not turn.opens_page]
    if not said:
        return None
    titles = knowledge.intent_titles
    services = {service for turn in said for service in turn.handoffs}
    if chat is not None:
        services.add(chat.service)
    return {
        "id": conversation,
        "last_seen": said[-1].timestamp,
        "messages": len(said),
        "first_message": _shown(said[0], titles),
        "topics": sorted({turn.intent for turn in said if turn.intent in titles}),
        "services": sorted(services),
        "handed_off": bool(services),
        "live_chat": chat is not None,
        "rating": chat.rating if chat is not None else None,
        "_texts": [mask_for_display(turn.text) for turn in said if not turn.is_click],
    }


def matches(row: Dict[str, Any], filters: Filters) -> bool:
    return ((not filters.text or any(filters.text in text for text in row["_texts"]))
            and (not filters.service or filters.service in row["services"])
            and (not filters.topic or filters.topic in row["topics"])
            and (not filters.handed_off or row["handed_off"])
            and (not filters.rated or row["rating"] is not None))


def transcript(events: List[Dict[str, Any]], live: Sequence[Message], agent_names: Dict[int, str],
               knowledge: Knowledge) -> List[Dict[str, Any]]:
    """The conversation as the customer saw it, in time order: their messages (a click as the button's title,
    with what the NLU made of it; those written to an agent marked so), each reply with its buttons and the
    action that sent it, and a live chat's agent messages and notices. The page's own opening message is left
    out. `agent_names`: live chat id -> the agent's name."""
    rows: List[Dict[str, Any]] = []
    action: Optional[str] = None
    titles: Dict[str, str] = {}  # payload -> title of the latest reply's buttons
    paused = False
    for event in events:
        kind = event.get("event")
        if kind in ("pause", "resume"):
            paused = kind == "pause"
        elif kind == "user":
            text = event.get("text") or ""
            intent = (event.get("parse_data") or {}).get("intent") or {}
            if text == metrics.PAGE_OPEN and text not in titles:
                continue
            clicked = text.startswith("/")
            shown = titles.get(text) or knowledge.intent_titles.get(intent.get("name") or "", text) if clicked \
                else text
            rows.append({"from": "user", "time": event.get("timestamp"), "text": mask_for_display(shown),
                         "clicked": clicked, "to_person": paused, "intent": intent.get("name"),
                         "confidence": round(float(intent.get("confidence") or 0), 3)})
        elif kind == "action" and event.get("name") != "action_listen":
            action = event.get("name")
        elif kind == "bot":
            buttons = (event.get("data") or {}).get("buttons") or []
            titles = {button.get("payload"): button.get("title", "") for button in buttons}
            rows.append({"from": "bot", "time": event.get("timestamp"),
                         "text": mask_for_display(event.get("text") or ""),
                         "buttons": [mask_for_display(button.get("title", "")) for button in buttons],
                         "action": action})
    for message in live:
        if message.sender == AGENT:
            rows.append({"from": "agent", "time": message.at, "name": agent_names.get(message.chat_id, ""),
                         "text": mask_for_display(message.text)})
        elif message.sender == BOT and message.text:
            rows.append({"from": "notice", "time": message.at, "text": mask_for_display(message.text)})
    return sorted(rows, key=lambda row: row["time"] or 0)  # stable: same-time rows keep their order
