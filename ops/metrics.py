"""All of the console's counting: the dashboard figures and which messages need a review.

Input is what the tracker store holds (ops.store): each conversation's events in stored order.
Each user message becomes a Turn (the message, what the NLU made of it, what the assistant did
until the next message); every figure is counted from turns. docs/ops.md lists each figure and
its rule. Times are Beijing time (the services' own time zone).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, Iterable, List, Optional, Set

from common.conversation import CLARIFY_ACTION, CLARIFY_ATTEMPTS_SLOT, FOLLOW_UP_ACTION, HANDOFF_KEY
from common.knowledge import ANSWER_ACTION, SERVICE_TIMEZONE, Knowledge, Service, UnofficialNumber, load_knowledge
from common.text import format_phone, normalize
from ops.masking import mask_for_display

# How a hotline card began before it carried its service in the metadata: "…官方客服热线：[number](tel:digits)"
# and the next line. Other replies that list hotlines (hours, the give-up, the outage) begin otherwise.
_LEGACY_CARD = re.compile(r"^[^\n]*官方客服热线：\[[^\]\n]+\]\(tel:(\d+)\)\n")
DECLINE_ACTION = "utter_out_of_scope"
# A follow-up (要多少钱, 那借呗呢) answered with self-help and 解决了 / 没解决, as action_answer_problem answers; the
# same action's other replies (a hotline card after 还是不行, a number check) are not answers.
FOLLOW_UP_ANSWER = FOLLOW_UP_ACTION + ":answer"
ANSWERING_ACTIONS = (ANSWER_ACTION, FOLLOW_UP_ANSWER)
UNRESOLVED_PAYLOAD = "/deny"  # the 没解决 button that comes with every self-help answer
FALLBACK_INTENT = "nlu_fallback"
RESOLVED_INTENT, UNRESOLVED_INTENT = "affirm", "deny"  # the 解决了 / 没解决 buttons' payloads
COMPLAINT_INTENT = "complaint"
PAGE_OPEN = "/greet"  # what the chat page (web/static) sends by itself when it opens
PHONE_ENTITY = "phone_number"
# An unknown number quoted in this many different conversations is shown in full, to be reported.
SCAM_MIN_CONVERSATIONS = 3
TOP_TOPICS = 8
MAX_PERIOD_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Whole days in Beijing time, both ends included."""

    first: date
    last: date

    @classmethod
    def parse(cls, first: Optional[str], last: Optional[str], today: Optional[date] = None,
              default_days: int = 7) -> Period:
        """From ?from=YYYY-MM-DD&to=YYYY-MM-DD; by default the last `default_days` days up to today.
        ValueError if invalid."""
        today = today or datetime.now(SERVICE_TIMEZONE).date()
        end = date.fromisoformat(last) if last else today
        start = date.fromisoformat(first) if first else end - timedelta(days=default_days - 1)
        if start > end:
            raise ValueError("from is after to")
        if (end - start).days >= MAX_PERIOD_DAYS:
            raise ValueError(f"a period is at most {MAX_PERIOD_DAYS} days")
        return cls(start, end)

    @property
    def start(self) -> float:
        return datetime.combine(self.first, time(0), SERVICE_TIMEZONE).timestamp()

    @property
    def end(self) -> float:
        return datetime.combine(self.last + timedelta(days=1), time(0), SERVICE_TIMEZONE).timestamp()

    def days(self) -> List[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def __contains__(self, timestamp: float) -> bool:
        return self.start <= timestamp < self.end


@dataclass
class Turn:
    """One user message and everything the assistant did before the next one."""

    conversation: str
    timestamp: float
    text: str
    intent: str
    confidence: float
    predicted: str  # the likeliest real intent, also when the NLU fell back
    numbers: List[str]  # phone numbers the NLU found (digits)
    previous_action: Optional[str]  # what the assistant did last before this message
    actions: List[str] = field(default_factory=list)
    replies: List[str] = field(default_factory=list)
    handoffs: List[str] = field(default_factory=list)  # service keys of the hotline cards sent
    clarify_attempts: Optional[float] = None  # set by action_clarify: 0 when it gave up
    to_person: bool = False  # written while the bot was paused: to an agent in a live chat, not to the bot

    @property
    def opens_page(self) -> bool:
        """The chat page's own greeting request when it opens, not something the customer did."""
        return self.text == PAGE_OPEN

    @property
    def is_click(self) -> bool:
        """A button press (payload "/intent"), not typed text."""
        return self.text.startswith("/")

    @property
    def local_time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, SERVICE_TIMEZONE)


