"""Durability under `make run`'s real processes (issue 25): the action server, the Rasa server and the page server
with the console and live chat, all on one SQLite tracker database as `make run` keeps it, and the faults of a
working day around them. A turn counts as acknowledged when the customer got a reply; after each fault every
acknowledged turn must be in the database, read once all the processes have stopped.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from devtools.cluster import request_json
from devtools.live_chat_clients import OPS_TOKEN, Customer, Ops, buttons
from devtools.servers import NO_RATE_LIMITS, ROOT, Assistant, PageServer, free_port
from tests.conftest import page_assistant

# Two turns a conversation: a problem, then a follow-up that leans on it.
CONVERSATIONS = [
    ("余额宝提现一直失败怎么办", "还是不行"),
    ("花呗还款扣款失败了", "那怎么办"),
    ("手机屏幕摔碎了去哪修", "谢谢"),
    ("有人打电话说要帮我提额", "是骗子吗"),
    ("借呗的利息怎么算", "好的"),
]
ASK_PERSON = "支付宝的人工客服电话是多少"
LIVE_BUTTON = "在线人工"


@dataclass
class Stack:
    """`make run`'s three processes, and the turns they acknowledged."""

    workdir: Path
    assistant: Assistant
    console: PageServer
    acknowledged: List[Tuple[str, str]] = field(default_factory=list)

    @property
    def ops(self) -> Ops:
        return Ops(self.console.url)

    def start(self) -> None:
        if self.assistant.action_server is None or self.assistant.action_server.poll() is not None:
            self.assistant.start_action_server()
        if self.assistant.rasa_server is None or self.assistant.rasa_server.poll() is not None:
            self.assistant.start_rasa_server()
        if self.console.process is None or self.console.process.poll() is not None:
            self.console.start()

    def stop(self) -> None:
        self.console.stop()
        self.assistant.stop()

    def say(self, sender: str, text: str) -> str:
        status, replies = request_json(f"{self.assistant.url}/webhooks/rest/webhook",
                                       {"sender": sender, "message": text})
        assert status == 200 and replies, f"{text!r}: {status} {replies}"
        self.acknowledged.append((sender, text))
        return "\n".join(reply.get("text", "") for reply in replies)

    def talk(self, conversations: int) -> List[str]:
        """Whole conversations of two turns; returns their ids."""
        senders = []
        for index in range(conversations):
            sender = f"durable-{uuid.uuid4().hex[:10]}"
            for text in CONVERSATIONS[index % len(CONVERSATIONS)]:
                self.say(sender, text)
            senders.append(sender)
        return senders

    def console_lists(self, sender: str) -> None:
        listed = self.ops.ok("GET", "conversations", OPS_TOKEN)["conversations"]
        assert sender in {row["id"] for row in listed}
        turns = self.ops.ok("GET", f"conversations/{sender}", OPS_TOKEN)["turns"]
        assert turns, sender

    def live_chat_works(self) -> None:
        """An agent online: a customer on the chat page's socket.io channel is offered 在线人工 and queued (the action
        server and the page server write the live-chat rows), then leaves the queue and gets the bot back."""
        ops = self.ops
        agent = ops.new_agent(f"值班{uuid.uuid4().hex[:4]}", ["alipay"])
        customer = Customer(self.assistant.url)
        try:
            card = customer.wait_for("官方客服热线", customer.say(ASK_PERSON))
            self.acknowledged.append((customer.conversation, ASK_PERSON))
            assert LIVE_BUTTON in buttons(card), "an agent is online: 在线人工 must be offered"
            queued = customer.wait_for("排队", customer.say(buttons(card)[LIVE_BUTTON]))
            queue = ops.ok("GET", "agent/queue", agent)["items"]
            assert customer.conversation in {item["conversation"] for item in queue}
            customer.wait_for("智能客服继续为您服务", customer.say(buttons(queued)["离开排队"]))
        finally:
            customer.close()
            ops.call("POST", "agent/status", agent, {"online": False})

    def healthy(self) -> None:
        """Both health checks that would fail if a process wrote into deleted database files (common/tracker_db.py)."""
        status, body = request_json(f"{self.assistant.url}/webhooks/health/store?token={self.assistant.auth_token}")
        assert (status, body) == (200, {"store": "ok"})
        with urllib.request.urlopen(f"{self.console.url}/healthz", timeout=10) as response:
            assert response.status == 200

    def stored_user_turns(self) -> Counter:
        """(conversation, text) of every stored user message, read with every process stopped."""
        with sqlite3.connect(self.assistant.tracker_db) as connection:
            rows = connection.execute("SELECT sender_id, data FROM events WHERE type_name = 'user'").fetchall()
        return Counter((sender, json.loads(data).get("text")) for sender, data in rows)

    def assert_every_acknowledged_turn_stored(self) -> None:
        """Stops every process, counts, and starts them again for the next test."""
        self.stop()
        stored = self.stored_user_turns()
        missing = Counter(self.acknowledged) - stored
        assert not missing, f"{sum(missing.values())} of {len(self.acknowledged)} acknowledged turns lost: {missing}"
        self.start()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("durability")
    # The console's retrain replaces the served model and writes into the training data: copies, not the repository's.
    model = workdir / "models" / "cs-assistant.tar.gz"
    model.parent.mkdir()
    shutil.copy2(ROOT / "models" / "cs-assistant.tar.gz", model)
    shutil.copytree(ROOT / "data", workdir / "data")
    web_port = free_port()
    assistant = page_assistant(workdir / "assistant", web_port, extra_env=dict(NO_RATE_LIMITS))
    assistant.model = model
    console = PageServer(workdir, assistant.rasa_port, "console", port=web_port,
                         extra_env={**assistant.console_env(OPS_TOKEN, workdir / "var"),
                                    "OPS_TRAINING_DATA": str(workdir / "data")})
    stack = Stack(workdir, assistant, console)
    try:
        assistant.workdir.mkdir(parents=True)
        stack.start()
        yield stack
    finally:
        stack.stop()
