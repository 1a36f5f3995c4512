"""The assistant's knowledge: the intent catalogue, services, hotlines, hours, answers and responses from
knowledge/*.yml.

Loaded once per process (`load_knowledge()` is cached). Loading refuses an answer, template or response
that carries a phone number not listed as a hotline, so no invented number can reach a user, and an
intent catalogue entry that is incomplete or names an unknown service or response.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union
from zoneinfo import ZoneInfo

import yaml

from common.follow_ups import ANY_SERVICE_TOPICS, Context, FollowUp, FollowUpRules, load_rules, read_follow_up
from common.text import digits_only, find_phone_numbers, normalize

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
SERVICE_TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Hours:
    open: time
    close: time
    days: str
    note: str

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(SERVICE_TIMEZONE).time()
        return self.open <= local < self.close


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    short_name: str
    aliases: Tuple[str, ...]
    hotline: str
    hours: Optional[Hours]
    human_agent_tip: str
    prepare: Tuple[str, ...]
    online: str
    accessible: str
    source: str

    @property
    def dial(self) -> str:
        """The digits a phone dials (for tel: links and number checks)."""
        return digits_only(self.hotline)


@dataclass(frozen=True)
class AmbiguousBrand:
    key: str
    aliases: Tuple[str, ...]
    services: Tuple[str, ...]


@dataclass(frozen=True)
class UnofficialNumber:
    number: str
    owner: str
    note: str


INTENT_KINDS = ("problem", "stock", "guard")  # knowledge/intents.yml explains each


@dataclass(frozen=True)
class Intent:
    """One entry of the intent catalogue (knowledge/intents.yml)."""

    key: str
    kind: str
    title: Optional[str] = None  # the clarification button's title (problems, and bot_challenge)
    action: Optional[str] = None
    response: Optional[str] = None
    any_language: bool = False

    @property
    def next_step(self) -> str:
        """The action the dialogue rule runs for this intent."""
        return self.action or self.response or ANSWER_ACTION


# The custom action that answers a problem intent with its self-help answer (actions/answers.py).
ANSWER_ACTION = "action_answer_problem"


@dataclass(frozen=True)
class Topic:
    """A problem intent's self-help answer."""

    key: str
    default: str
    by_product: Dict[str, str] = field(default_factory=dict)
    default_product: Optional[str] = None
    handoff: bool = False  # self-help is not enough: the hotline card follows the answer
    ask_service: bool = False  # the answer differs per service: ask which one when none is in context

    def answer_for(self, product: Optional[str]) -> str:
        return self.by_product.get(product or "", self.default).strip()


