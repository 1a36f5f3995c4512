"""The right official hotline for each product, and context carried across turns."""

import pytest


@pytest.mark.parametrize(
    ("question", "hotline"),
    [
        ("小米贷款客服电话多少", "400-100-3399"),
        ("随星借人工客服怎么联系", "400-100-3399"),
        ("小米售后电话是多少", "400-100-5678"),
        ("余额宝人工客服电话", "95188"),
        ("花呗转人工", "95188"),
        # A problem the assistant is unsure of, the service named and a person asked for: that service's card.
        ("花呗多扣了钱，我要找人工", "95188"),
        ("小米手机坏了，我要人工", "400-100-5678"),
    ],
)
def test_hotline_per_product(conversation, question, hotline):
    answer = conversation.text(question)
    assert hotline in answer
    assert "验证码" in answer  # anti-fraud reminder comes with every hand-off


def test_product_carries_over_to_the_hotline_question(conversation):
    assert "余额不足" in conversation.text("我的小米贷款还款失败了")
    answer = conversation.text("那客服电话是多少")
    assert "400-100-3399" in answer and "400-100-5678" not in answer
    assert "09:00–18:00" in answer and "身份证" in answer


def test_a_broken_phone_then_a_person_gives_after_sales(conversation):
    assert "保修" in conversation.text("手机屏幕摔碎了")
    answer = conversation.text("转人工")
    assert "400-100-5678" in answer and "400-100-3399" not in answer


def test_self_help_not_enough_hands_off(conversation):
    replies = conversation.say("花呗还款一直失败")
    assert [b["payload"] for b in replies[-1]["buttons"]] == ["/affirm", "/deny"]
    assert "95188" in conversation.text("/deny")


def test_self_help_worked(conversation):
    conversation.say("余额宝提现失败了")
    assert "太好了" in conversation.text("解决了")


def test_plain_xiaomi_asks_which_service_and_the_button_answers(conversation):
    replies = conversation.say("小米的客服电话")
    buttons = replies[-1]["buttons"]
    assert [b["title"] for b in buttons] == ["售后", "贷款"]
    assert "400-100-3399" in conversation.text(buttons[1]["payload"])


def test_a_complaint_escalates_to_a_person(conversation):
    answer = conversation.text("天星金融的催收态度太差了，我要投诉")
    assert "投诉工单" in answer and "400-100-3399" in answer


def test_service_hours(conversation):
    answer = conversation.text("天星金融客服几点上班")
    assert "09:00–18:00" in answer and "400-100-3399" in answer


def test_traditional_chinese_is_understood(conversation):
    assert "解锁" in conversation.text("我的帳戶被鎖了怎麼辦")


def test_a_long_conversation_still_follows_context_and_keeps_every_turn(conversation):
    # 40 turns of other questions first: the answers must not depend on how long the session is.
    for _ in range(10):
        conversation.say("你好")
        conversation.say("余额宝提现失败了")
        conversation.say("解决了")
        conversation.say("谢谢")
    replies = conversation.say("手机屏幕摔碎了")
    assert [b["payload"] for b in replies[-1]["buttons"]] == ["/affirm", "/deny"]
    answer = conversation.text("没用")  # the deny right after an answer hands off: a two-turn rule
    assert "400-100-5678" in answer and "95188" not in answer

    said = [event["text"] for event in conversation.stored_events() if event["event"] == "user"]
    assert len(said) == 42 and said[-2:] == ["手机屏幕摔碎了", "没用"]
