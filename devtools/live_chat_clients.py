"""Clients for the live-chat tests and scripts/live_chat_screenshot.py: the agents' HTTP API, and a customer on
Rasa's socket.io channel (python-socketio's client, as the chat page's widget talks to it)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple

import socketio

OPS_TOKEN = "live-chat-test-operator"
WAIT_S = 60.0


class Ops:
    """JSON calls to the page server's /ops/api/ with a given token."""

    def __init__(self, url: str):
        self.url = url
        self.agent_tokens: List[str] = []

    def call(self, method: str, path: str, token: Optional[str], body: Any = None) -> Tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/ops/api/{path}", data=data, method=method)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def ok(self, method: str, path: str, token: Optional[str], body: Any = None) -> Any:
        status, answer = self.call(method, path, token, body)
        assert status in (200, 201), f"{method} {path}: {status} {answer}"
        return answer

    def new_agent(self, name: str, services: List[str], online: bool = True) -> str:
        token = self.ok("POST", "agents", OPS_TOKEN, {"name": name, "services": services})["token"]
        self.agent_tokens.append(token)
        self.ok("POST", "agent/status", token, {"online": online})
        return token

    def wait_for_message(self, token: str, conversation: str, fragment: str, sender: str) -> Dict[str, Any]:
        """Polls the conversation's live messages until one from `sender` contains `fragment`."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            items = self.ok("GET", f"agent/conversations/{conversation}/messages?after=0", token)["items"]
            found = [m for m in items if m["from"] == sender and fragment in m["text"]]
            if found:
                return found[-1]
            time.sleep(0.3)
        raise AssertionError(f"no {sender} message with {fragment!r} in {conversation}: {items}")


class Heartbeat:
    """An agent's open console: calls the API every second (as the workspace polls) until stopped."""

    def __init__(self, ops: Ops, token: str):
        self.ops, self.token = ops, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(1.0):
            self.ops.call("GET", "agent/me", self.token)

    def stop(self) -> None:
        """The tab is closed: no more calls."""
        self._stop.set()
        self._thread.join()


class Customer:
    """A customer of the chat page: a socket.io session with its own conversation id."""

    def __init__(self, rasa_url: str, conversation: Optional[str] = None):
        """A new conversation, or `conversation` again (the same browser coming back to the page)."""
        self.conversation = conversation or f"live-{uuid.uuid4().hex[:12]}"
        self.received: List[Dict[str, Any]] = []
        self._arrived = threading.Condition()
        self.client = socketio.Client(reconnection=True)
        self.client.on("bot_uttered", self._on_bot_uttered)
        self.client.on("connect", lambda: self.client.emit("session_request", {"session_id": self.conversation}))
        self.client.connect(rasa_url, transports=["polling"], socketio_path="socket.io", wait_timeout=30)

    def _on_bot_uttered(self, message: Dict[str, Any]) -> None:
        with self._arrived:
            self.received.append(message)
            self._arrived.notify_all()

    def say(self, text: str) -> int:
        """Sends a message; returns how many bot messages had arrived before it."""
        with self._arrived:
            before = len(self.received)
        self.client.emit("user_uttered", {"message": text, "session_id": self.conversation})
        return before

    def type_something(self) -> None:
        """A keystroke in the message box, as the chat page tells it (no text); returns once the server took it."""
        self.client.call("customer_typing", timeout=WAIT_S)

    def wait_for(self, fragment: str, after: int = 0) -> Dict[str, Any]:
        """The first bot message from index `after` on that contains `fragment` (waits for it)."""
        deadline = time.monotonic() + WAIT_S
        with self._arrived:
            while True:
                for message in self.received[after:]:
                    if fragment in (message.get("text") or ""):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no message with {fragment!r}; got {self.texts(after)}")
                self._arrived.wait(remaining)

    def texts(self, after: int = 0) -> List[str]:
        with self._arrived:
            return [message.get("text") or "" for message in self.received[after:]]

    def close(self) -> None:
        self.client.disconnect()


def buttons(message: Dict[str, Any]) -> Dict[str, str]:
    """title -> payload of a bot message's buttons (the socket.io channel sends them as quick_replies)."""
    return {button["title"]: button["payload"] for button in message.get("quick_replies") or []}
