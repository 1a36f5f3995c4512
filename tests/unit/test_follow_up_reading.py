"""Reading a message in the light of the conversation (common/follow_ups.py, knowledge/follow_ups.yml), the context
policy on real Rasa trackers, and the follow-up action with the SDK's dispatcher and the real knowledge."""

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet as SdkSlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clarify import ActionClarify
from actions.follow_up import ActionFollowUp
from common.follow_ups import Context, FollowUp, typed_number
from common.hedge import hedge_topic, hedgeable
from common.knowledge import load_knowledge
from pipeline.context_policy import idle_seconds, read_from_tracker
from tests.conftest import ROOT, assert_only_official_numbers

REPAIR = Context("after_sales_repair", "xiaomi_after_sales", 20.0)


def read(text, context=REPAIR, named=(), numbers=(), clear_topic=None):
    return load_knowledge().read_follow_up(text, context, list(named), list(numbers), clear_topic)


@pytest.mark.parametrize(
    ("text", "aspect"),
    [("费用是？", "cost"), ("过保了呢", "cost"), ("多久能好", "duration"), ("去哪里办", "where"),
     ("具体怎么弄", "how"), ("要带什么", "prepare"), ("周末呢", "time"), ("晚上能打吗", "time"),
     ("贵么", "cost"), ("能保修吗", "cost"), ("要自己出钱吗", "cost"), ("今天能好吗", "duration"),
     ("附近有维修点吗", "where"), ("发票要吗", "prepare")],
)
def test_aspects_of_the_last_answer(text, aspect):
    assert read(text) == FollowUp("aspect", "after_sales_repair", "xiaomi_after_sales", aspect)


@pytest.mark.parametrize("text", ["还是不行", "我试过了", "那怎么办", "人呢", "有人吗", "我已经换过卡了", "亲 在么",
                                  "还没到账", "已经寄回去了", "已经核对过卡号了没错", "已经查过卡了没问题",
                                  "我已经查过银行卡了没问题", "卡里钱是够的", "银行卡已经核对过了没问题",
                                  "换了卡也不行", "没有用啊", "卡里有钱", "余额充足", "答非所问", "说了等于没说"])
def test_not_resolved_or_a_person(text):
    assert read(text).kind == "not_resolved"


@pytest.mark.parametrize(
    ("text", "aspect"),
    [("how much", "cost"), ("要几多钱", "cost"), ("要准备点什么", "prepare"), ("十点还能打电话吗", "time"),
     ("礼拜六去修行不行", "time"), ("这个在app哪里看", "where"), ("要带些啥东西过去", "prepare"),
     ("使唔使钱", "cost"), ("多小钱啊", "cost"), ("网点地址在哪里能看到", "where"),
     ("人为的也能保吗", "cost"), ("要准备哪些东西", "prepare"), ("要交什么钱啊", "cost")],
)
def test_aspects_in_customers_own_padding_english_and_cantonese(text, aspect):
    assert read(text) == FollowUp("aspect", "after_sales_repair", "xiaomi_after_sales", aspect)


@pytest.mark.parametrize("text", ["你们这个怎么搞的", "还有别的办法吗", "可是我没有逾期啊", "找不到人啊",
                                  "查了半天查不到", "点算啊", "卡都换了三张了", "重启了好几次了", "hello 有人吗",
                                  "试了好几次了还是不行", "密码找回了也登不上", "换了别的卡也还不了", "咩意思 没看懂",
                                  "点解会咁", "卡号核对过了都是对的", "我都按你说的做了 not working", "冇用",
                                  "human please", "还是提不出来啊 急死了", "有没有客服啊", "你这说了跟没说一样",
                                  "路由器也重启过了 还是不在线", "卡里明明有钱啊 为什么还不上",
                                  "我按步骤操作了还是失败", "显示的还是检测中 都一个星期了", "你就不能帮我查一下吗",
                                  "好几次了 就是不行", "我照着做了没用 还是锁着的"])
def test_not_resolved_in_customers_own_words(text):
    assert read(text).kind == "not_resolved"


