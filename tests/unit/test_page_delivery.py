"""The socket.io channel's answers kept until a page confirms them (rasa_server/page_delivery.py), with a
socket server that records what it emits and lets the test play the page's acknowledgement. The browser
side (the page confirming once the widget kept the message, a reload mid-answer) is in tests/e2e."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, List, Tuple

from rasa_server import page_delivery
from rasa_server.page_delivery import AnswerDelivery, AwaitingPages


class RecordingSocketServer:
    def __init__(self) -> None:
        self.emitted: List[Tuple[str, str, Callable[..., Any]]] = []  # (socket, text, acknowledge)

    async def emit(self, event: str, payload: Dict[str, Any], room: str, namespace: str,
                   callback: Callable[..., Any]) -> None:
        self.emitted.append((room, payload["text"], callback))

    def texts_to(self, sid: str) -> List[str]:
        return [text for room, text, _ in self.emitted if room == sid]


def test_an_answer_is_sent_again_to_the_next_page_only_when_no_page_confirmed_it():
    async def scenario() -> None:
        server, sockets = RecordingSocketServer(), {"old-tab": "c1"}
        answers = AnswerDelivery(AwaitingPages(server, "/", "bot_uttered"), sockets)
        await answers.send("c1", {"text": "先换一张卡试试"})
        await answers.send("c1", {"text": "以上方法解决您的问题了吗？"})
        await server.emitted[0][2]()  # the page kept the first answer, then was reloaded
        del sockets["old-tab"]
        answers.awaiting.socket_gone("old-tab")

        sockets["new-tab"] = "c1"
        await answers.page_connected("new-tab", "c1")
        assert server.texts_to("new-tab") == ["以上方法解决您的问题了吗？"]
        await server.emitted[-1][2]()
        sockets["third-tab"] = "c1"
        await answers.page_connected("third-tab", "c1")
        assert server.texts_to("third-tab") == []
        assert answers.pending == {}

    asyncio.run(scenario())


def test_an_answer_on_its_way_to_an_open_page_is_not_sent_to_a_second_one_and_old_ones_are_dropped(monkeypatch):
    async def scenario() -> None:
        server, sockets = RecordingSocketServer(), {"tab": "c1"}
        answers = AnswerDelivery(AwaitingPages(server, "/", "bot_uttered"), sockets)
        await answers.send("c1", {"text": "还在路上"})
        sockets["second-tab"] = "c1"
        await answers.page_connected("second-tab", "c1")
        assert server.texts_to("second-tab") == []

        monkeypatch.setattr(page_delivery, "ANSWER_KEPT_S", 0)
        await answers.send("c2", {"text": "另一位客户的回答"})
        assert "c1" not in answers.pending

    asyncio.run(scenario())


def test_an_answer_given_while_no_page_is_connected_is_sent_when_one_connects():
    async def scenario() -> None:
        server, sockets = RecordingSocketServer(), {}
        answers = AnswerDelivery(AwaitingPages(server, "/", "bot_uttered"), sockets)
        await answers.send("c1", {"text": "答案在页面断线时生成"})
        sockets["back"] = "c1"
        await answers.page_connected("back", "c1")
        assert server.texts_to("back") == ["答案在页面断线时生成"]

    asyncio.run(scenario())
