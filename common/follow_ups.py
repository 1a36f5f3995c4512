"""A customer's next message read in the light of the conversation: "费用是？" after a repair answer asks what the
repair costs, "那借呗呢" asks the same question for 借呗, "还是不行" after self-help wants a person, "我已经转了5000"
after a scam warning reports a fraud.

Rasa's NLU reads one message at a time. The Rasa server's ConversationContextPolicy (pipeline/context_policy.py)
calls `read_follow_up` with what the tracker holds (the topic and service of the last answer, how long ago it
was given) and, when the message is a follow-up, runs action_follow_up (actions/follow_up.py) with the reading
in the `follow_up` slot. The phrases, how long context lasts and the answers are data: knowledge/follow_ups.yml.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import yaml

from common.text import normalize

# The kinds of follow-up, as the follow_up slot, the eval and the tests name them.
ASPECT, SWITCH, NOT_RESOLVED, HAPPENED, NUMBER = "aspect", "switch", "not_resolved", "happened", "number"
# Topics that answer for any service (their answer is the service's card, hours or tips).
ANY_SERVICE_TOPICS = ("ask_hotline", "service_hours", "call_tips", "contact_channels", "complaint")
_NOT_WORDS = re.compile(r"[\W_]+")
_DIGIT_RUN = re.compile(r"\d{3,12}")
_LATIN_RUN = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class FollowUpRules:
    """knowledge/follow_ups.yml, compiled."""

    context_seconds: float
    longest: int
    longest_retold: int
    points_back: re.Pattern
    most_left_over: int
    fillers: re.Pattern
    own_topics: re.Pattern
    happened_topics: Tuple[str, ...]
    happened: Tuple[re.Pattern, ...]
    not_resolved: Tuple[re.Pattern, ...]
    still_not_resolved: Tuple[re.Pattern, ...]
    number_topics: Tuple[str, ...]
    this_number: re.Pattern
    hotline_words: re.Pattern
    aspects: Dict[str, Tuple[re.Pattern, ...]]  # in the order they are checked
    answers: Dict[str, Dict[str, str]]  # topic -> aspect -> answer
    generic: Dict[str, str]  # aspect -> answer template
    leads: Dict[str, str]

    def texts(self) -> List[str]:
        """Every text that can reach a customer (checked for phone numbers when the knowledge loads)."""
        return [*self.generic.values(), *self.leads.values(),
                *(text for by_aspect in self.answers.values() for text in by_aspect.values())]


def load_rules(path: Path) -> FollowUpRules:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)

    def patterns(items: Iterable[str]) -> Tuple[re.Pattern, ...]:
        return tuple(re.compile(item) for item in items)

    return FollowUpRules(
        context_seconds=float(raw["context_minutes"]) * 60,
        longest=int(raw["longest_follow_up"]),
        longest_retold=int(raw["longest_retold"]),
        points_back=re.compile(raw["points_back"]),
        most_left_over=int(raw["most_left_over"]),
        fillers=re.compile(raw["fillers"]),
        own_topics=re.compile(raw["own_topics"]),
        happened_topics=tuple(raw["happened"]["topics"]),
        happened=patterns(raw["happened"]["patterns"]),
        not_resolved=patterns(raw["not_resolved"]),
        still_not_resolved=patterns(raw["still_not_resolved"]),
        number_topics=tuple(raw["number_topics"]),
        this_number=re.compile(raw["this_number"]),
        hotline_words=re.compile(raw["hotline_words"]),
        aspects={aspect: patterns(items) for aspect, items in raw["aspects"].items()},
        answers={topic: dict(by_aspect) for topic, by_aspect in raw["answers"].items()},
        generic=dict(raw["generic"]),
        leads=dict(raw["leads"]),
    )


@dataclass(frozen=True)
class Context:
    """What the conversation holds when a message arrives."""

    topic: Optional[str]  # the last topic answered
    product: Optional[str]  # the service (or ambiguous brand) in context
    idle_seconds: Optional[float]  # since the assistant's last reply; None: nothing before
    offered: Tuple[str, ...] = ()  # the topics the assistant's last reply offered as buttons (「您是想问…」)


@dataclass(frozen=True)
class FollowUp:
    """How the message leans on the conversation: its kind, the topic and service to answer, the aspect asked."""

    kind: str
    topic: str
    product: Optional[str]
    aspect: Optional[str] = None
    number: Optional[str] = None  # digits to check that the entity layer did not take for a phone number
    offered: Tuple[str, ...] = ()  # a switch after 「您是想问…」: the topics to offer again, for the service named

    def to_slot(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_slot(cls, value: Optional[str]) -> Optional[FollowUp]:
        try:
            fields = json.loads(value) if value else None
            return cls(**{**fields, "offered": tuple(fields.get("offered", ()))}) if fields else None
        except (TypeError, ValueError):
            return None


def typed_number(rules: FollowUpRules, text: str) -> Optional[str]:
    """The digits of a message that is a number and little else ("那10086呢", "12345这个号码呢"), or None.

    In a number check's context that is the next number to check, although the entity layer does not take it for a
    phone number: national service numbers such as 10086 or 12345 look like amounts, which it must leave alone."""
    words = _NOT_WORDS.sub("", normalize(text))
    runs = _DIGIT_RUN.findall(words)
    if len(runs) != 1 or len(words) > rules.longest + len(runs[0]):
        return None
    rest = rules.fillers.sub("", rules.this_number.sub("", words.replace(runs[0], "")))
    return runs[0] if len(rest) <= rules.most_left_over else None


def _remove(patterns: Iterable[re.Pattern], text: str) -> Tuple[str, bool]:
    found = False
    for pattern in patterns:
        text, count = pattern.subn("", text)
        found = found or count > 0
    return text, found


def read_follow_up(
    rules: FollowUpRules,
    text: str,
    context: Context,
    named_products: List[str],
    aliases: Dict[str, str],
    numbers: List[str],
    topic_fits: Callable[[str, Optional[str]], bool],
    clear_topic: Optional[str] = None,
    topic_text: str = "",
) -> Optional[FollowUp]:
    """The message as a follow-up of the conversation, or None: then it is read on its own, as without context.

    named_products: product keys the entity ruler found in the message; aliases: normalised alias -> product key;
    numbers: phone numbers quoted in the message; topic_fits(topic, product): whether that topic has an answer
    for that product; clear_topic: the problem the NLU is sure the message is about on its own, if any;
    topic_text: the last topic's title and answer (its own words do not make a new question: 维修 after a repair,
    退款 after a duplicate charge)."""
    if context.idle_seconds is None or context.idle_seconds > rules.context_seconds:
        return None
    if clear_topic and not context.topic:
        return None
    words = _NOT_WORDS.sub("", normalize(text))
    # What the message may lean on: the last topic answered or, after 「您是想问…」, the topics offered (a scam check
    # offered, then "点了 还输了密码", is a fraud that happened).
    in_play = {context.topic} if context.topic else set(context.offered)
    if in_play & set(rules.happened_topics) and _remove(rules.happened, words)[1]:
        return FollowUp(HAPPENED, "fraud_check", context.product)
    if in_play & set(rules.number_topics):
        to_check = _number_to_check(rules, text, numbers, context.product)
        if to_check:
            return to_check
    elif numbers:
        return None
    if not context.topic:
        return _switch_after_choices(rules, text, context, named_products, aliases, topic_fits)
    topic = context.topic
    if topic == "ask_hotline" and rules.this_number.search(words) and len(words) <= rules.longest:
        return FollowUp(NUMBER, "fraud_check", context.product)  # the card's line: action_follow_up checks it
    length = len(_LATIN_RUN.sub("a", words))  # "not working" counts as one character
    if length > rules.longest:
        about_another = clear_topic not in (None, topic) or not set(named_products) <= {context.product}
        if length > rules.longest_retold or about_another:
            return None  # a question of its own
        return _retold(rules, words, topic, context.product, topic_text)
    if not words:
        return None

    def left_over(rest: str) -> str:
        return _without_products(rules, rest, named_products, aliases)

    if named_products:
        # "那借呗呢": nothing but the product; "那花呗怎么还": and an aspect. "随星借这个月要还多少钱" is a question
        # of its own that the NLU is sure of.
        rest, asks_aspect = _remove((p for ps in rules.aspects.values() for p in ps), words)
        rest, asks_line = _remove((rules.hotline_words,), rest)
        product = named_products[-1]
        new_question = clear_topic not in (None, topic) and bool(left_over(words))
        # "我的小米电视也坏了要修" after a 借呗 answer tells a problem of its own (坏, 修), not the same question.
        tells_another_problem = any(word not in topic_text for word in
                                    rules.own_topics.findall(_named_products_removed(rest, named_products, aliases)))
        if len(left_over(rest)) > rules.most_left_over or new_question or tells_another_problem:
            return None
        if asks_line:  # "支付宝的号码是多少"
            return FollowUp(SWITCH, "ask_hotline", product)
        if topic_fits(topic, product):
            return FollowUp(SWITCH, topic, product)
        # "那小米贷款的呢" after a repair answer, which that service has none for: nothing but the service, its card
        return None if asks_aspect or left_over(rest) else FollowUp(SWITCH, "ask_hotline", product)
    kinds = [("time", rules.aspects["time"]), (NOT_RESOLVED, rules.not_resolved),
             *((aspect, patterns) for aspect, patterns in rules.aspects.items() if aspect != "time")]
    for kind, patterns in kinds:
        rest, found = _remove(patterns, words)
        if not found or len(left_over(rest)) > rules.most_left_over:  # "我已经换过卡了" leaves 过卡: still the topic
            continue
        if kind == NOT_RESOLVED:  # "换了电池也不行": whatever else it names, the last answer did not help
            return FollowUp(NOT_RESOLVED, topic, context.product)
        # "利息要多少钱" after a repair answer asks about interest (a word the last topic's answer does not use).
        # Looked for before the fillers go, which would take 额 out of 提额.
        if not any(word not in topic_text for word in rules.own_topics.findall(rest)):
            return FollowUp(ASPECT, topic, context.product, kind)
    return None


def _retold(rules: FollowUpRules, words: str, topic: str, product: Optional[str], topic_text: str
            ) -> Optional[FollowUp]:
    """A longer message about the same problem: retold with what was tried ("我刚才按你说的换了一张银行卡 结果还是还款
    失败") is not resolved; one that points back at the answer and repeats a word of it ("那这个冻结一般要多长时间才能
    恢复正常使用啊") asks about that aspect of it. Other longer aspect questions are left to the NLU: 多少钱 and 多久
    are in many longer questions of their own, some out of scope ("到北京的飞机票多少钱")."""
    if _remove(rules.still_not_resolved, words)[1]:
        return FollowUp(NOT_RESOLVED, topic, product)
    if not rules.points_back.match(words):
        return None
    for aspect, patterns in rules.aspects.items():
        rest, found = _remove(patterns, words)
        rest_words = {rest[i:i + 2] for i in range(len(rest) - 1)}
        if (found and any(word in topic_text for word in rest_words)
                and not any(word not in topic_text for word in rules.own_topics.findall(rest))):
            return FollowUp(ASPECT, topic, product, aspect)
    return None


def _number_to_check(rules: FollowUpRules, text: str, numbers: List[str], product: Optional[str]
                     ) -> Optional[FollowUp]:
    """A number quoted, or typed with little else, where a number check fits: that number checked."""
    if numbers:
        return FollowUp(NUMBER, "fraud_check", product)
    typed = typed_number(rules, text)
    return FollowUp(NUMBER, "fraud_check", product, number=typed) if typed else None


def _without_products(rules: FollowUpRules, words: str, named_products: List[str], aliases: Dict[str, str]) -> str:
    """What is left of the message without the products it names and the filler words."""
    return rules.fillers.sub("", _named_products_removed(words, named_products, aliases))


def _named_products_removed(words: str, named_products: List[str], aliases: Dict[str, str]) -> str:
    for alias in sorted((a for a, key in aliases.items() if key in named_products), key=len, reverse=True):
        words = words.replace(alias, "")
    return words


def _switch_after_choices(rules: FollowUpRules, text: str, context: Context, named_products: List[str],
                          aliases: Dict[str, str], topic_fits: Callable[[str, Optional[str]], bool]
                          ) -> Optional[FollowUp]:
    """"支付宝呢" when the assistant's last reply asked 「您是想问…」 instead of answering: no topic to carry, but the
    same choices again, for the service just named (those that have an answer for it). A question the NLU is sure
    of on its own ("借呗提额") is not one: the caller reads it on its own."""
    if not named_products or not context.offered:
        return None
    words = _NOT_WORDS.sub("", normalize(text))
    left = _without_products(rules, words, named_products, aliases)
    if len(words) > rules.longest or len(left) > rules.most_left_over:
        return None
    product = named_products[-1]
    fitting = tuple(topic for topic in context.offered if topic_fits(topic, product))
    return FollowUp(SWITCH, "", product, offered=fitting) if fitting else None
