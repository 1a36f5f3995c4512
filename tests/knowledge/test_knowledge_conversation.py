"""Customers talking to the real Rasa and action servers while an operator edits, publishes and rolls back in
the console: a draft reaches only the test chat, a published version reaches customers within 10 seconds
without a restart, every message meanwhile is answered once, and a rollback brings the old text back."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import List, Tuple

from tests.conftest import assert_only_official_numbers
from tests.knowledge.conftest import call, customer_says, topic

PUBLISH_WITHIN_S = 10


def answer_text(assistant, text: str) -> str:
    replies = customer_says(assistant, f"customer-{uuid.uuid4().hex[:10]}", text)
    return "\n".join(reply.get("text") or "" for reply in replies)


def seconds_until(assistant, text: str, expected: str, limit: float = 30) -> float:
    """Asks as a new customer every half second until the answer holds `expected`; the seconds it took."""
    start = time.monotonic()
    while expected not in answer_text(assistant, text):
        assert time.monotonic() - start < limit, f"still not {expected!r} after {limit} s"
        time.sleep(0.5)
    return time.monotonic() - start


class Customers(threading.Thread):
    """Customers asking one after another in one conversation each, all the time: (sent, replies) per message."""

    def __init__(self, assistant, question: str):
        super().__init__(daemon=True)
        self.assistant, self.question = assistant, question
        self.turns: List[Tuple[str, list]] = []
        self.errors: List[str] = []
        self.running = True

    def run(self) -> None:
        sender = f"steady-{uuid.uuid4().hex[:10]}"
        while self.running:
            try:
                self.turns.append((self.question, customer_says(self.assistant, sender, self.question)))
            except Exception as error:  # noqa: BLE001 - every failure is a finding
                self.errors.append(repr(error))
            time.sleep(0.2)


def test_a_draft_reaches_only_the_test_chat_and_a_publish_reaches_customers_within_10_s(console, assistant):
    question = "/repayment_failure"
    old = topic(console, "repayment_failure")["answer"]
    new = "还款失败时，先看银行卡**余额**和**限额**，\n1. 换一张卡再试；\n2. 还不行请联系人工。"
    assert old in answer_text(assistant, question)

    assert call(console, "knowledge/topics/repayment_failure", method="PUT", body={"answer": new})[0] == 200
    time.sleep(4)  # longer than the action server's look-up interval: a draft is never picked up
    assert old in answer_text(assistant, question)
    trial = call(console, "knowledge/trial", method="POST", body={"text": question})[1]
    assert new in trial["messages"][0]["text"]

    customers = Customers(assistant, question)
    customers.start()
    try:
        time.sleep(1)
        status, published = call(console, "knowledge/publish", method="POST", body={"note": "还款答复改写"})
        assert status == 200
        took = seconds_until(assistant, question, new)
        assert took < PUBLISH_WITHIN_S
        time.sleep(1)
    finally:
        customers.running = False
        customers.join(30)
    assert not customers.errors
    assert len(customers.turns) > 5
    for _, replies in customers.turns:  # each message answered once, with the old or the new text, whole
        answers = [reply["text"] for reply in replies if reply.get("text")]
        assert len(answers) == 1 and (old in answers[0] or new in answers[0]), answers
    assert new in customers.turns[-1][1][0]["text"]

    # roll back: the old text again, as a new version
    status, rolled = call(console, "knowledge/rollback", method="POST", body={"version": published["version"] - 1})
    assert status == 200 and rolled["version"] == published["version"] + 1
    assert seconds_until(assistant, question, old) < PUBLISH_WITHIN_S


def test_a_variant_and_a_services_hours_and_note_reach_the_hotline_card(console, assistant):
    variant = "花呗还款失败：请先把花呗的**自动还款**关掉再手动还一次。"
    hours = {"open": "08:30", "close": "21:00", "days": "每天", "note": "春节另行通知"}
    note = "拨通后直接说“人工”"
    assert call(console, "knowledge/topics/repayment_failure", method="PUT",
                body={"variants": {"alipay": variant}})[0] == 200
    assert call(console, "knowledge/services/tianxing_loan", method="PUT",
                body={"hours": hours, "note": note})[0] == 200
    assert call(console, "knowledge/publish", method="POST", body={"note": "花呗版本和贷款服务时间"})[0] == 200
    seconds_until(assistant, "/repayment_failure" + json.dumps({"product": "alipay"}), "自动还款")
    card = answer_text(assistant, "/ask_hotline" + json.dumps({"product": "tianxing_loan"}))
    assert "08:30–21:00" in card and "春节另行通知" in card and note in card
    assert_only_official_numbers(card)
    # the other services' answers stay as they were
    assert "花呗" not in answer_text(assistant, "/repayment_failure" + json.dumps({"product": "tianxing_loan"}))
