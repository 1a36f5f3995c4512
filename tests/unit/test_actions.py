"""Custom actions with the SDK's own dispatcher and tracker, the real knowledge and domain."""

from datetime import datetime

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import replies
from actions.answers import ActionAnswerProblem
from actions.clarify import ActionClarify
from actions.fraud import ActionCheckFraud
from actions.handoff import ActionHandoff, ActionTellServiceHours
from common.knowledge import SERVICE_TIMEZONE, load_knowledge
from tests.conftest import ROOT, assert_only_official_numbers


@pytest.fixture(scope="module")
def domain():
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def tracker(intent, entities=(), slots=None, ranking=None, text=""):
    latest = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [{"entity": e, "value": v} for e, v in entities],
        "intent_ranking": ranking or [{"name": intent, "confidence": 0.9}],
        "text": text,
    }
    return Tracker("user", {"product": None, "topic": None, "clarify_attempts": 0, **(slots or {})},
                   latest, [], False, None, {}, "action_listen")


async def run(action, tracker_, domain):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker_, domain)
    for message in dispatcher.messages:
        assert_only_official_numbers(message["text"] or "")
    return dispatcher.messages, events


async def test_answer_uses_the_product_variant_and_remembers_topic_and_product(domain):
    messages, events = await run(ActionAnswerProblem(), tracker("repayment_failure", [("product", "alipay")]), domain)
    assert "花呗" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert SlotSet("topic", "repayment_failure") in events and SlotSet("product", "alipay") in events


async def test_a_device_problem_implies_xiaomi_after_sales_even_after_a_loan_question(domain):
    _, events = await run(ActionAnswerProblem(), tracker("after_sales_repair", slots={"product": "tianxing_loan"}),
                          domain)
    assert SlotSet("product", "xiaomi_after_sales") in events


async def test_a_complaint_is_answered_and_escalated_to_the_hotline(domain):
    messages, _ = await run(ActionAnswerProblem(), tracker("complaint", [("product", "tianxing_loan")]), domain)
    assert "投诉工单" in messages[0]["text"]
    assert "400-100-3399" in messages[1]["text"]


async def test_calling_tips_ask_which_service_when_none_is_in_context(domain):
    messages, events = await run(ActionAnswerProblem(), tracker("call_tips"), domain)
    assert [b["title"] for b in messages[0]["buttons"]] == ["贷款", "售后", "支付宝"]
    assert messages[0]["buttons"][2]["payload"] == '/call_tips{"product": "alipay"}'
    assert SlotSet("topic", "call_tips") in events


async def test_calling_tips_for_the_product_in_context_come_with_its_hotline_card(domain):
    messages, _ = await run(ActionAnswerProblem(), tracker("call_tips", slots={"product": "tianxing_loan"}), domain)
    assert "月初" in messages[0]["text"]
    assert "400-100-3399" in messages[1]["text"] and "身份证" in messages[1]["text"]


async def test_other_channels_for_plain_xiaomi_ask_between_its_two_services(domain):
    messages, _ = await run(ActionAnswerProblem(), tracker("contact_channels", [("product", "xiaomi")]), domain)
    assert [b["title"] for b in messages[0]["buttons"]] == ["售后", "贷款"]


async def test_other_channels_are_answered_without_a_hotline_card(domain):
    messages, _ = await run(ActionAnswerProblem(), tracker("contact_channels", [("product", "xiaomi_after_sales")]),
                            domain)
    assert len(messages) == 1 and "微博" in messages[0]["text"] and "400-100-5678" not in messages[0]["text"]


async def test_a_problem_that_also_asks_for_a_person_gets_the_answer_and_the_hotline_card(domain):
    message = tracker("after_sales_repair", text="耳机坏了想修，顺便给我售后的电话")
    messages, _ = await run(ActionAnswerProblem(), message, domain)
    assert "保修期" in messages[0]["text"]
    assert "[400-100-5678](tel:4001005678)" in messages[1]["text"]


async def test_a_problem_alone_gets_the_answer_and_the_resolved_question(domain):
    messages, _ = await run(ActionAnswerProblem(), tracker("repayment_failure", text="还款失败了怎么办"), domain)
    assert len(messages) == 1 and messages[0]["buttons"]


async def test_fraud_that_already_happened_gets_steps_for_now_and_the_line_that_can_freeze(domain):
    messages, _ = await run(ActionCheckFraud(), tracker("fraud_check", [("product", "alipay")],
                                                        text="我的花呗被盗刷了三千"), domain)
    assert "冻结" in messages[0]["text"] and "报警" in messages[0]["text"] and "密码" in messages[0]["text"]
    assert "95188" in messages[1]["text"] and "验证码" in messages[1]["text"]


