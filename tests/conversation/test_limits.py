"""Bad requests and floods: refused with a 4xx or dropped, never a 500, and nobody else notices."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, Optional, Tuple

import pytest
import socketio

from bench.flood import flood_scenario
from common.knowledge import load_knowledge
from devtools.servers import Assistant
from tests.conversation.conftest import Conversation

TOO_FAST = "您发送得太快了，请稍后再试"
WEBHOOK = "/webhooks/rest/webhook"

MALFORMED: Dict[str, Tuple[bytes, int]] = {
    "empty body": (b"", 400),
    "JSON list": (json.dumps([{"sender": "u1", "message": "你好"}]).encode(), 400),
    "JSON string": (b'"\xe4\xbd\xa0\xe5\xa5\xbd"', 400),
    "JSON number": (b"42", 400),
    "no sender": (json.dumps({"message": "你好"}).encode(), 400),
    "no message": (json.dumps({"sender": "u1"}).encode(), 400),
    "number sender": (json.dumps({"sender": 5, "message": "你好"}).encode(), 400),
    "list message": (json.dumps({"sender": "u1", "message": ["你好"]}).encode(), 400),
    "object message": (json.dumps({"sender": "u1", "message": {"text": "你好"}}).encode(), 400),
    "metadata not an object": (json.dumps({"sender": "u1", "message": "你好", "metadata": "x"}).encode(), 400),
    "invalid UTF-8": (b'{"sender": "u1", "message": "\xff\xfe\xfd"}', 400),
    "deep nesting in metadata": (
        b'{"sender": "u1", "message": "hi", "metadata": ' + b'{"a": ' * 100 + b"{}" + b"}" * 100 + b"}", 400),
    "deep nesting, whole body": (b"[" * 20000 + b"]" * 20000, 400),
    "oversized body": (json.dumps({"sender": "u1", "message": "啊" * 40000}).encode(), 413),
}


def post(server: Assistant, body: bytes, headers: Optional[Dict[str, str]] = None,
         source: str = "127.0.0.1") -> Tuple[int, object]:
    connection = http.client.HTTPConnection("127.0.0.1", server.rasa_port, timeout=60, source_address=(source, 0))
    try:
        connection.request("POST", WEBHOOK, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


def say(server: Assistant, sender: str, text: str, **kwargs) -> Tuple[int, object]:
    return post(server, json.dumps({"sender": sender, "message": text}).encode(), **kwargs)


@pytest.mark.parametrize(("body", "status"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_requests_get_a_short_json_error(assistant, body, status):
    got, answer = post(assistant, body)
    assert got == status
    assert isinstance(answer, dict) and 0 < len(answer["error"]) < 100


def test_the_server_answers_normally_after_the_garbage(assistant):
    for body, _ in MALFORMED.values():
        post(assistant, body)
    assert "400-100-3399" in Conversation(assistant).text("小米贷款客服电话")


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A server with the default limits (the shared one has no per-address limit)."""
    server = Assistant(workdir=tmp_path_factory.mktemp("limits"))
    try:
        yield server.start()
    finally:
        server.stop()


