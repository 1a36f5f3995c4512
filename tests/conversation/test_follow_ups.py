"""Follow-ups that lean on the previous turn (issue 26): read with the conversation's topic and service, answered
from the source documents' facts, for all three services; and context that does not stick where it should not."""

import json
import urllib.request

import pytest

from common.conversation import ANSWER_SERVICE_KEY
from tests.conversation.conftest import Conversation

# What the documents say about a repair's cost: no price, what decides it, where to ask.
REPAIR_COST = ("保修期内", "人为损坏", "备件价格")


def replies_about(conversation: Conversation, message: str) -> list:
    """The metadata of the replies to message (what each answer is about, as actions/replies.py marks it)."""
    conversation.say(message)
    events = conversation.stored_events()
    last_user = max(i for i, event in enumerate(events) if event["event"] == "user")
    return [event.get("metadata") or {} for event in events[last_user:] if event["event"] == "bot"]


# 1. Asking about the answer just given -------------------------------------------------------------------------

def test_the_cost_of_a_repair_just_explained(conversation):
    conversation.say("我的小米手机屏幕摔碎了")
    answer = conversation.text("费用是？")
    assert all(fact in answer for fact in REPAIR_COST), answer
    assert "借款合同" not in answer  # today's mistake: the loan fees answer
    assert not any(ch.isdigit() for ch in answer.replace("1年", "")), "no invented price or duration"


@pytest.mark.parametrize(
    ("first", "follow_up", "expected"),
    [
        ("手机屏幕摔碎了怎么修", "过保了呢", "备件价格"),
        ("手机屏幕摔碎了怎么修", "多久能好", "几小时到几天"),
        ("耳机坏了想修", "去哪里修", "授权服务中心"),
        ("耳机坏了想修", "要带什么", "保修卡"),
        ("我想退货", "需要什么材料", "配件齐全"),
        ("米家灯泡连不上", "具体怎么弄", "重置"),
        ("我想提高花呗额度", "收费吗", "不收任何费用"),
        ("随星借额度被冻结了", "多久能好", "几个工作日"),
        ("小米贷款还款失败了", "去哪里办", "天星金融App"),
        ("花呗被重复扣款了", "要准备什么", "时间和金额"),
        # in customers' own words
        ("小米手机开不了机了要修", "how much", "备件价格"),
        ("小米平板屏幕碎了", "请问一下那个费用是怎么算的", "备件价格"),
        ("在小米商城买的耳机想换货", "要准备点啥", "配件齐全"),
        ("随星借的利息怎么算", "这个在app哪里看啊", "借款合同"),
    ],
)
def test_an_aspect_of_the_last_answer(conversation, first, follow_up, expected):
    conversation.say(first)
    assert expected in conversation.text(follow_up)


def test_weekend_after_a_loan_answer_gives_that_lines_hours(conversation):
    conversation.say("随星借还款失败了")
    answer = conversation.text("周末能打电话吗")
    assert "400-100-3399" in answer and "09:00–18:00" in answer and "95188" not in answer


def test_an_aspect_without_figures_says_where_the_figure_is(conversation):
    conversation.say("余额宝提现失败")
    answer = conversation.text("要多久")
    assert "没有写具体时间" in answer and "支付宝App" in answer


# 2. The same question for another service ----------------------------------------------------------------------

def test_the_hotline_for_another_service(conversation):
    assert "400-100-5678" in conversation.text("小米售后电话是多少")
    answer = conversation.text("那小米贷款的呢")
    assert "400-100-3399" in answer and "400-100-5678" not in answer


def test_the_loan_services_line_after_a_repair_answer(conversation):
    conversation.say("我的红米手机摔了屏幕裂了")
    answer = conversation.text("那小米贷款的呢")
    assert "400-100-3399" in answer and "整体升级" not in answer  # not the brand-change answer


def test_the_same_question_for_a_brand_of_two_services_asks_which_one(conversation):
    conversation.say("借呗还款失败了")
    replies = conversation.say("那小米的也是这样吗")
    payloads = [button["payload"] for reply in replies for button in reply.get("buttons", [])]
    assert payloads == ['/repayment_failure{"product": "xiaomi_after_sales"}',
                        '/repayment_failure{"product": "tianxing_loan"}']


def test_the_after_sales_hotline_after_the_loan_one(conversation):
    assert "400-100-3399" in conversation.text("天星金融客服电话")
    answer = conversation.text("那小米售后呢")
    assert "400-100-5678" in answer and "400-100-3399" not in answer