@dataclass(frozen=True)
class Knowledge:
    intents: Dict[str, Intent]
    responses: Dict[str, List[dict]]  # Rasa responses by name, as domain.yml holds them
    services: Dict[str, Service]
    ambiguous: Dict[str, AmbiguousBrand]
    unofficial_numbers: Dict[str, UnofficialNumber]
    topics: Dict[str, Topic]
    templates: Dict[str, str]
    scam_signals: Tuple[re.Pattern, ...]
    # "fraud_happened" / "unexplained_deduction" -> its phrases, in the order they are checked
    fraud_kinds: Dict[str, Tuple[re.Pattern, ...]]
    person_requests: Tuple[re.Pattern, ...]
    seeking_a_person: Tuple[re.Pattern, ...] = ()  # person_requests.yml: a person asked for, and nothing else
    rating_reasons: Tuple[str, ...] = ()  # offered after a 「不满意」 rating of a live chat
    follow_ups: Optional[FollowUpRules] = None  # knowledge/follow_ups.yml

    def read_follow_up(self, text: str, context: Context, named_products: List[str], numbers: List[str],
                       clear_topic: Optional[str] = None) -> Optional[FollowUp]:
        """The message as a follow-up of the conversation (common/follow_ups.py), or None."""
        if self.follow_ups is None:
            return None
        named = named_products or [key for name, key in self.short_name_index.items() if name in normalize(text)]
        return read_follow_up(self.follow_ups, text, context, named, self.follow_up_aliases, numbers,
                              self.topic_fits, clear_topic, self.topic_texts.get(context.topic or "", ""))

    @functools.cached_property
    def short_name_index(self) -> Dict[str, str]:
        """The buttons call the services by their short names (售后, 贷款): "那售后的呢" names one too."""
        return {normalize(service.short_name): key for key, service in self.services.items()}

    @functools.cached_property
    def follow_up_aliases(self) -> Dict[str, str]:
        return {**self.short_name_index, **self.alias_index}

    @functools.cached_property
    def topic_texts(self) -> Dict[str, str]:
        """Topic -> its title and answers: the words the customer has just read about it."""
        def text(topic: str) -> str:
            entry = self.topics.get(topic)
            answers = [entry.default, *entry.by_product.values()] if entry else []
            return "\n".join([self.intent_titles.get(topic, ""), *answers])

        return {topic: text(topic) for topic in {*self.topics, *self.intent_titles}}

    def topic_fits(self, topic: str, product: Optional[str]) -> bool:
        """Whether the topic has an answer for that product: "那借呗呢" after a repair answer has none."""
        services = [service.key for service in self.services_for(product)]
        if not services:
            return False
        if topic in ANY_SERVICE_TOPICS or topic == "fraud_check":
            return True
        entry = self.topics.get(topic)
        return entry is not None and (entry.default_product is None or entry.default_product in services)

    def intents_of_kind(self, kind: str) -> List[str]:
        return [key for key, intent in self.intents.items() if intent.kind == kind]

    # Knowledge is never changed once loaded (an operator's edit loads a new one), so what is derived from it is
    # worked out once: the context policy reads both for every message.
    @functools.cached_property
    def intent_titles(self) -> Dict[str, str]:
        """Intent -> its button title, for the intents that have one."""
        return {key: intent.title for key, intent in self.intents.items() if intent.title}

    def sounds_like_scam(self, normalized_text: str) -> bool:
        return _any_match(self.scam_signals, normalized_text)

    def fraud_kind(self, normalized_text: str) -> Optional[str]:
        """Harm already done ("fraud_happened") or money gone without explanation, if the text says so."""
        return next((kind for kind, phrases in self.fraud_kinds.items() if _any_match(phrases, normalized_text)), None)

    def asks_for_person(self, normalized_text: str) -> bool:
        """The message asks for a person or a hotline number, whatever else it says."""
        return _any_match(self.person_requests, normalized_text)

    def seeks_a_person(self, normalized_text: str) -> bool:
        """The message is a request to be put through to a person ("支付宝的人工客服怎么找")."""
        return _any_match(self.seeking_a_person, normalized_text)

    @functools.cached_property
    def alias_index(self) -> Dict[str, str]:
        """Normalised alias -> product key (a service key or an ambiguous brand key)."""
        index = {}
        for product in (*self.services.values(), *self.ambiguous.values()):
            for alias in product.aliases:
                index[normalize(alias)] = product.key
        return index

    def lookup_number(self, digits: str) -> Union[Service, UnofficialNumber, None]:
        for service in self.services.values():
            if service.dial == digits:
                return service
        return self.unofficial_numbers.get(digits)

    def services_for(self, product: Optional[str]) -> List[Service]:
        """The services a product key stands for: one, several (ambiguous brand) or none."""
        if product in self.services:
            return [self.services[product]]
        if product in self.ambiguous:
            return [self.services[key] for key in self.ambiguous[product].services]
        return []

    def template(self, key: str, /, **values: str) -> str:
        return self.templates[key].strip().format(**values)


def _any_match(patterns: Tuple[re.Pattern, ...], text: str) -> bool:
    return any(pattern.search(text) for pattern in patterns)


