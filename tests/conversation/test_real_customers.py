"""Messages written the way customers write (kinds 1, 3, 4, 8, 9, 10 and 11 of eval/kinds.py), via the real servers.

Each test checks what the user reads: the right steps and the right number, or a decline.
"""

import pytest

OFFICIAL_NUMBERS = ("400-100-3399", "400-100-5678", "95188")
DECLINED = ("帮不上忙", "不太确定", "没太看懂")


# Kind 1: fraud that already happened is answered with what to do now, then the line that can freeze.
@pytest.mark.parametrize(
    ("message", "hotline"),
    [
        ("我的支付宝被盗了，余额宝里的钱全被转走了", "95188"),
        ("有人用我的身份证偷偷开通了花呗", "95188"),
        ("陌生人登录了我的天星金融账号，还借了一笔钱", "400-100-3399"),
    ],
)
def test_stolen_money_or_account_gets_steps_for_now_and_the_right_hotline(conversation, message, hotline):
    answer = conversation.text(message)
    assert "冻结" in answer and "密码" in answer and "报警" in answer
    assert f"[{hotline}]" in answer


def test_being_cheated_already_is_not_only_a_warning(conversation):
    answer = conversation.text("被骗了3万块钱，怎么追回来")
    assert "留证据" in answer and "报警" in answer


# Kind 3: money that has not arrived is a withdrawal problem, not a scam.
@pytest.mark.parametrize("message", ["余额宝转出到银行卡两天了还没到帐", "赎回的钱过了三天还没到账"])
def test_money_not_arrived_gets_the_withdrawal_answer(conversation, message):
    answer = conversation.text(message)
    assert "提现" in answer and "银行卡" in answer
    assert "诈骗" not in answer


# Kind 4: opening hours asked through holidays and time words.
@pytest.mark.parametrize("message", ["春节放假期间天星金融的人工客服上班吗", "随星借客服下班了吗"])
def test_hours_asked_through_holidays_get_the_hours(conversation, message):
    assert "09:00–18:00" in conversation.text(message)


# Kind 8: dates, times, amounts and order numbers do not make a message a number check.
@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("我11月15号还的1200块，怎么显示还款失败", "余额不足"),
        ("订单20231115889900的手机收到有坏点，想退货", "无理由退货"),
        ("2024年3月买的耳机坏了，想修一下", "保修期"),
        ("昨天下午3点提现的500块到现在还没到账", "提现"),
    ],
)
def test_a_message_with_dates_and_amounts_is_answered_by_its_topic(conversation, message, expected):
    answer = conversation.text(message)
    assert expected in answer
    assert "号码" not in answer


# Kind 9: punctuation or emoji before the words do not make a message unreadable.
@pytest.mark.parametrize(
    ("message", "expected"), [("？？？人工几点上班", "服务时间"), ("!!!我的花呗被冻结了", "冻结")]
)
def test_leading_punctuation_does_not_hide_the_question(conversation, message, expected):
    answer = conversation.text(message)
    assert expected in answer
    assert "没看到文字" not in answer


# Kind 10: out of scope is declined, with no topic and no hotline, even with a phone number in it.
@pytest.mark.parametrize(
    "message", ["帮我打给我同事13812345678", "这期双色球的号码是多少", "明天早上7点叫我起床", "我的快递到哪了"]
)
def test_out_of_scope_is_declined_without_a_hotline(conversation, message):
    answer = conversation.text(message)
    assert any(phrase in answer for phrase in DECLINED), answer
    assert not any(number in answer for number in OFFICIAL_NUMBERS)
    assert "官方号码" not in answer


# Kind 11: a problem plus a request for a person or a number gets the answer and the hotline card.
@pytest.mark.parametrize(
    ("message", "expected", "hotline"),
    [
        ("耳机坏了想修，顺便给我售后的电话", "保修期", "400-100-5678"),
        ("随星借还款失败了，给我人工电话", "余额不足", "400-100-3399"),
    ],
)
def test_a_problem_and_a_request_for_a_person_get_both(conversation, message, expected, hotline):
    answer = conversation.text(message)
    assert expected in answer
    assert f"[{hotline}]" in answer


# A quoted official hotline, or a named service, makes the calling and channel questions that service's:
# answered at once, with its number only, never "which service?".
@pytest.mark.parametrize(
    ("message", "expected", "other_number"),
    [
        ("拨95188怎么总是接不通", "95188", "400-100-3399"),
        ("天星金融除了电话还有什么办法能联系上", "我的客服", "400-100-5678"),
    ],
)
def test_a_named_service_or_its_hotline_gets_that_services_answer(conversation, message, expected, other_number):
    answer = conversation.text(message)
    assert expected in answer and other_number not in answer, answer
    assert "您是想问" not in answer and "哪一项服务" not in answer
