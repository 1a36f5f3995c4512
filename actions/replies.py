"""Reply building blocks shared by the actions: product context, hotline cards, number verdicts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

from rasa_sdk import Tracker

from common.conversation import ANSWER_SERVICE_KEY, ANSWER_TOPIC_KEY, PRODUCT_SLOT
from common.knowledge import SERVICE_TIMEZONE, Knowledge, Service, UnofficialNumber
from common.knowledge_store import AnsweringKnowledge
from common.text import format_phone
from common.tracker_db import engine_from_env

# Answers, titles, hours and notes as last published in the console (common/knowledge_store.py).
_answering = AnsweringKnowledge(engine_from_env)


def knowledge_for(tracker: Tracker) -> Knowledge:
    """The knowledge to answer this conversation with: the published version, or the draft in a test chat."""
    return _answering.for_conversation(tracker.sender_id)


def entity_values(tracker: Tracker, entity: str) -> List[str]:
    return [str(value) for value in tracker.get_latest_entity_values(entity)]


def resolve_product(tracker: Tracker, knowledge: Knowledge, topic: Optional[str] = None) -> Optional[str]:
    """The product this turn is about: named now, else set by an official hotline quoted now ("95188 打不进去"),
    else implied by the topic, else the one from earlier. A brand named now that fits several services is the
    topic's own service where it has one ("小米原装充电器" is 小米售后)."""
    topic_entry = knowledge.topics.get(topic or "")
    named_now = product_named_now(tracker, knowledge)
    if named_now:
        services = [service.key for service in knowledge.services_for(named_now)]
        if len(services) > 1 and topic_entry and topic_entry.default_product in services:
            return topic_entry.default_product
        return named_now
    if topic_entry and topic_entry.default_product:
        return topic_entry.default_product
    return tracker.get_slot(PRODUCT_SLOT)


def product_named_now(tracker: Tracker, knowledge: Knowledge) -> Optional[str]:
    """The product (a service, or a brand of several) the latest message names, or the service whose official
    hotline it quotes; None when it does neither."""
    named = entity_values(tracker, PRODUCT_SLOT)
    return named[-1] if named else quoted_service(tracker, knowledge)


def quoted_service(tracker: Tracker, knowledge: Knowledge) -> Optional[str]:
    """The service whose official line the latest message quotes, if any."""
    services = services_of_numbers(knowledge, entity_values(tracker, "phone_number"))
    return services[0].key if services else None


def services_of_numbers(knowledge: Knowledge, numbers: List[str]) -> List[Service]:
    """The services whose official lines these are, once each, in the numbers' order."""
    owners = {owner.key: owner for owner in map(knowledge.lookup_number, numbers) if isinstance(owner, Service)}
    return list(owners.values())


def hours_lines(service: Service, knowledge: Knowledge, now: datetime) -> List[str]:
    if service.hours is None:
        return [knowledge.template("hours_unknown")]
    hours = service.hours
    lines = [
        knowledge.template(
            "hours_known",
            days=hours.days,
            open=hours.open.strftime("%H:%M"),
            close=hours.close.strftime("%H:%M"),
            note=hours.note,
        )
    ]
    local_now = now.astimezone(SERVICE_TIMEZONE).strftime("%H:%M")
    lines.append(knowledge.template("open_now" if hours.is_open(now) else "closed_now", now=local_now))
    return lines


def hotline_line(service: Service, knowledge: Knowledge) -> str:
    return knowledge.template("hotline", name=service.name, hotline=service.hotline, dial=service.dial)


def _hotline_card_head(service: Service, knowledge: Knowledge) -> str:
    return f"{hotline_line(service, knowledge)}\n{service.human_agent_tip}。"


def hotline_card(service: Service, knowledge: Knowledge, now: datetime) -> str:
    """Everything a user needs before calling: number, how to reach a person, hours, what to prepare."""
    lines = [_hotline_card_head(service, knowledge)]
    lines += hours_lines(service, knowledge, now)
    lines.append(knowledge.template("prepare", items="、".join(service.prepare)))
    lines.append(knowledge.template("online", online=service.online))
    lines.append(knowledge.template("anti_fraud"))
    return "\n".join(lines)


def all_hotlines(knowledge: Knowledge, services: Optional[Iterable[Service]] = None) -> str:
    return "\n".join(hotline_line(s, knowledge) for s in (services or knowledge.services.values()))


def product_buttons(services: Iterable[Service], intent: str) -> List[Dict[str, str]]:
    return [
        {"title": s.short_name, "payload": f"/{intent}{json.dumps({PRODUCT_SLOT: s.key})}"}
        for s in services
    ]


def number_verdict(digits: str, knowledge: Knowledge) -> str:
    number = format_phone(digits)
    owner = knowledge.lookup_number(digits)
    if isinstance(owner, Service):
        return knowledge.template("number_official", number=number, name=owner.name)
    if isinstance(owner, UnofficialNumber):
        return knowledge.template("number_unofficial", number=number, owner=owner.owner, note=owner.note)
    return knowledge.template("number_unknown")


def now_in_service_timezone() -> datetime:
    return datetime.now(SERVICE_TIMEZONE)


def message(text: str, buttons: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    return {"text": text, "buttons": buttons or []}


def answer_metadata(topic: str, services: List[Service], **more: Any) -> Dict[str, Any]:
    """What an answer is about, stored with the bot's message (common/conversation.py): its topic, and its
    service when it answers for one."""
    about: Dict[str, Any] = {ANSWER_TOPIC_KEY: topic, **more}
    if len(services) == 1:
        about[ANSWER_SERVICE_KEY] = services[0].key
    return about
