"""Every row of docs/coverage.md, through the real servers: the question gets the intent the row
names and a reply showing what the row promises. The audit table is the test data, so the two
cannot drift apart."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List

import pytest

from tests.conftest import ROOT

COVERAGE_DOC = ROOT / "docs" / "coverage.md"
TURN_SEPARATOR = " → "
_ROW = re.compile(r"^\|\s*(?P<id>\d{3}-\d{2})\s*\|(?P<question>[^|]+)\|(?P<intent>[^|]+)\|[^|]*\|(?P<shows>[^|]+)\|")
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Row:
    id: str
    turns: List[str]  # earlier turns give context; the last one is the question
    intent: str
    shows: List[str]


def coverage_rows() -> List[Row]:
    rows = []
    for line in COVERAGE_DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            rows.append(Row(
                id=match["id"],
                turns=[turn.strip() for turn in match["question"].split(TURN_SEPARATOR)],
                intent=_CODE.findall(match["intent"])[0],
                shows=_CODE.findall(match["shows"]),
            ))
    return rows


ROWS = coverage_rows()


def test_the_audit_has_rows_for_every_document():
    assert {row.id[:3] for row in ROWS} == {"000", "001", "002", "003", "004"}
    assert len({row.id for row in ROWS}) == len(ROWS)
    assert all(row.shows for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_each_document_question_is_answered(conversation, row):
    for turn in row.turns[:-1]:
        conversation.say(turn)
    reply = conversation.text(row.turns[-1])
    assert row.intent in (conversation.latest_intent(), *conversation.answered_topics()), reply
    for phrase in row.shows:
        assert phrase in reply, f"{phrase!r} not in the reply to {row.turns[-1]!r}:\n{reply}"


def test_a_service_button_answers_the_calling_question_for_that_service(conversation):
    buttons = conversation.say("打客服电话一直占线怎么办")[-1]["buttons"]
    assert [b["title"] for b in buttons] == ["贷款", "售后", "支付宝"]
    answer = conversation.text(buttons[2]["payload"])
    assert "早上上班前" in answer and "95188" in answer and "400-100-3399" not in answer


def test_a_service_button_answers_the_channels_question_for_that_service(conversation):
    buttons = conversation.say("除了打电话还能怎么联系你们")[-1]["buttons"]
    answer = conversation.text(buttons[0]["payload"])
    assert "我的客服" in answer and "400-100-3399" not in answer
