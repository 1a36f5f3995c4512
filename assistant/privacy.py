"""Logging filter that masks phone, ID and bank-card numbers before a line is written.

Installed by logging.yml for both the Rasa server and the action server.
"""

from __future__ import annotations

import logging
import re

# 7+ digits, optionally split by spaces or dashes, or an 18-character ID ending in X.
_SENSITIVE_NUMBER = re.compile(r"(?<![\d])\d(?:[- ]?\d){6,}[xX]?(?![\d])|(?<![\d])\d{17}[xX]")


def mask_numbers(text: str) -> str:
    return _SENSITIVE_NUMBER.sub(lambda m: m.group()[:3] + "****", text)


class RedactNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            # Format the traceback here so that its text is masked too.
            record.exc_text = mask_numbers(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