def test_the_problem_retold_with_what_was_tried_is_not_resolved():
    repayment = Context("repayment_failure", "alipay", 5)
    retold = "我刚才按你说的换了一张银行卡 结果还是还款失败"
    assert read(retold, repayment, named=["alipay"], clear_topic="repayment_failure").kind == "not_resolved"
    assert read("扣款一直失败 钱也不够扣吗 明明有钱", repayment).kind == "not_resolved"
    assert read(retold, repayment, clear_topic="quota_frozen") is None  # the NLU reads another problem in it
    assert read(retold, Context("repayment_failure", "tianxing_loan", 5), named=["alipay"]) is None  # another service
    assert read("十月四号从广州到北京的飞机票多少钱", repayment) is None  # a longer question of its own
    # Pointing back at the answer ("那这个…") and asking an aspect of it in more words.
    frozen = Context("quota_frozen", "alipay", 5)
    follow_up = read("那这个冻结一般要多长时间才能恢复正常使用啊", frozen)
    assert follow_up == FollowUp("aspect", "quota_frozen", "alipay", "duration")
    assert read("那十月四号从广州到北京的飞机票多少钱", frozen) is None  # nothing the answer spoke of


@pytest.mark.parametrize("text", ["钱已经退回来了", "已经到账了", "能用了 谢谢啊", "好了 可以了", "没事了"])
def test_solved_is_not_read_as_not_resolved(text):
    assert read(text, Context("duplicate_charge", "alipay", 5)) is None


def test_the_same_question_for_another_service():
    follow_up = read("那借呗呢", Context("repayment_failure", "tianxing_loan", 5), named=["alipay"])
    assert follow_up == FollowUp("switch", "repayment_failure", "alipay")
    # "ok" says no more than 好的, even when the NLU alone would answer another topic for that service
    after_card = Context("ask_hotline", "xiaomi_after_sales", 5)
    assert read("ok 那余额宝的呢", after_card, named=["alipay"], clear_topic="investment_risk") == FollowUp(
        "switch", "ask_hotline", "alipay")
    # A repair has no answer for 小米贷款: that service's hotline card, not a guess at its answers.
    assert read("那小米贷款的呢", named=["tianxing_loan"]) == FollowUp("switch", "ask_hotline", "tianxing_loan")
    assert read("那花呗怎么还", named=["alipay"]) is None  # a question of its own about 花呗: read on its own
    # Another product named with a problem of its own is a new question, not the last one asked again.
    assert read("我的小米电视也坏了要修", Context("quota_frozen", "alipay", 5), named=["xiaomi_after_sales"]) is None


def test_a_service_named_by_the_short_name_its_buttons_use():
    after_card = Context("ask_hotline", "alipay", 5)
    assert read("那售后的呢", after_card) == FollowUp("switch", "ask_hotline", "xiaomi_after_sales")
    assert read("那贷款的呢", after_card) == FollowUp("switch", "ask_hotline", "tianxing_loan")


def test_another_services_number_asked_for_gets_its_card():
    after_card = Context("ask_hotline", "xiaomi_after_sales", 5)
    assert read("支付宝的号码是多少啊", after_card, named=["alipay"]) == FollowUp("switch", "ask_hotline", "alipay")
    after_repayment = Context("repayment_failure", "tianxing_loan", 5)
    assert read("借呗的人工呢", after_repayment, named=["alipay"]) == FollowUp("switch", "ask_hotline", "alipay")


def test_money_sent_after_a_scam_warning_is_fraud_that_happened():
    assert read("我已经转了5000", Context("fraud_check", None, 5)).kind == "happened"
    for text in ("我把密码告诉他了", "钱能追回来吗", "报警有用吗", "我点了链接"):
        assert read(text, Context("fraud_check", None, 5)).kind == "happened", text
    assert read("我已经转了5000") is None  # after a repair answer it is no fraud report: read on its own


def test_what_a_victim_did_said_in_two_characters_is_fraud_that_happened():
    for text in ("点了 还输了密码", "下了 还填了身份证", "给了他验证码", "我已经还了2000到那个卡"):
        assert read(text, Context("fraud_check", None, 5)).kind == "happened", text
        assert getattr(read(text), "kind", None) != "happened", text  # after a repair answer: no fraud report


def test_what_happened_after_choices_that_offered_a_scam_check_is_fraud_that_happened():
    offered_scam = Context(None, "alipay", 20.0, offered=("fraud_check", "quota_frozen"))
    assert read("点了 还输了密码", offered_scam) == FollowUp("happened", "fraud_check", "alipay")
    assert read("点了 还输了密码", Context(None, "alipay", 20.0, offered=("quota_frozen",))) is None


