"""Chinese text normalisation and phone-number spotting, shared by NLU and actions."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Iterator, NamedTuple

import opencc

# Intent and entities come from the start of a message; the rest of a pasted essay adds cost, not meaning.
NLU_MAX_CHARS = 500

_TRADITIONAL_TO_SIMPLIFIED = opencc.OpenCC("t2s")
_HTML_TAG = re.compile(r"<[^>]{0,200}>")
_DASHES = re.compile(r"[‐‑‒–—―﹣]")
_WHITESPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
# Digit groups of 3+ joined by single dashes or spaces: 4001003399, 400-100-3399, 138 1234 5678.
# Characters customers use for each other: 帐 for 账 (到帐, 帐户; also what 帳 becomes in 简体).
_VARIANTS = str.maketrans({"帐": "账"})
_DIGIT_RUN = re.compile(r"(?<![\d])\d{3,}(?:[- ]\d{3,})*(?![\d])")


def normalize(text: str | None) -> str:
    """Returns text as the NLU sees it: HTML tags dropped, full-width folded to half-width,
    traditional characters turned simplified, 帐 as 账, lower case, single spaces, at most NLU_MAX_CHARS."""
    text = (text or "")[: NLU_MAX_CHARS * 4]
    text = html.unescape(_HTML_TAG.sub(" ", text))
    text = unicodedata.normalize("NFKC", text)
    text = _DASHES.sub("-", text)
    text = _TRADITIONAL_TO_SIMPLIFIED.convert(text).translate(_VARIANTS)
    return _WHITESPACE.sub(" ", text).strip().lower()[:NLU_MAX_CHARS]


def has_chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def has_latin(text: str) -> bool:
    return bool(_LATIN.search(text))


def digits_only(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text))


def looks_like_phone(digits: str) -> bool:
    """Mainland service numbers (95xxx), 400/800 lines, mobiles and landlines; not amounts,
    ID numbers or card numbers."""
    n = len(digits)
    return (
        (n == 5 and digits.startswith("9"))
        or n in (7, 8)
        or (n == 10 and digits[:3] in ("400", "800"))
        or (n == 11 and digits.startswith("1"))
        or (10 <= n <= 12 and digits.startswith("0"))
    )


class PhoneMention(NamedTuple):
    start: int
    end: int
    digits: str


def find_phone_numbers(normalized_text: str) -> Iterator[PhoneMention]:
    """Phone numbers in text that has been through normalize() (half-width digits and dashes)."""
    for match in _DIGIT_RUN.finditer(normalized_text):
        digits = digits_only(match.group())
        if looks_like_phone(digits):
            yield PhoneMention(match.start(), match.end(), digits)


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def mask_other_numbers(normalized_text: str) -> str:
    """Replaces every number that is not a phone number (amounts, dates, counts, models) with 0.

    They carry no intent; left alone, the classifier learns that digits mean "check this number"."""
    phones = [(m.start, m.end) for m in find_phone_numbers(normalized_text)]
    pieces, last = [], 0
    for match in _NUMBER.finditer(normalized_text):
        if any(start <= match.start() < end for start, end in phones):
            continue
        pieces += [normalized_text[last : match.start()], "0"]
        last = match.end()
    return "".join(pieces) + normalized_text[last:]


def format_phone(digits: str) -> str:
    """400-100-3399 style for 400/800 numbers; other numbers as they are."""
    if len(digits) == 10 and digits[:3] in ("400", "800"):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return digits
