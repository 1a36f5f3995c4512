"""The Rasa server process as `make run` starts it (`python -m rasa_server run`)."""

from __future__ import annotations

from pathlib import Path

from tests.conversation.conftest import Conversation


def test_the_server_answers_without_tensorflow_in_its_memory(assistant):
    # No component of our pipeline uses TensorFlow; stock Rasa would map its ~300 shared-library pieces anyway.
    reply = Conversation(assistant).text("小米贷款客服电话")
    assert "400-100-3399" in reply
    maps = Path(f"/proc/{assistant.rasa_server.pid}/maps").read_text()
    assert "tensorflow" not in maps