def test_a_loan_answer_for_jiebei(conversation):
    conversation.say("我的小米贷款还款失败了")
    about = replies_about(conversation, "那借呗呢")
    assert about[0]["topic"] == "repayment_failure" and about[0]["service"] == "alipay"
    assert "95188" in conversation.text("没解决")


def test_how_to_repay_huabei_after_a_loan_repayment_date(conversation):
    conversation.say("随星借的还款日在哪看")
    answer = conversation.text("那花呗怎么还")
    assert "支付宝App" in answer and "天星金融" not in answer


def test_service_hours_for_another_service(conversation):
    assert "09:00–18:00" in conversation.text("天星金融客服几点上班")
    answer = conversation.text("那支付宝的呢")
    assert "95188" in answer and "400-100-3399" not in answer


# 3. Not resolved, what next, a person ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("first", "follow_up", "hotline"),
    [
        ("余额宝提现失败了", "人呢", "95188"),
        ("手机屏幕摔碎了", "还是不行", "400-100-5678"),
        ("随星借还款失败了", "我试过了", "400-100-3399"),
        ("花呗额度被冻结了", "有人吗", "95188"),
        # in customers' own words
        ("余额宝转出到卡里失败了", "我都弄了好几次了还是不行！！", "95188"),
        ("随星借这期扣款没成功", "那个…还有别的办法吗", "400-100-3399"),
        ("花呗还款一直失败", "你们这个怎么搞的", "95188"),
        ("米家台灯连不上网", "重启了n次了", "400-100-5678"),
        ("借呗额度被冻结了", "可是我从来没有逾期过啊", "95188"),
        ("支付宝付款失败", "点算啊", "95188"),
    ],
)
def test_not_resolved_gets_the_topics_hotline(conversation, first, follow_up, hotline):
    conversation.say(first)
    answer = conversation.text(follow_up)
    assert hotline in answer and "太好了" not in answer and "您是想问" not in answer


def test_the_problem_retold_with_what_was_tried_gets_the_hotline_not_the_same_answer(conversation):
    conversation.say("随星借还款失败了")
    answer = conversation.text("我按你说的把卡换了 余额也是够的 可是到现在还是扣款失败")
    assert "400-100-3399" in answer and "常见原因" not in answer


def test_what_now_after_a_hotline_card(conversation):
    conversation.say("天星金融人工客服")
    answer = conversation.text("那怎么办")
    assert "400-100-3399" in answer and "没太看懂" not in answer


# 4. What already happened ----------------------------------------------------------------------------------------

def test_a_fraud_victim_gets_the_steps_for_now(conversation):
    assert "诈骗" in conversation.text("有人打电话说可以内部提额，要先交手续费")
    answer = conversation.text("我已经转了5000")
    assert "冻结" in answer and "报警" in answer and "证据" in answer
    assert "您是想问" not in answer


def test_asking_for_a_person_after_the_fraud_steps_is_not_told_it_was_unsolved(conversation):
    conversation.say("有人打电话说可以内部提额，要先交手续费")
    conversation.say("我已经转了5000")
    answer = conversation.text("人呢")
    assert "没解决" not in answer and "人工" in answer and "哪一项服务" in answer


def test_a_fee_paid_to_someone_posing_as_the_lender_gets_the_steps_and_the_lenders_line(conversation):
    assert "诈骗" in conversation.text("有人冒充天星金融客服让我先交保证金才能放款")
    answer = conversation.text("我已经交了2000")
    assert "报警" in answer and "400-100-3399" in answer


def test_a_changed_card_after_repayment_advice_gets_the_next_step(conversation):
    conversation.say("借呗还款失败了")
    answer = conversation.text("我已经换过卡了")
    assert "95188" in answer


def test_the_card_checked_and_fine_after_withdrawal_advice_gets_the_next_step(conversation):
    conversation.say("余额宝转出到银行卡失败")
    answer = conversation.text("银行卡已经核对过了没问题")
    assert "95188" in answer and "您是想问" not in answer


# 5. A number in context ------------------------------------------------------------------------------------------

def test_another_number_after_a_number_check(conversation):
    assert "不是" in conversation.text("400-680-8581是小米的客服吗")
    assert "支付宝" in conversation.text("那95188呢")


def test_a_line_that_does_not_answer_after_quoting_it(conversation):
    # However the first message is read, 95188 named the service: the tips and the card are 支付宝's.
    conversation.say("95188多少")
    answer = conversation.text("打不通怎么办")
    assert "95188" in answer and "请问您要联系哪一项服务" not in answer


def test_a_number_alone_after_asking_whether_a_number_is_real(conversation):
    conversation.say("有个号码说是天星金融的，这个号码是真的吗")
    assert "天星金融" in conversation.text("4001003399")


