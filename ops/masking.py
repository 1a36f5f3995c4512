"""What the console shows of a text: every number masked except the ones in the hotline data.

Mobile, ID, bank-card, e-mail and any other numbers of 7+ digits (400/800 ones included) are masked
by common.privacy.mask_personal_data (the store's and the log filter's rule), on every text the
console returns, older stored rows included. Numbers listed in knowledge/services.yml (official
hotlines, known unofficial numbers) stay readable: the assistant's replies carry them, and they say
nothing about a customer. An unknown number is shown in full only in
the dashboard's list of likely scam numbers (ops.metrics).
"""

from __future__ import annotations

import functools
import re
from typing import List, Tuple

from common.knowledge import load_knowledge
from common.privacy import mask_personal_data


@functools.lru_cache(maxsize=1)
def _known_numbers() -> Tuple[re.Pattern, ...]:
    knowledge = load_knowledge()
    digits = [s.dial for s in knowledge.services.values()] + list(knowledge.unofficial_numbers)
    # In any of the ways they are written: 4001003399, 400-100-3399, 400 100 3399.
    return tuple(re.compile(r"(?<!\d)" + "[- ]?".join(d) + r"(?!\d)") for d in sorted(digits, key=len, reverse=True))


def mask_for_display(text: str) -> str:
    kept: List[str] = []

    def keep(match: re.Match) -> str:
        kept.append(match.group())
        return "\x00" + "I" * len(kept) + "\x00"  # no digits in it: masking leaves it alone

    for pattern in _known_numbers():
        text = pattern.sub(keep, text)
    text = mask_personal_data(text, hotlines_readable=False)
    return re.sub("\x00(I+)\x00", lambda m: kept[len(m.group(1)) - 1], text)