def turns_of(conversation: str, events: Iterable[Dict[str, Any]]) -> List[Turn]:
    turns: List[Turn] = []
    last_action: Optional[str] = None
    paused = False
    for event in events:
        kind = event.get("event")
        if kind in ("pause", "resume"):  # a live chat with a person (common/live_chat.py)
            paused = kind == "pause"
        elif kind == "user":
            parse = event.get("parse_data") or {}
            intent = parse.get("intent") or {}
            name = intent.get("name") or ""
            predicted, confidence = name, float(intent.get("confidence") or 0)
            if name == FALLBACK_INTENT:  # its confidence is only the threshold: show the likeliest topic's own
                likeliest = next((r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT),
                                 None)
                if likeliest is not None:
                    predicted, confidence = likeliest["name"], float(likeliest.get("confidence") or 0)
            numbers = [str(e["value"]) for e in parse.get("entities") or [] if e.get("entity") == PHONE_ENTITY]
            turns.append(
                Turn(conversation, float(event.get("timestamp") or 0), event.get("text") or "", name,
                     confidence, predicted, list(dict.fromkeys(numbers)), last_action, to_person=paused)
            )
        elif kind == "action" and event.get("name") not in (None, "action_listen"):
            last_action = event["name"]
            if turns:
                turns[-1].actions.append(last_action)
        elif kind == "bot" and turns:
            if last_action == FOLLOW_UP_ACTION and _offers_feedback(event):
                last_action = turns[-1].actions[-1] = FOLLOW_UP_ANSWER
            turns[-1].replies.append(event.get("text") or "")
            handoff = _handoff_service(event)
            if handoff:
                turns[-1].handoffs.append(handoff)
        elif kind == "slot" and turns and event.get("name") == CLARIFY_ATTEMPTS_SLOT and last_action == CLARIFY_ACTION:
            turns[-1].clarify_attempts = float(event.get("value") or 0)
    return turns


def _offers_feedback(bot_event: Dict[str, Any]) -> bool:
    buttons = (bot_event.get("data") or {}).get("buttons") or []
    return any(button.get("payload") == UNRESOLVED_PAYLOAD for button in buttons)


def _answer_feedback(turn: Turn) -> Optional[str]:
    """RESOLVED_INTENT or UNRESOLVED_INTENT when this message is a click on a self-help answer's buttons."""
    if turn.previous_action in ANSWERING_ACTIONS and turn.intent in (RESOLVED_INTENT, UNRESOLVED_INTENT):
        return turn.intent
    return None


def _handoff_service(bot_event: Dict[str, Any]) -> Optional[str]:
    """The service key of a hotline card: in the event's metadata, or, for cards stored before it was
    recorded there, the number of the card's first line as the card was then worded."""
    service = (bot_event.get("metadata") or {}).get(HANDOFF_KEY)
    if service:
        return service
    legacy = _LEGACY_CARD.match(bot_event.get("text") or "")
    owner = load_knowledge().lookup_number(legacy.group(1)) if legacy else None
    return owner.key if isinstance(owner, Service) else None


def _handoffs(turn: Turn, knowledge: Knowledge) -> List[Service]:
    return [knowledge.services[key] for key in turn.handoffs if key in knowledge.services]


def _number_kind(digits: str, knowledge: Knowledge) -> str:
    owner = knowledge.lookup_number(digits)
    if isinstance(owner, Service):
        return "official"
    return "unofficial" if isinstance(owner, UnofficialNumber) else "unknown"


def _masked_number(digits: str) -> str:
    """An unknown number seen too rarely to be called a scam line: never shown in full."""
    return mask_for_display(digits) if len(digits) >= 7 else digits[:2] + "*" * (len(digits) - 2)


def _hour_counts() -> Dict[str, int]:
    return {str(hour): 0 for hour in range(24)}