def test_a_number_typed_after_choices_that_offered_a_number_check_is_checked():
    offered_check = Context(None, "tianxing_loan", 20.0, offered=("ask_hotline", "brand_change", "fraud_check"))
    assert read("95188呢？？", offered_check) == FollowUp("number", "fraud_check", "tianxing_loan", number="95188")
    assert read("95188呢？？", Context(None, None, 20.0, offered=("quota_frozen",))) is None


def test_a_number_after_a_number_check():
    assert read("4001003399", Context("fraud_check", None, 5), numbers=["4001003399"]).kind == "number"
    assert read("4001003399", numbers=["4001003399"]) is None
    assert read("这个号码是真的吗", Context("ask_hotline", "alipay", 5)).kind == "number"


@pytest.mark.parametrize(("text", "digits"), [("那10086呢", "10086"), ("12345这个号码呢", "12345"),
                                             ("10086是真的吗", "10086")])
def test_a_number_the_entity_layer_leaves_alone_after_a_number_check(text, digits):
    assert read(text, Context("fraud_check", None, 5)) == FollowUp("number", "fraud_check", None, number=digits)
    assert read(text) is None  # after a repair answer it is read on its own


@pytest.mark.parametrize("text", ["我借了10000块现在还不上", "10086"])
def test_digits_in_a_question_of_its_own_are_not_a_number_to_check(text):
    assert typed_number(load_knowledge().follow_ups, text) == ("10086" if text == "10086" else None)


@pytest.mark.parametrize(
    ("text", "clear_topic"),
    [("我的借呗额度被冻结了怎么办", "quota_frozen"), ("利息要多少钱", "interest_fees"), ("谢谢", None),
     ("好的", None), ("没用过花呗怎么扣钱了", "fraud_check")],
)
def test_a_message_of_its_own_is_not_a_follow_up(text, clear_topic):
    assert read(text, clear_topic=clear_topic) is None


@pytest.mark.parametrize("text", ["怎么提额", "还款日是几号"])
def test_an_aspect_of_another_topic_is_not_read_into_the_last_one(text):
    assert read(text) is None
    assert read(text, Context("repayment_failure", "alipay", 5)) is None


def test_no_topic_or_an_old_one_gives_no_follow_up():
    assert read("要多少钱", Context(None, None, None)) is None
    minutes = load_knowledge().follow_ups.context_seconds / 60
    assert read("要多少钱", Context("after_sales_repair", None, (minutes + 1) * 60)) is None
    assert read("要多少钱", Context("after_sales_repair", None, (minutes - 1) * 60)) is not None


def test_aspect_answers_name_only_official_numbers_and_known_topics():
    knowledge = load_knowledge()
    for topic, by_aspect in knowledge.follow_ups.answers.items():
        assert topic in knowledge.topics
        assert set(by_aspect) <= set(knowledge.follow_ups.aspects)
    for text in knowledge.follow_ups.texts():
        assert_only_official_numbers(text)


# The policy's reading of a real Rasa tracker ---------------------------------------------------------------------

def rasa_tracker(gap_seconds, topic="after_sales_repair", text="要多少钱", intent="interest_fees"):
    domain = Domain.from_path(ROOT / "domain.yml")
    events = [
        UserUttered("手机屏幕摔碎了", {"name": "after_sales_repair", "confidence": 0.95}, timestamp=1000.0),
        ActionExecuted("action_answer_problem", timestamp=1000.1),
        BotUttered("设备需要维修可以这样办", timestamp=1000.2),
        SlotSet("topic", topic, timestamp=1000.2),
        SlotSet("product", "xiaomi_after_sales", timestamp=1000.2),
        ActionExecuted("action_listen", timestamp=1000.3),
        UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=1000.2 + gap_seconds),
    ]
    return DialogueStateTracker.from_events("u", events, slots=domain.slots)


def test_the_policy_reads_the_tracker_and_the_time_since_the_last_reply():
    assert idle_seconds(rasa_tracker(120)) == pytest.approx(120)
    assert read_from_tracker(rasa_tracker(120)) == FollowUp("aspect", "after_sales_repair", "xiaomi_after_sales",
                                                            "cost")
    assert read_from_tracker(rasa_tracker(3600)) is None


