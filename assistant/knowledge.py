"""The assistant's knowledge: services, hotlines, hours and answers from knowledge/*.yml.

Loaded once per process (`load_knowledge()` is cached). Loading refuses an answer or template
that carries a phone number not listed as a hotline, so no invented number can reach a user.
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

from assistant.text import digits_only, find_phone_numbers, normalize

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


@dataclass(frozen=True)
class Topic:
    key: str
    default: str
    by_product: Dict[str, str] = field(default_factory=dict)
    default_product: Optional[str] = None
    escalate: bool = False
    ask_service: bool = False  # the answer differs per service: ask which one when none is in context

    def answer_for(self, product: Optional[str]) -> str:
        return self.by_product.get(product or "", self.default).strip()


@dataclass(frozen=True)
class Knowledge:
    services: Dict[str, Service]
    ambiguous: Dict[str, AmbiguousBrand]
    unofficial_numbers: Dict[str, UnofficialNumber]
    topics: Dict[str, Topic]
    templates: Dict[str, str]
    intent_titles: Dict[str, str]
    scam_signals: Tuple[re.Pattern, ...]
    # "fraud_happened" / "unexplained_deduction" -> its phrases, in the order they are checked
    fraud_kinds: Dict[str, Tuple[re.Pattern, ...]]
    person_requests: Tuple[re.Pattern, ...]
    rating_reasons: Tuple[str, ...] = ()  # offered after a 「不满意」 rating of a live chat

    def sounds_like_scam(self, normalized_text: str) -> bool:
        return _any_match(self.scam_signals, normalized_text)

    def fraud_kind(self, normalized_text: str) -> Optional[str]:
        """Harm already done ("fraud_happened") or money gone without explanation, if the text says so."""
        return next((kind for kind, phrases in self.fraud_kinds.items() if _any_match(phrases, normalized_text)), None)

    def asks_for_person(self, normalized_text: str) -> bool:
        """The message asks for a person or a hotline number, whatever else it says."""
        return _any_match(self.person_requests, normalized_text)

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


def _check_no_invented_numbers(knowledge: Knowledge) -> None:
    official = {service.dial for service in knowledge.services.values()}
    texts = [*knowledge.templates.values()]
    for topic in knowledge.topics.values():
        texts += [topic.default, *topic.by_product.values()]
    for text in texts:
        for mention in find_phone_numbers(normalize(text)):
            if mention.digits not in official:
                raise ValueError(
                    f"knowledge/answers.yml mentions {mention.digits}, which is not a hotline "
                    "in knowledge/services.yml"
                )


@functools.cache
def load_knowledge(directory: Path = KNOWLEDGE_DIR) -> Knowledge:
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
    topics = {
        key: Topic(
            key=key,
            default=raw["default"],
            by_product=raw.get("by_product", {}),
            default_product=raw.get("default_product"),
            escalate=raw.get("escalate", False),
            ask_service=raw.get("ask_service", False),
        )
        for key, raw in answers_raw["topics"].items()
    }
    knowledge = Knowledge(
        services=services,
        ambiguous=ambiguous,
        unofficial_numbers=unofficial,
        topics=topics,
        templates=answers_raw["templates"],
        intent_titles=answers_raw["intent_titles"],
        scam_signals=_compile(scam_raw["patterns"]),
        fraud_kinds={kind: _compile(scam_raw[kind]) for kind in ("fraud_happened", "unexplained_deduction")},
        person_requests=_compile(person_raw["patterns"]),
        rating_reasons=tuple(answers_raw.get("rating_reasons", ())),
    )
    for brand in ambiguous.values():
        unknown = set(brand.services) - set(services)
        if unknown:
            raise ValueError(f"ambiguous brand {brand.key} names unknown services {unknown}")
    for topic in topics.values():
        for product in [topic.default_product, *topic.by_product]:
            if product and product not in services:
                raise ValueError(f"topic {topic.key} names unknown service {product}")
    _check_no_invented_numbers(knowledge)
    return knowledge
