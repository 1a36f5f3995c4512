"""Shared helpers for all test suites."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.knowledge import load_knowledge  # noqa: E402
from common.text import find_phone_numbers, normalize  # noqa: E402
from devtools.servers import Assistant  # noqa: E402

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


def page_assistant(workdir: Path, web_port: int, **settings) -> Assistant:
    """The real action and Rasa servers for a chat page served on web_port, not started yet. Rasa's socket.io
    channel accepts only the page's origins (credentials.yml): the same two forms `make run` allows."""
    model = ROOT / "models" / "cs-assistant.tar.gz"
    if not model.exists():
        pytest.fail("no trained model: run `make train` (make test does)")
    origins = f"http://127.0.0.1:{web_port},http://localhost:{web_port}"
    return Assistant(workdir=workdir, model=model, web_origin=origins, **settings)
