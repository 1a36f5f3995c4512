"""Shared helpers for all test suites."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.knowledge import load_knowledge  # noqa: E402
from common.text import find_phone_numbers, normalize  # noqa: E402

OFFICIAL_DIGITS = {service.dial for service in load_knowledge().services.values()}
UNOFFICIAL_DIGITS = set(load_knowledge().unofficial_numbers)
_MASKED_LINK = re.compile(r"\(tel:\d+\)")


def phone_numbers_in(text: str) -> set[str]:
    return {m.digits for m in find_phone_numbers(normalize(_MASKED_LINK.sub("", text)))}


def assert_only_official_numbers(text: str) -> None:
    """A reply may carry numbers from knowledge/services.yml (hotlines, and known unofficial numbers
    when it warns about them), nothing else: not even a number the user typed."""
    unexpected = phone_numbers_in(text) - OFFICIAL_DIGITS - UNOFFICIAL_DIGITS
    assert not unexpected, f"reply mentions numbers that are not hotlines: {unexpected}\n{text}"