def burst(count: int, request: Callable[[int], Tuple[int, object]]) -> Tuple[List[Tuple[int, object]], float]:
    """Sends `count` requests at once (request(n) sends the n-th); returns the answers and the seconds taken."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(request, range(count)))
    return answers, time.monotonic() - started


def test_a_conversation_over_its_limit_gets_one_short_reply_and_is_not_processed(limited):
    answers, seconds = burst(30, lambda n: say(limited, "too-fast-1", "还款失败了"))
    statuses = [status for status, _ in answers]
    # The default 20/60: a burst of 20, then one message back every 3 s.
    assert 20 <= statuses.count(200) <= 20 + seconds / 3 + 1 and statuses.count(429) > 0
    assert all(answer == [{"recipient_id": "too-fast-1", "text": TOO_FAST}]
               for status, answer in answers if status == 429)
    # Another conversation from the same address is not affected.
    assert say(limited, "too-fast-2", "还款失败了")[0] == 200


def test_the_address_limit_believes_forwarded_addresses_only_from_a_trusted_proxy(limited):
    behind_proxy = {"X-Forwarded-For": "203.0.113.9"}
    answers, seconds = burst(250, lambda n: say(limited, f"nat-{n}", "你好", headers=behind_proxy))
    statuses = [status for status, _ in answers]
    # The default 120/60: a burst of 120, then two messages back a second.
    assert 120 <= statuses.count(200) <= 120 + 2 * seconds + 1 and statuses.count(429) > 0
    assert set(statuses) == {200, 429}
    # The same proxy forwarding someone else, and the same claimed address from an untrusted peer: served.
    assert say(limited, "other-client", "你好", headers={"X-Forwarded-For": "203.0.113.10"})[0] == 200
    assert say(limited, "spoofer", "你好", headers={"X-Forwarded-For": "203.0.113.9"}, source="127.0.0.3")[0] == 200


def test_one_flooding_client_does_not_hurt_the_others(limited):
    result = asyncio.run(flood_scenario(limited.url, normal=16, seconds=10, flood=True))
    assert result["normal_errors"] == 0, result["normal_error_examples"]
    assert result["normal_messages"] >= 16 * 2  # every conversation answered, more than once
    assert result["flood_sent"] >= 450
    assert set(result["flood_statuses"]) <= {"200", "429"}, result["flood_statuses"]
    # its first burst of 20 and the refill (one per 3 s) were processed, the rest refused
    assert result["flood_statuses"]["200"] <= 20 + result["flood_seconds"] / 3 + 1


async def _socket(server: Assistant, replies: List[dict]) -> Tuple[socketio.AsyncClient, str]:
    client = socketio.AsyncClient(reconnection=False)
    session = asyncio.get_running_loop().create_future()
    client.on("bot_uttered", lambda data: replies.append(data))
    client.on("session_confirm", lambda session_id: session.done() or session.set_result(session_id))
    await client.connect(server.url, headers={"Origin": server.web_origin}, transports=["websocket"])
    await client.emit("session_request", {"session_id": None})
    return client, await asyncio.wait_for(session, 30)


async def _wait_for(condition, timeout: float = 30) -> None:
    for _ in range(int(timeout * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)


def test_socketio_garbage_is_dropped_and_nobody_is_disconnected(limited):
    async def scenario() -> None:
        bystander_replies, sender_replies = [], []
        bystander, bystander_session = await _socket(limited, bystander_replies)
        sender, sender_session = await _socket(limited, sender_replies)
        for garbage in ["你好", ["你好"], 42, None, {"message": 5, "session_id": sender_session},
                        {"message": {"text": "x"}, "session_id": sender_session},
                        {"message": "你好", "session_id": ["x"]},
                        {"message": "你好", "session_id": sender_session, "metadata": json.loads("[" * 50 + "]" * 50)}]:
            await sender.emit("user_uttered", garbage)
        await bystander.emit("user_uttered", {"message": "小米贷款客服电话", "session_id": bystander_session})
        await _wait_for(lambda: bystander_replies)
        assert "400-100-3399" in bystander_replies[0]["text"]
        assert bystander.connected and sender.connected
        await sender.emit("user_uttered", {"message": "小米贷款客服电话", "session_id": sender_session})
        await _wait_for(lambda: sender_replies)
        assert "400-100-3399" in sender_replies[0]["text"]
        await bystander.disconnect()
        await sender.disconnect()

    asyncio.run(scenario())


def test_socketio_over_the_limit_is_told_once(limited):
    async def scenario() -> List[dict]:
        replies: List[dict] = []
        client, session = await _socket(limited, replies)
        for _ in range(30):
            await client.emit("user_uttered", {"message": "谢谢", "session_id": session})
        await _wait_for(lambda: sum(r.get("text") != TOO_FAST for r in replies) >= 20)
        await asyncio.sleep(2)
        await client.disconnect()
        return replies

    started = time.monotonic()
    replies = asyncio.run(scenario())
    seconds = time.monotonic() - started
    texts = [reply.get("text") for reply in replies]
    assert texts.count(TOO_FAST) == 1
    # The burst of 20 was answered, plus what refilled (one per 3 s) while the server read the 30
    # messages; the rest were not processed.
    answered = len(texts) - 1
    assert 20 <= answered <= 20 + seconds / 3 + 1 and answered < 30
    assert load_knowledge().template("too_fast") == TOO_FAST
