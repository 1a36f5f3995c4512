"""Quoted numbers are checked against the hotline data; scam patterns get a warning."""

import pytest


@pytest.mark.parametrize(
    ("message", "verdict"),
    [
        ("这个400-680-8581是官方的吗", "不是"),
        ("4001003399", "天星金融"),
        ("400 100 5678是小米的吗", "小米售后"),
        ("４００－１００－３３９９ 是真的客服吗", "天星金融"),
        ("95188", "支付宝"),
        ("有个13912345678说是小米金融客服", "不在我掌握的官方号码里"),
    ],
)
def test_quoted_numbers_are_checked(conversation, message, verdict):
    assert verdict in conversation.text(message)


@pytest.mark.parametrize(
    "message",
    [
        "客服打电话让我把短信验证码告诉他",
        "对方说我的账户有风险，让我把钱转到安全账户",
        "有人说交2000手续费就能内部提额",
    ],
)
def test_scam_patterns_get_a_warning(conversation, message):
    answer = conversation.text(message)
    assert "诈骗" in answer