def unsure_after_an_answer(ranking):
    """A withdrawal answered for 余额宝, then 「随星借这个月要还多少钱」 read under the threshold with this ranking."""
    domain = Domain.from_path(ROOT / "domain.yml")
    text, entities = "随星借这个月要还多少钱", [{"entity": "product", "value": "tianxing_loan"}]
    fallback = {"name": "nlu_fallback", "confidence": 0.72}
    events = [
        UserUttered("余额宝提现失败", {"name": "withdrawal_failure", "confidence": 0.97}, timestamp=1000.0),
        ActionExecuted("action_answer_problem", timestamp=1000.1),
        BotUttered("提现/转出失败，常见原因是…", timestamp=1000.2),
        SlotSet("topic", "withdrawal_failure", timestamp=1000.2),
        SlotSet("product", "alipay", timestamp=1000.2),
        ActionExecuted("action_listen", timestamp=1000.3),
        UserUttered(text, fallback, entities, {"intent_ranking": [fallback, *ranking]}, timestamp=1020.0),
        SlotSet("product", "tianxing_loan", timestamp=1020.0),  # the slot takes the service named at once
    ]
    return DialogueStateTracker.from_events("u", events, slots=domain.slots)


def test_a_question_that_gets_a_hedged_answer_is_not_read_as_the_last_topic_for_another_service():
    hedged = [{"name": "repayment_date", "confidence": 0.56}, {"name": "interest_fees", "confidence": 0.16}]
    assert read_from_tracker(unsure_after_an_answer(hedged)) is None  # answered as the repayment question it is
    close = [{"name": "repayment_date", "confidence": 0.36}, {"name": "interest_fees", "confidence": 0.3}]
    assert read_from_tracker(unsure_after_an_answer(close)).kind == "switch"


def clarified_tracker(text, named, gap_seconds=20):
    """「天星金融除了打电话还能怎么联系」 was not understood well enough: 「您是想问…」 with three buttons, no topic."""
    domain = Domain.from_path(ROOT / "domain.yml")
    buttons = [{"title": "联系方式", "payload": "/contact_channels"}, {"title": "客服电话", "payload": "/ask_hotline"},
               {"title": "投诉", "payload": "/complaint"}]
    entities = [{"entity": "product", "value": value} for value in named]
    events = [
        UserUttered("天星金融除了打电话还能怎么联系", {"name": "nlu_fallback", "confidence": 0.76},
                    [{"entity": "product", "value": "tianxing_loan"}], timestamp=1000.0),
        SlotSet("product", "tianxing_loan", timestamp=1000.0),
        ActionExecuted("action_clarify", timestamp=1000.1),
        BotUttered("您是想问下面哪一个？", {"buttons": buttons}, timestamp=1000.2),
        ActionExecuted("action_listen", timestamp=1000.3),
        UserUttered(text, {"name": "nlu_fallback", "confidence": 0.5}, entities, timestamp=1000.2 + gap_seconds),
    ]
    return DialogueStateTracker.from_events("u", events, slots=domain.slots)


def test_another_service_named_after_a_clarification_gets_the_same_choices_for_it():
    follow_up = read_from_tracker(clarified_tracker("支付宝呢", ["alipay"]))
    assert follow_up == FollowUp("switch", "", "alipay", offered=("contact_channels", "ask_hotline", "complaint"))
    assert FollowUp.from_slot(follow_up.to_slot()) == follow_up
    assert read_from_tracker(clarified_tracker("支付宝的借呗额度怎么突然没了", ["alipay"])) is None  # its own question
    assert read_from_tracker(clarified_tracker("支付宝呢", ["alipay"], gap_seconds=3600)) is None  # too long ago


def test_a_short_clear_question_after_offered_choices_is_answered_not_offered_again():
    after_choices = Context(None, None, 20.0, offered=("quota_increase", "repayment_failure"))
    assert read("借呗提额", after_choices, named=["alipay"], clear_topic="quota_increase") is None
    assert read("借呗呢", after_choices, named=["alipay"]).kind == "switch"


# The action --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def domain():
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def sdk_tracker(follow_up, entities=(), ranking=None, slots=None):
    latest = {"intent": {"name": "nlu_fallback", "confidence": 0.5}, "text": "",
              "entities": [{"entity": e, "value": v} for e, v in entities], "intent_ranking": ranking or []}
    slot_values = {"product": None, "topic": None, "clarify_attempts": 0,
                   "follow_up": follow_up.to_slot() if follow_up else None, **(slots or {})}
    return Tracker("user", slot_values, latest, [], False, None, {}, "action_listen")