def summary(conversations: Dict[str, List[Dict[str, Any]]], period: Period, knowledge: Knowledge) -> Dict[str, Any]:
    """The dashboard's figures for the user messages in `period`."""
    turns = [t for cid, events in conversations.items() for t in turns_of(cid, events)
             if t.timestamp in period and not t.opens_page]
    days = [day.isoformat() for day in period.days()]
    intents: Counter = Counter()
    intents_by_day: Dict[str, Counter] = defaultdict(Counter)
    hours, handoff_hours = _hour_counts(), _hour_counts()
    products: Counter = Counter()
    closed: Counter = Counter()
    numbers = {"official": 0, "unofficial": 0, "unknown": 0}
    unknown_seen: Dict[str, Set[str]] = defaultdict(set)
    feedback: Counter = Counter()
    answers = clarifications = second_misses = declines = 0

    for turn in turns:
        moment = turn.local_time
        hours[str(moment.hour)] += 1
        intents[turn.intent] += 1
        intents_by_day[turn.intent][moment.date().isoformat()] += 1
        feedback[_answer_feedback(turn)] += 1
        answers += sum(turn.actions.count(action) for action in ANSWERING_ACTIONS)
        declines += turn.actions.count(DECLINE_ACTION)
        if turn.clarify_attempts is not None:
            if turn.clarify_attempts > 0:
                clarifications += 1
            else:
                second_misses += 1
        for service in _handoffs(turn, knowledge):
            products[service.key] += 1
            handoff_hours[str(moment.hour)] += 1
            if service.hours is not None and not service.hours.is_open(moment):
                closed[service.key] += 1
        for digits in turn.numbers:
            kind = _number_kind(digits, knowledge)
            numbers[kind] += 1
            if kind == "unknown":
                unknown_seen[digits].add(turn.conversation)

    resolved, unresolved = feedback[RESOLVED_INTENT], feedback[UNRESOLVED_INTENT]
    scam = sorted(((d, len(c)) for d, c in unknown_seen.items() if len(c) >= SCAM_MIN_CONVERSATIONS),
                  key=lambda item: (-item[1], item[0]))
    rare = sorted(((d, len(c)) for d, c in unknown_seen.items() if len(c) < SCAM_MIN_CONVERSATIONS),
                  key=lambda item: (-item[1], item[0]))
    topics = [name for name, _ in intents.most_common() if name in knowledge.intent_titles][:TOP_TOPICS]
    return {
        "period": {"from": days[0], "to": days[-1], "timezone": str(SERVICE_TIMEZONE)},
        "conversations": len({turn.conversation for turn in turns}),
        "user_messages": len(turns),
        "answers": answers,
        "resolved": resolved,
        "unresolved": unresolved,
        "resolution_rate": round(resolved / (resolved + unresolved), 3) if resolved + unresolved else None,
        "handoffs": sum(products.values()),
        "handoffs_while_closed": sum(closed.values()),
        "clarifications": clarifications,
        "second_misses": second_misses,
        "declines": declines,
        "intents": dict(intents.most_common()),
        "intent_titles": knowledge.intent_titles,  # so that pages show titles, not keys
        "days": days,
        "topics": [
            {"intent": name, "title": knowledge.intent_titles[name], "count": intents[name],
             "trend": [intents_by_day[name][day] for day in days]}
            for name in topics
        ],
        "products": {key: products[key] for key in knowledge.services if products[key]},
        "services": {
            key: {
                "name": service.name,
                "hotline": service.hotline,
                "hours": None if service.hours is None else {
                    "open": service.hours.open.strftime("%H:%M"), "close": service.hours.close.strftime("%H:%M")},
                "handoffs": products[key],
                "handoffs_while_closed": closed[key],
            }
            for key, service in knowledge.services.items()
        },
        "hours": hours,
        "handoff_hours": handoff_hours,
        "numbers": numbers,
        "scam_numbers": [{"number": format_phone(d), "conversations": n} for d, n in scam],
        "unknown_numbers": [{"number": _masked_number(d), "conversations": n} for d, n in rare],
    }


_NOT_MEANING = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")


def similarity_key(text: str) -> str:
    """A message as far as comparing cares: normalised, numbers as 0, no spaces or punctuation."""
    return _NOT_MEANING.sub("", _DIGITS.sub("0", normalize(text)))


def character_pairs(key: str) -> Set[str]:
    return {key[i : i + 2] for i in range(len(key) - 1)} or {key}


def pair_overlap(first: str, second: str) -> float:
    """Share of character pairs two texts have in common (0 to 1)."""
    a, b = character_pairs(similarity_key(first)), character_pairs(similarity_key(second))
    return len(a & b) / len(a | b) if a | b else 0.0


@dataclass(frozen=True)
class ReviewCandidate:
    """A user message the assistant was unsure about or answered badly, why, and what showed it."""

    turn: Turn
    reason: str
    signal: Optional[str] = None  # for wrong_answer / not_enough: what the customer did next