def _compile(patterns: List[str]) -> Tuple[re.Pattern, ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


def _parse_hours(raw: Optional[dict]) -> Optional[Hours]:
    if not raw:
        return None
    return Hours(
        open=time.fromisoformat(raw["open"]),
        close=time.fromisoformat(raw["close"]),
        days=raw["days"],
        note=raw["note"],
    )


def _read_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# Digits split by spaces or dashes one by one ("1 3 9 1 2 …"): written together, they may make a phone number.
_SPACED_DIGITS = re.compile(r"(?<=\d)[ \-]+(?=\d)")


def unlisted_numbers(text: str, services: Dict[str, Service]) -> List[str]:
    """The phone numbers in `text` that are not a hotline of `services` (knowledge/services.yml), as digits,
    also when their digits are spaced out."""
    official = {service.dial for service in services.values()}
    normalized = normalize(text)
    found = [mention.digits for variant in (normalized, _SPACED_DIGITS.sub("", normalized))
             for mention in find_phone_numbers(variant)]
    return list(dict.fromkeys(digits for digits in found if digits not in official))


def check_no_invented_numbers(knowledge: Knowledge) -> None:
    texts = [*knowledge.templates.values()]
    for topic in knowledge.topics.values():
        texts += [topic.default, *topic.by_product.values()]
    for service in knowledge.services.values():
        texts += [service.human_agent_tip, service.hours.note if service.hours else ""]
    for variations in knowledge.responses.values():
        texts += [variation.get("text", "") for variation in variations]
    if knowledge.follow_ups is not None:
        texts += knowledge.follow_ups.texts()
    for text in texts:
        for digits in unlisted_numbers(text, knowledge.services):
            raise ValueError(
                f"knowledge/ mentions {digits} in an answer or reply, which is not a hotline in knowledge/services.yml"
            )


def _check_catalogue(knowledge: Knowledge) -> None:
    for intent in knowledge.intents.values():
        where = f"knowledge/intents.yml: {intent.key}"
        if intent.kind not in INTENT_KINDS:
            raise ValueError(f"{where} has kind {intent.kind!r}, not one of {INTENT_KINDS}")
        if intent.kind == "problem" and not intent.title:
            raise ValueError(f"{where} is a problem intent without a title")
        if intent.response and intent.response not in knowledge.responses:
            raise ValueError(f"{where} names the response {intent.response}, which knowledge/responses.yml lacks")
        if not (intent.action or intent.response or intent.key in knowledge.topics):
            raise ValueError(f"{where} needs an answer, an action or a response")


@functools.cache
def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    intents_raw = _read_yaml(directory / "intents.yml")["intents"]
    services_raw = _read_yaml(directory / "services.yml")
    answers_raw = _read_yaml(directory / "answers.yml")
    scam_raw = _read_yaml(directory / "scam_signals.yml")
    person_raw = _read_yaml(directory / "person_requests.yml")

    services = {
        key: Service(
            key=key,
            name=raw["name"],
            short_name=raw["short_name"],
            aliases=tuple(raw["aliases"]),
            hotline=str(raw["hotline"]),
            hours=_parse_hours(raw.get("hours")),
            human_agent_tip=raw["human_agent_tip"],
            prepare=tuple(raw["prepare"]),
            online=raw["online"],
            accessible=raw["accessible"],
            source=raw["source"],
        )
        for key, raw in services_raw["services"].items()
    }
    ambiguous = {
        key: AmbiguousBrand(key, tuple(raw["aliases"]), tuple(raw["services"]))
        for key, raw in services_raw.get("ambiguous", {}).items()
    }
    unofficial = {
        digits_only(str(raw["number"])): UnofficialNumber(str(raw["number"]), raw["owner"], raw["note"])
        for raw in services_raw.get("unofficial_numbers", [])
    }
    intents = {
        key: Intent(key=key, kind=raw["kind"], title=raw.get("title"), action=raw.get("action"),
                    response=raw.get("response"), any_language=raw.get("any_language", False))
        for key, raw in intents_raw.items()
    }
    topics = {
        key: Topic(
            key=key,
            default=raw["answer"],
            by_product=raw.get("answer_by_product", {}),
            default_product=raw.get("default_product"),
            handoff=raw.get("handoff", False),
            ask_service=raw.get("ask_service", False),
        )
        for key, raw in intents_raw.items()
        if "answer" in raw
    }
    knowledge = Knowledge(
        intents=intents,
        responses=_read_yaml(directory / "responses.yml")["responses"],
        services=services,
        ambiguous=ambiguous,
        unofficial_numbers=unofficial,
        topics=topics,
        templates=answers_raw["templates"],
        scam_signals=_compile(scam_raw["patterns"]),
        fraud_kinds={kind: _compile(scam_raw[kind]) for kind in ("fraud_happened", "unexplained_deduction")},
        person_requests=_compile(person_raw["patterns"]),
        seeking_a_person=_compile(person_raw.get("seeking_a_person", ())),
        rating_reasons=tuple(answers_raw.get("rating_reasons", ())),
        follow_ups=load_rules(directory / "follow_ups.yml") if (directory / "follow_ups.yml").exists() else None,
    )
    for brand in ambiguous.values():
        unknown = set(brand.services) - set(services)
        if unknown:
            raise ValueError(f"ambiguous brand {brand.key} names unknown services {unknown}")
    for topic_key in (knowledge.follow_ups.answers if knowledge.follow_ups else {}):
        if topic_key not in topics:
            raise ValueError(f"knowledge/follow_ups.yml answers for {topic_key}, which intents.yml has no answer for")
    for topic in topics.values():
        for product in [topic.default_product, *topic.by_product]:
            if product and product not in services:
                raise ValueError(f"topic {topic.key} names unknown service {product}")
    check_no_invented_numbers(knowledge)
    _check_catalogue(knowledge)
    return knowledge