async def run(action, tracker, domain):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    for message in dispatcher.messages:
        assert_only_official_numbers(message["text"] or "")
    return dispatcher.messages, events


async def test_a_repairs_cost_says_what_decides_it_and_no_price(domain):
    follow_up = FollowUp("aspect", "after_sales_repair", "xiaomi_after_sales", "cost")
    messages, _ = await run(ActionFollowUp(), sdk_tracker(follow_up), domain)
    assert "保修期内" in messages[0]["text"] and "备件价格" in messages[0]["text"]
    assert messages[0]["topic"] == "after_sales_repair" and messages[0]["aspect"] == "cost"


async def test_an_aspect_without_an_answer_of_its_own_says_where_to_look(domain):
    follow_up = FollowUp("aspect", "withdrawal_failure", "alipay", "duration")
    messages, _ = await run(ActionFollowUp(), sdk_tracker(follow_up), domain)
    assert "没有写具体时间" in messages[0]["text"] and "支付宝App" in messages[0]["text"]


async def test_fraud_that_happened_gets_the_steps_and_the_card(domain):
    messages, _ = await run(ActionFollowUp(), sdk_tracker(FollowUp("happened", "fraud_check", "alipay")), domain)
    assert "报警" in messages[0]["text"] and "冻结" in messages[0]["text"]
    assert "95188" in messages[-1]["text"]


async def test_the_same_question_for_a_brand_of_two_services_asks_which_one(domain):
    messages, _ = await run(ActionFollowUp(), sdk_tracker(FollowUp("switch", "repayment_failure", "xiaomi")), domain)
    assert messages[0]["text"] == load_knowledge().template("ask_product")
    payloads = [button["payload"] for button in messages[0]["buttons"]]
    assert payloads == ['/repayment_failure{"product": "xiaomi_after_sales"}',
                        '/repayment_failure{"product": "tianxing_loan"}']


async def test_a_person_asked_for_after_the_fraud_steps_is_not_told_it_was_unsolved(domain):
    leads = load_knowledge().follow_ups.leads
    messages, _ = await run(ActionFollowUp(), sdk_tracker(FollowUp("not_resolved", "fraud_check", None)), domain)
    assert messages[0]["text"] == leads["not_resolved_after_fraud"] != leads["not_resolved"]
    messages, _ = await run(ActionFollowUp(), sdk_tracker(FollowUp("not_resolved", "repayment_failure", "alipay")),
                            domain)
    assert messages[0]["text"] == leads["not_resolved"] and "95188" in messages[-1]["text"]


async def test_the_choices_offered_again_name_the_service_and_answer_for_it(domain):
    follow_up = FollowUp("switch", "", "alipay", offered=("contact_channels", "ask_hotline"))
    messages, events = await run(ActionFollowUp(), sdk_tracker(follow_up), domain)
    assert "支付宝" in messages[0]["text"] and "您是想问" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/contact_channels", "/ask_hotline"]
    assert SdkSlotSet("product", "alipay") in events


async def test_not_resolved_hands_off_to_the_topics_service(domain):
    follow_up = FollowUp("not_resolved", "after_sales_repair", "xiaomi_after_sales")
    messages, _ = await run(ActionFollowUp(), sdk_tracker(follow_up), domain)
    assert "400-100-5678" in messages[-1]["text"] and messages[-1]["handoff"] == "xiaomi_after_sales"


# 猜你想问 and context in the clarification -------------------------------------------------------------------------

def test_a_topic_far_enough_ahead_is_hedged_and_close_ones_are_not():
    topics = hedgeable(load_knowledge())
    ahead = [{"name": "nlu_fallback", "confidence": 0.7}, {"name": "withdrawal_failure", "confidence": 0.65},
             {"name": "bill_error", "confidence": 0.1}]
    close = [{"name": "withdrawal_failure", "confidence": 0.4}, {"name": "bill_error", "confidence": 0.35}]
    out_of_scope_first = [{"name": "out_of_scope", "confidence": 0.6}, {"name": "bill_error", "confidence": 0.1}]
    assert hedge_topic(ahead, topics) == "withdrawal_failure"
    assert hedge_topic(close, topics) is None
    assert hedge_topic(out_of_scope_first, topics) is None