REVIEW_REASONS = {
    "clarified": "追问了“您是想问…”",
    "gave_up": "两次没听懂，给了人工热线",
    "declined": "答复为超出范围",
    "low_confidence": "置信度低",
    "wrong_answer": "答错了",
    "not_enough": "答对了但不够",  # the answer needs more: the knowledge editor, not training
}
SIGNALS = {
    "rephrased": "随后用户换了说法",
    "asked_person": "随后用户要人工",
    "unresolved": "随后用户点了“没解决”",
    "complaint": "随后用户投诉",
}
NOT_ENOUGH = "not_enough"
# A self-help answer to a message the NLU was this sure of (or to a topic the customer clicked) was the right
# topic: 没解决, a person or a complaint right after it say the answer was not enough, not that it was wrong.
SURE = 0.8
# A reply the customer follows within this many seconds by a rephrasing or a person request was not what
# they asked for.
FOLLOW_UP_S = 120.0
REPHRASED_OVERLAP = 0.2  # share of character pairs a rephrasing keeps of the message before
_CORRECTION = re.compile(
    r"^(不是|不对)|不是(这个|这样|问|说|那个|我问的)|答非所问|我(问|说)的是|没用|还是不行|没(听)?懂|不明白我")
_NO_SIGNAL_INTENTS = {"greet", "goodbye", "thanks", "affirm"}


def _follow_up_signal(turn: Turn, following: Optional[Turn]) -> Optional[str]:
    """What the customer's next message says about the reply to `turn`, if anything."""
    if following is None or following.to_person:
        return None
    if _answer_feedback(following) == UNRESOLVED_INTENT:
        return "unresolved"
    if following.intent == COMPLAINT_INTENT:
        return "complaint"
    if following.timestamp - turn.timestamp > FOLLOW_UP_S or following.is_click:
        return None
    if following.intent == "ask_hotline" or load_knowledge().asks_for_person(normalize(following.text)):
        return "asked_person"
    if not turn.is_click and following.intent not in _NO_SIGNAL_INTENTS and (
            _CORRECTION.search(normalize(following.text))
            or pair_overlap(turn.text, following.text) >= REPHRASED_OVERLAP):
        return "rephrased"
    return None


def _typed_reason(turn: Turn, low_confidence: float) -> Optional[str]:
    if turn.clarify_attempts is not None:
        return "clarified" if turn.clarify_attempts > 0 else "gave_up"
    if DECLINE_ACTION in turn.actions:
        return "declined"
    if turn.intent == FALLBACK_INTENT or turn.confidence < low_confidence:
        return "low_confidence"
    return None


def review_candidates(
    conversations: Dict[str, List[Dict[str, Any]]], period: Period, low_confidence: float
) -> List[ReviewCandidate]:
    """The messages in `period` that need a look, one entry per message with its first reason:
    - typed messages that were clarified, given up on, declined or answered with low confidence;
    - messages whose reply the customer's next message showed to be wrong (a rephrasing or a correction
      right away, a person asked for right away, 没解决, a complaint): `wrong_answer`, or `not_enough` when
      it was a self-help answer to a topic the NLU was sure of or the customer clicked (then the answer
      needs more, not the NLU);
    never what was written to an agent during a live chat, nor a click on an answer's own buttons."""
    found: Dict[int, ReviewCandidate] = {}
    for cid, events in conversations.items():
        turns = [turn for turn in turns_of(cid, events) if not (turn.to_person or turn.opens_page)]
        for index, turn in enumerate(turns):
            if turn.timestamp not in period or _answer_feedback(turn) is not None:
                continue
            typed = not turn.is_click and bool(turn.text.strip())
            reason = _typed_reason(turn, low_confidence) if typed else None
            if reason:
                found[id(turn)] = ReviewCandidate(turn, reason)
                continue
            signal = _follow_up_signal(turn, turns[index + 1] if index + 1 < len(turns) else None)
            if signal is None:
                continue
            answered = any(action in turn.actions for action in ANSWERING_ACTIONS)
            if answered and signal != "rephrased" and (turn.is_click or turn.confidence >= SURE):
                found[id(turn)] = ReviewCandidate(turn, NOT_ENOUGH, signal)
            elif typed:
                found[id(turn)] = ReviewCandidate(turn, "wrong_answer", signal)
    return sorted(found.values(), key=lambda c: c.turn.timestamp)
