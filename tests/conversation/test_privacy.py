"""Customers' personal data in the tracker store, read back as raw database rows: numbers masked
before storage, the conversation erased on the customer's or an operator's request, old
conversations purged (by the server on a schedule and by `make purge`).

The rows are read with SQL from the database the server is configured with (conftest.raw_rows). Each
test runs on SQLite (the shared server) and on PostgreSQL 15 (a throw-away local one, skipped where
Debian's binaries are missing).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request

import pytest

from common.knowledge import load_knowledge
from devtools.servers import NO_RATE_LIMITS, ROOT, Assistant, LocalPostgres
from tests.conversation.conftest import Conversation, raw_rows

# message, the number in it as digits, how it must be stored
NUMBERS = {
    "ID card": ("我的身份证号是110101199003077777，账户被锁了", "110101199003077777", "110101********7777"),
    "ID card ending in X": ("身份证11010519851204002X登录不上", "11010519851204002X", "110105********002X"),
    "bank card": ("银行卡6222 0212 3456 0202被重复扣款了", "6222021234560202", "6222 **** **** 0202"),
    "mobile": ("13912345678打电话说是客服，是真的吗", "13912345678", "139****5678"),
    "full-width mobile": ("我的手机号１３８１２３４５６７８还款失败", "13812345678", "１３８****５６７８"),
    "e-mail": ("我的邮箱zhang.san@example.com登不上了", "zhang.san@example.com", "z***@example.com"),
}
_LONG_NUMBER = re.compile(r"\d(?:[- ]?\d){6,}")


def _strings(value, key=""):
    """Every string in a stored event, except ids Rasa generates (message_id, model_id: hex)."""
    if isinstance(value, str):
        if not key.endswith("_id"):
            yield value
    elif isinstance(value, dict):
        for child_key, child in value.items():
            yield from _strings(child, child_key)
    elif isinstance(value, list):
        for child in value:
            yield from _strings(child, key)


def stored_text(rows) -> str:
    return "\n".join(text for row in rows for text in _strings(json.loads(row)))


def unmasked_numbers(rows):
    """Runs of 7+ digits in the stored strings that are not a 400/800 hotline."""
    found = []
    for text in _strings([json.loads(row) for row in rows]):
        for match in _LONG_NUMBER.finditer(unicodedata.normalize("NFKC", text)):
            digits = re.sub(r"\D", "", match.group())
            if not (len(digits) == 10 and digits[:3] in ("400", "800")):
                found.append(match.group())
    return found


def delete(url: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, method="DELETE")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module")
def postgres_assistant(tmp_path_factory):
    if not LocalPostgres.available():
        pytest.skip("no PostgreSQL 15 here (/usr/lib/postgresql/15/bin and a postgres user)")
    postgres = LocalPostgres().start()
    server = Assistant(workdir=tmp_path_factory.mktemp("postgres-assistant"),
                       extra_env={**postgres.tracker_env(), **NO_RATE_LIMITS})
    try:
        yield server.start()
    finally:
        server.stop()
        postgres.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_assistant(request) -> Assistant:
    return request.getfixturevalue("assistant" if request.param == "sqlite" else "postgres_assistant")


@pytest.fixture
def conversation(store_assistant) -> Conversation:
    return Conversation(store_assistant)


def test_every_kind_of_number_is_stored_masked(conversation):
    for message, _, _ in NUMBERS.values():
        conversation.say(message)
    rows = conversation.raw_rows()
    text = stored_text(rows)
    assert unmasked_numbers(rows) == []
    for _, number, masked in NUMBERS.values():
        assert number not in text
        assert masked in text, masked


def test_the_number_check_sees_the_full_number_and_hotlines_stay_readable(conversation):
    assert "天星金融" in conversation.text("4001003399")
    unknown = conversation.text("有个13912345678说是小米金融客服")
    assert load_knowledge().template("number_unknown") in unknown and "13912345678" not in unknown
    rows = conversation.raw_rows()
    assert "4001003399" in stored_text(rows)
    assert unmasked_numbers(rows) == []
    # what later turns and the HTTP API see is what is stored
    said = [event["text"] for event in conversation.stored_events() if event["event"] == "user"]
    assert said == ["4001003399", "有个139****5678说是小米金融客服"]


def test_the_tracker_database_is_private(assistant):
    for path in assistant.workdir.glob("tracker.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_deletion_asks_first_then_erases_everything(conversation):
    conversation.say("银行卡6222021234560202被重复扣款了")
    ask = conversation.say("删除我的聊天记录")
    assert "确认" in ask[-1]["text"]
    assert [b["payload"] for b in ask[-1]["buttons"]] == ["/affirm", "/deny"]
    assert conversation.raw_rows(), "nothing is deleted before the customer confirms"

    done = conversation.say("/affirm")  # the 确认删除 button
    assert "已删除" in done[0]["text"]
    assert {"clear_history": True} in [reply.get("custom", {}).get("data") for reply in done]
    assert conversation.raw_rows() == []

    # The next message starts a new conversation: nothing from before comes back.
    conversation.say("转人工")
    rows = conversation.raw_rows()
    assert rows and "重复扣款" not in stored_text(rows) and "6222" not in stored_text(rows)


def test_deletion_typed_yes_and_called_off(conversation):
    conversation.say("我的手机号13812345678还款失败了")
    conversation.say("把我的聊天记录删掉")
    assert "不删除" in conversation.text("不用了")
    assert conversation.raw_rows()
    conversation.say("我想删除我的聊天记录")
    conversation.say("是的")
    assert conversation.raw_rows() == []


def test_operators_delete_a_conversation_with_the_token(conversation, store_assistant):
    assistant = store_assistant
    conversation.say("手机屏幕摔碎了怎么修")
    url = f"{assistant.url}/webhooks/privacy/conversations/{conversation.sender}"
    assert delete(url)[0] == 401
    assert delete(f"{url}?token=wrong")[0] == 401
    assert conversation.raw_rows()

    status, body = delete(f"{url}?token={assistant.auth_token}")
    assert status == 200 and body["deleted_events"] > 0
    assert conversation.raw_rows() == []
    assert delete(f"{url}?token={assistant.auth_token}")[0] == 404
    # The context went with it: "转人工" no longer knows the phone was the topic.
    assert len(conversation.say("转人工")[-1]["buttons"]) == 3  # which service? all three offered


def test_make_purge_deletes_conversations_older_than_retention_days(conversation, store_assistant):
    assistant = store_assistant
    conversation.say("余额宝提现失败")
    purge = [sys.executable, "-m", "common.erasure", "purge"]

    def run(days: str) -> str:
        env = {**assistant.env(), "RETENTION_DAYS": days}
        return subprocess.run(purge, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout

    run("180")
    assert conversation.raw_rows(), "a fresh conversation is kept"
    time.sleep(1.5)
    assert "deleted" in run("0.00001")  # older than about 0.9 s
    assert conversation.raw_rows() == []


@pytest.fixture(scope="module")
def short_retention_assistant(tmp_path_factory):
    """A server that keeps conversations 5 seconds and purges every second."""
    server = Assistant(workdir=tmp_path_factory.mktemp("retention"),
                       extra_env={"RETENTION_DAYS": str(5 / 86400), "RETENTION_PURGE_INTERVAL": "1"})
    try:
        yield server.start()
    finally:
        server.stop()


def test_the_server_purges_old_conversations_on_its_own(short_retention_assistant):
    conversation = Conversation(short_retention_assistant)
    conversation.say("账户被锁了")
    started = time.monotonic()
    assert raw_rows(short_retention_assistant, conversation.sender)
    while raw_rows(short_retention_assistant, conversation.sender) and time.monotonic() - started < 60:
        time.sleep(1)
    assert raw_rows(short_retention_assistant, conversation.sender) == []
    os.stat(short_retention_assistant.tracker_db)  # the database itself stays