def test_a_topic_the_nearest_examples_agree_on_is_hedged_under_a_smaller_lead():
    topics = hedgeable(load_knowledge())

    def ranking(neighbours: float) -> list:
        return [{"name": "nlu_fallback", "confidence": 0.7},
                {"name": "quota_frozen", "confidence": 0.6, "neighbours": neighbours},
                {"name": "payment_failure", "confidence": 0.35, "neighbours": 0.0}]

    assert hedge_topic(ranking(0.95), topics) == "quota_frozen"
    assert hedge_topic(ranking(0.4), topics) is None  # the examples disagree: ask
    weaker = [{"name": "quota_frozen", "confidence": 0.5, "neighbours": 1.0},
              {"name": "out_of_scope", "confidence": 0.3}]
    assert hedge_topic(weaker, topics) is None


async def test_a_hedged_answer_offers_the_other_topics(domain):
    ranking = [{"name": "withdrawal_failure", "confidence": 0.66}, {"name": "bill_error", "confidence": 0.12},
               {"name": "duplicate_charge", "confidence": 0.08}]
    messages, events = await run(ActionClarify(), sdk_tracker(None, ranking=ranking), domain)
    assert messages[0]["topic"] == "withdrawal_failure" and messages[0]["hedged"]
    assert SdkSlotSet("topic", "withdrawal_failure") in events
    # The console counts a clarify_attempts set by action_clarify as a clarification: this turn was answered.
    assert not any(event["name"] == "clarify_attempts" for event in events)
    assert "不是这个问题" in messages[-1]["text"]
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/bill_error", "/duplicate_charge"]


async def test_a_quoted_number_is_checked_under_the_threshold_and_its_service_kept(domain):
    # 「95188是什么电话」 read as a number check, but under the threshold: the check is given (it only says whose
    # line that is), and 95188's service stays for 「打不通咋办」.
    ranking = [{"name": "fraud_check", "confidence": 0.74}, {"name": "call_tips", "confidence": 0.15}]
    messages, events = await run(ActionClarify(), sdk_tracker(None, [("phone_number", "95188")], ranking), domain)
    assert messages[0]["topic"] == "fraud_check" and messages[0]["hedged"] and "95188" in messages[0]["text"]
    assert SdkSlotSet("topic", "fraud_check") in events and SdkSlotSet("product", "alipay") in events
    # Without a number the number check is not answered under the threshold.
    _, events = await run(ActionClarify(), sdk_tracker(None, ranking=ranking), domain)
    assert not any(event["name"] == "topic" for event in events)


async def test_a_clarification_keeps_the_service_of_a_quoted_official_line(domain):
    ranking = [{"name": "fraud_check", "confidence": 0.4}, {"name": "out_of_scope", "confidence": 0.25},
               {"name": "call_tips", "confidence": 0.1}]
    messages, events = await run(ActionClarify(), sdk_tracker(None, [("phone_number", "95188")], ranking), domain)
    assert messages[0]["buttons"] and SdkSlotSet("product", "alipay") in events


async def test_a_clarification_puts_the_conversations_topic_and_service_first(domain):
    ranking = [{"name": "interest_fees", "confidence": 0.3}, {"name": "spare_parts", "confidence": 0.25},
               {"name": "after_sales_repair", "confidence": 0.2}]
    slots = {"topic": "after_sales_repair", "product": "xiaomi_after_sales"}
    messages, _ = await run(ActionClarify(), sdk_tracker(None, ranking=ranking, slots=slots), domain)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/after_sales_repair", "/spare_parts", "/interest_fees"]


# The follow-up set of `make eval` -------------------------------------------------------------------------------

REAL_DEV = ROOT.parent / "shared" / "real-customers" / "dev.tsv"


def test_the_follow_up_set_names_known_topics_and_services():
    from eval.follow_ups import load_set

    knowledge = load_knowledge()
    conversations = load_set()
    assert len(conversations) >= 120
    for item in conversations:
        assert item["topic"] in knowledge.intents and item.get("service") in (None, *knowledge.services)


@pytest.mark.skipif(not REAL_DEV.is_file(), reason="the real customers' questions (../shared) are not here")
def test_the_follow_up_set_copies_no_real_customer_question():
    from common.text import normalize
    from eval.common import load_real_dev
    from eval.follow_ups import load_set

    real = {normalize(text) for text, _ in load_real_dev(REAL_DEV)}
    assert sorted({normalize(turn) for item in load_set() for turn in item["turns"]} & real) == []
