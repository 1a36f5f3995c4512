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


def test_someone_asking_for_money_to_unfreeze_a_line_gets_the_warning_not_a_question(conversation):
    assert "冻结" in conversation.text("随星借额度被冻结了")
    answer = conversation.text("解冻要交钱吗 有人让我交钱")
    assert "诈骗" in answer and "400-100-3399" in answer  # the warning, with the service's own line
    assert "您是想问" not in answer
