"""Masks customers' personal data: ID card, bank card, mobile and other phone numbers, e-mail addresses.

One masking for everything written down: log lines (RedactNumbersFilter, wired in logging.yml for the
Rasa server and the action server) and conversations before the tracker store saves them
(mask_events, called by rasa_server/tracker_store.py). The Chinese style keeps enough to recognise a
number, never enough to use it:

    ID card    110101199003077777    → 110101********7777
    bank card  6222 0212 3456 0202   → 6222 **** **** 0202
    mobile     13812345678           → 138****5678
    e-mail     zhangsan@example.com  → z***@example.com
    other numbers of 7+ digits (landlines, account numbers) keep their first 3 and last 2 digits.

Service hotlines stay readable (400/800 numbers; 95xxx is too short to be masked), so the number
checks and the operators' figures still work on stored conversations. Full-width digits and
separators (spaces, dashes) are recognised and kept in place. Masking is idempotent.
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from typing import Any, Iterable, List, Sequence

# 7+ digits, optionally split by single spaces or dashes (half- or full-width), an ID may end in X.
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[- \u3000\uff0d]?\d){6,}(?:[xX](?![A-Za-z]))?(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ID_BIRTH_YEAR = re.compile(r"^\d{6}(?:19|20)\d{2}")
_ANY_DIGIT = re.compile(r"\d").search


def _kept_ends(digits: str, hotlines_readable: bool) -> tuple[int, int]:
    """How many leading and trailing characters of a number stay readable."""
    n = len(digits)
    if hotlines_readable and n == 10 and digits[:3] in ("400", "800"):  # a service hotline
        return n, 0
    if n == 11 and digits[0] == "1":  # mobile
        return 3, 4
    if n == 15 or (n == 18 and (digits[-1] in "xX" or _ID_BIRTH_YEAR.match(digits))):  # ID card
        return 6, 4
    if 16 <= n <= 19:  # bank card
        return 4, 4
    return 3, 2


def _mask_number(match: re.Match, hotlines_readable: bool = True) -> str:
    number = match.group()
    digits = [c for c in number if c.isdigit() or c in "xX"]
    head, tail = _kept_ends(unicodedata.normalize("NFKC", "".join(digits)), hotlines_readable)
    out, position = [], 0
    for char in number:
        if char.isdigit() or char in "xX":
            out.append(char if position < head or position >= len(digits) - tail else "*")
            position += 1
        else:
            out.append(char)
    return "".join(out)


def _mask_email(match: re.Match) -> str:
    local, _, domain = match.group().partition("@")
    return f"{local[0]}***@{domain}"


def mask_personal_data(text: str, hotlines_readable: bool = True) -> str:
    """text with ID card, bank card, phone numbers and e-mail addresses masked.

    hotlines_readable=False masks 400/800 numbers too (the operator console shows an unknown one only
    once it is a likely scam line)."""
    if not text:
        return text
    # Most strings of a stored turn (intent names, scores' keys, bot texts) have neither: skipping the regular
    # expressions for them took a fifth of the tracker store's CPU time per turn (bench/FINDINGS.md).
    if "@" in text:
        text = _EMAIL.sub(_mask_email, text)
    return _DIGIT_RUN.sub(lambda m: _mask_number(m, hotlines_readable), text) if _ANY_DIGIT(text) else text


def mask_value(value: Any) -> Any:
    """Masks every string inside a JSON-like value (dicts, lists), in place for containers."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = mask_value(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = mask_value(item)
    return value


# What of an event can hold what a user typed: the message and everything derived from it.
_EVENT_FIELDS = ("text", "entities", "parse_data", "metadata", "value", "data")
_MASKED = "_personal_data_masked"


def mask_events(events: Iterable[Any]) -> None:
    """Masks Rasa events in place (user messages with their parse data, entities and metadata,
    slot values, bot messages), so that the tracker in memory is what gets stored."""
    for event in events:
        for field in _EVENT_FIELDS:
            if field in vars(event):
                setattr(event, field, mask_value(getattr(event, field)))
        setattr(event, _MASKED, True)


def unmasked_events(events: Sequence[Any]) -> List[Any]:
    """The events appended since mask_events last ran over a tracker's events (oldest first).

    A tracker only grows at its end, so a save masks what is new, not the whole session again."""
    new = list(itertools.takewhile(lambda event: not getattr(event, _MASKED, False), reversed(events)))
    return new[::-1]


class RedactNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            # Format the traceback here so that its text is masked too.
            record.exc_text = mask_personal_data(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