async def test_an_unexplained_deduction_is_checked_in_the_records_first(domain):
    messages, _ = await run(ActionCheckFraud(), tracker("fraud_check", [("product", "tianxing_loan")],
                                                        text="莫名其妙扣了我200块"), domain)
    assert "交易记录" in messages[0]["text"]
    assert "400-100-3399" in messages[1]["text"]


async def test_a_scam_call_still_gets_the_warning(domain):
    messages, _ = await run(ActionCheckFraud(), tracker("fraud_check", text="有人让我把钱转到安全账户"), domain)
    assert "诈骗" in messages[0]["text"] and len(messages) == 1


async def test_handoff_gives_the_card_of_the_product_in_context(domain):
    messages, _ = await run(ActionHandoff(), tracker("ask_hotline", slots={"product": "tianxing_loan"}), domain)
    card = messages[0]["text"]
    assert "[400-100-3399](tel:4001003399)" in card
    assert "09:00–18:00" in card and "身份证" in card and "验证码" in card


async def test_handoff_follows_the_topic_when_no_product_was_named(domain):
    messages, _ = await run(ActionHandoff(), tracker("ask_hotline", slots={"topic": "return_exchange"}), domain)
    assert "400-100-5678" in messages[0]["text"]


async def test_handoff_asks_which_service_for_plain_xiaomi(domain):
    messages, _ = await run(ActionHandoff(), tracker("ask_hotline", [("product", "xiaomi")]), domain)
    assert [b["title"] for b in messages[0]["buttons"]] == ["售后", "贷款"]
    assert messages[0]["buttons"][1]["payload"] == '/ask_hotline{"product": "tianxing_loan"}'


async def test_handoff_judges_a_quoted_number_first(domain):
    t = tracker("ask_hotline", [("phone_number", "4006808581"), ("product", "tianxing_loan")])
    messages, _ = await run(ActionHandoff(), t, domain)
    assert "不是" in messages[0]["text"] and "路由通" in messages[0]["text"]
    assert "400-100-3399" in messages[1]["text"]


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("4001003399", "天星金融"), ("4001005678", "小米售后"), ("95188", "支付宝"), ("4006808581", "不是"),
     ("13812345678", "不在我掌握的官方号码里")],
)
async def test_number_check(domain, digits, expected):
    messages, _ = await run(ActionCheckFraud(), tracker("fraud_check", [("phone_number", digits)]), domain)
    assert expected in messages[0]["text"]


async def test_scam_description_gets_a_warning(domain):
    messages, _ = await run(ActionCheckFraud(), tracker("fraud_check"), domain)
    assert "诈骗" in messages[0]["text"] and "安全账户" in messages[0]["text"]


async def test_clarify_offers_the_likeliest_topics_then_a_person(domain):
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "quota_frozen", "confidence": 0.25},
               {"name": "greet", "confidence": 0.2}, {"name": "repayment_failure", "confidence": 0.2}]
    messages, events = await run(ActionClarify(), tracker("nlu_fallback", ranking=ranking), domain)
    assert "您是想问" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/quota_frozen", "/repayment_failure"]
    assert SlotSet("clarify_attempts", 1.0) in events

    messages, events = await run(ActionClarify(), tracker("nlu_fallback", slots={"clarify_attempts": 1.0},
                                                          ranking=ranking), domain)
    assert all(n in messages[0]["text"] for n in ("400-100-3399", "400-100-5678", "95188"))
    assert SlotSet("clarify_attempts", 0.0) in events


async def test_clarify_offers_four_topics_at_most_in_order_of_likelihood(domain):
    names = ["withdrawal_failure", "earnings_query", "repayment_failure", "quota_frozen", "bill_error"]
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}] + [
        {"name": name, "confidence": 0.2 - 0.02 * rank} for rank, name in enumerate(names)
    ]
    messages, _ = await run(ActionClarify(), tracker("nlu_fallback", ranking=ranking), domain)
    assert [b["payload"] for b in messages[0]["buttons"]] == [f"/{name}" for name in names[:4]]


async def test_service_hours_for_all_lines_when_no_product_is_known(domain):
    messages, _ = await run(ActionTellServiceHours(), tracker("service_hours"), domain)
    text = "\n".join(m["text"] for m in messages)
    assert "09:00–18:00" in text and "95188" in text and "400-100-5678" in text


def test_staffed_now_line_in_beijing_time():
    service = load_knowledge().services["tianxing_loan"]
    evening = datetime(2026, 11, 23, 20, 30, tzinfo=SERVICE_TIMEZONE)
    lines = replies.hours_lines(service, load_knowledge(), evening)
    assert "20:30" in lines[1] and "不在服务时间内" in lines[1]