def test_a_service_number_the_entity_layer_leaves_alone_is_checked_in_context(conversation):
    # 10086 is no phone number to the entity layer (five digits starting with 1 look like an amount).
    assert "支付宝" in conversation.text("95188是官方的吗")
    answer = conversation.text("那10086呢")
    assert "不在我掌握的官方号码里" in answer and "您是想问" not in answer


def test_a_line_quoted_in_a_clarified_question_is_the_service_in_context(conversation):
    conversation.say("95188多少")
    answer = conversation.text("打不通咋办")
    assert "95188" in answer and "哪一项服务" not in answer


def test_is_this_number_real_with_no_number_asks_for_it_and_checks_the_next(conversation):
    answer = conversation.text("这个号码是真的吗")
    assert "把号码直接发给我" in answer and "诈骗" not in answer
    assert "天星金融" in conversation.text("4001003399")


def test_is_this_number_real_after_a_hotline_card_checks_the_line_just_given(conversation):
    conversation.say("余额宝人工客服电话")
    answer = conversation.text("这个号码是真的吗")
    assert "95188" in answer and "官方客服热线" in answer and "诈骗" not in answer


# 6. Clarification ordered by the conversation -------------------------------------------------------------------

def payloads(replies: list) -> list:
    return [b["payload"] for reply in replies for b in reply.get("buttons") or []]


def buttons(conversation: Conversation, message: str) -> list:
    return payloads(conversation.say(message))


def test_a_clarification_puts_the_topic_just_answered_first(conversation):
    alone = buttons(Conversation(conversation.server), "钱的问题")
    conversation.say("随星借还款失败了")
    after_repayment = buttons(conversation, "钱的问题")
    assert sorted(alone) == sorted(after_repayment) and after_repayment[0] == "/repayment_failure"


def test_after_a_loan_answer_repair_topics_come_last(conversation):
    conversation.say("随星借还款失败了")
    offered = buttons(conversation, "机子歇菜了")
    repair = [i for i, payload in enumerate(offered) if payload in ("/repair_progress", "/after_sales_repair")]
    assert repair and min(repair) > max(i for i, p in enumerate(offered) if i not in repair)


def test_another_service_named_instead_of_a_choice_gets_the_choices_for_it(conversation):
    offered = buttons(conversation, "钱的问题")
    replies = conversation.say("那支付宝呢")
    again = payloads(replies)
    assert "支付宝" in replies[0]["text"] and again and set(again) <= set(offered)
    answered = replies_about(conversation, again[0])
    assert any(meta.get(ANSWER_SERVICE_KEY) == "alipay" for meta in answered), answered


# 7. Context does not stick where it should not -------------------------------------------------------------------

def test_another_brand_after_a_repair_answer_is_declined_not_read_as_solved(conversation):
    conversation.say("我的小米手机屏幕摔碎了")
    answer = conversation.text("那华为的呢")
    assert "帮不上忙" in answer and "太好了" not in answer


def test_giving_up_with_thanks_is_thanked_not_misunderstood(conversation):
    conversation.say("我的小米手机屏幕摔碎了")
    answer = conversation.text("算了 谢谢")
    assert "不客气" in answer and "没太看懂" not in answer


def test_a_new_clear_question_wins_over_the_old_topic(conversation):
    conversation.say("手机屏幕摔碎了")
    about = replies_about(conversation, "我的借呗额度被冻结了")
    assert about[0]["topic"] == "quota_frozen"


def test_a_follow_up_with_nothing_before_gets_todays_behaviour(conversation):
    about = replies_about(conversation, "费用是？")
    assert not any(a.get("follow_up") for a in about)


def _put_events(conversation: Conversation, events: list) -> None:
    server = conversation.server
    request = urllib.request.Request(
        f"{server.url}/conversations/{conversation.sender}/tracker/events?token={server.auth_token}",
        data=json.dumps(events).encode(), headers={"Content-Type": "application/json"}, method="PUT",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


@pytest.mark.parametrize(("minutes_ago", "read_as_follow_up"), [(5, True), (31, False)])
def test_the_topic_expires_after_half_an_hour(assistant, minutes_ago, read_as_follow_up):
    earlier = Conversation(assistant)
    earlier.say("我的小米手机屏幕摔碎了")
    events = earlier.stored_events()
    for event in events:  # the same conversation, as if it had happened that long ago
        event["timestamp"] -= minutes_ago * 60
    later = Conversation(assistant)
    _put_events(later, events)
    answer = later.text("要多少钱")
    assert all(fact in answer for fact in REPAIR_COST) == read_as_follow_up, answer
