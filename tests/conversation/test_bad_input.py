"""Unusual input: always a short Chinese reply, never a 500, never silence, nothing lost."""

import urllib.error
import urllib.request

import pytest

from common.privacy import mask_personal_data
from common.text import has_chinese

BAD_INPUT = {
    "empty": "",
    "whitespace": "   \n\t ",
    "emoji": "😂😂😂👍",
    "huge": "我的还款失败了，" + "啊" * 5000,
    "html": '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "english": "How do I repay my loan?",
    "digits": "123",
    "phone alone": "13800138000",
    "punctuation": "？？？！！",
}


@pytest.mark.parametrize("text", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_gets_a_chinese_reply(conversation, text):
    replies = conversation.say(text)
    assert all(has_chinese(r["text"]) for r in replies)
    assert len(replies[0]["text"]) < 600


def test_a_long_message_is_still_understood(conversation):
    assert "余额不足" in conversation.text(BAD_INPUT["huge"])


def test_the_server_keeps_serving_and_nothing_is_lost(conversation):
    for text in BAD_INPUT.values():
        conversation.say(text)
    assert "400-100-3399" in conversation.text("小米贷款客服电话")

    events = conversation.stored_events()
    said = [e["text"] for e in events if e["event"] == "user"]
    # Rasa strips surrounding white space; everything else is stored as the user wrote it, phone numbers masked.
    assert said == [mask_personal_data(text.strip()) for text in BAD_INPUT.values()] + ["小米贷款客服电话"]
    assert sum(e["event"] == "bot" for e in events) >= len(said)


def test_malformed_json_is_refused_cleanly(assistant):
    request = urllib.request.Request(
        f"{assistant.url}/webhooks/rest/webhook", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 400


def test_the_http_api_needs_the_token(assistant):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{assistant.url}/conversations/someone/tracker", timeout=30)
    assert error.value.code == 401
