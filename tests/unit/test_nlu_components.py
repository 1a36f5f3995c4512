"""The custom NLU components in pipeline order, with Rasa's real JiebaTokenizer and the domain dictionary."""

import subprocess
import sys

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from pipeline.classifier_tokens import PHONE_PLACEHOLDER, ClassifierTokens
from pipeline.entities import SpacyEntityRuler
from pipeline.input_guard import InputGuard
from pipeline.normalizer import ChineseTextNormalizer
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    # The domain dictionary as `make` builds it, from the knowledge files as they are now.
    dictionary = tmp_path_factory.mktemp("jieba")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_jieba_dict.py"), str(dictionary / "userdict.txt")],
                   check=True)
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    context = ExecutionContext(GraphSchema({}), "test")
    tokenizer_config = {**JiebaTokenizer.get_default_config(), "dictionary_path": str(dictionary)}
    JiebaTokenizer.create(tokenizer_config, storage, Resource("jieba"), context)
    tokenizer = JiebaTokenizer(tokenizer_config, storage, Resource("jieba"))  # dictionary is loaded globally
    components = [
        ChineseTextNormalizer.create({}, storage, Resource("norm"), context),
        tokenizer,
        SpacyEntityRuler.create({}, storage, Resource("ruler"), context),
        ClassifierTokens.create({}, storage, Resource("tokens"), context),
    ]
    guard = InputGuard.create({}, storage, Resource("guard"), context)

    def parse(text, classifier_intent="repayment_failure", runner_up="ask_hotline"):
        message = Message({TEXT: text})
        for component in components:
            component.process([message])
        ranking = [{"name": classifier_intent, "confidence": 0.6}, {"name": runner_up, "confidence": 0.3}]
        message.set(INTENT, ranking[0])
        message.set("intent_ranking", ranking)
        guard.process([message])
        return message

    return parse


def entities(message):
    return [(e["entity"], e["value"]) for e in message.get(ENTITIES, [])]


@pytest.mark.parametrize(
    ("text", "product"),
    [("我的小米贷款还款失败了", "tianxing_loan"), ("随星借扣款不成功", "tianxing_loan"), ("花呗还不上", "alipay"),
     ("米家摄像头离线", "xiaomi_after_sales"), ("小米的客服电话", "xiaomi"), ("天星金融帳戶被鎖", "tianxing_loan"),
     ("Redmi屏幕碎了", "xiaomi_after_sales")],
)
def test_products_are_recognised_by_alias(pipeline, text, product):
    assert ("product", product) in entities(pipeline(text))


def test_longest_alias_wins(pipeline):
    assert entities(pipeline("小米贷款客服")) == [("product", "tianxing_loan")]


@pytest.mark.parametrize(
    ("text", "digits"),
    [("这个400-680-8581是官方的吗", "4006808581"), ("４００ １００ ３３９９", "4001003399"),
     ("95188是支付宝的吗", "95188"), ("有个13812345678打给我", "13812345678")],
)
def test_phone_numbers_are_entities_with_their_digits(pipeline, text, digits):
    assert ("phone_number", digits) in entities(pipeline(text))


def test_amounts_are_not_phone_numbers(pipeline):
    assert entities(pipeline("扣了两次，每次1234元")) == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [("", "unreadable_input"), ("   ", "unreadable_input"), ("😂😂😂", "unreadable_input"),
     ("？？？", "unreadable_input"), ("12345", "unreadable_input"), ("4001003399", "fraud_check"),
     ("How do I repay my loan?", "non_chinese"), ("<script>alert(1)</script>", "non_chinese"),
     ("我的还款失败了", "repayment_failure")],
)
def test_input_guard(pipeline, text, intent):
    assert pipeline(text).get(INTENT)["name"] == intent


def test_the_guard_keeps_english_small_talk(pipeline):
    assert pipeline("thanks!", classifier_intent="thanks").get(INTENT)["name"] == "thanks"


@pytest.mark.parametrize(
    "text",
    [
        "对方让我把钱转到安全账户",
        "客服要我提供短信验证码",
        "说交500保证金就能提额",
        "先交手续费才能下款",
        "有人冒充小米金融客服",
        "一个陌生人加了我的微信，说可以帮我把花呗解冻",
        "自称客服的人叫我装一个app才能贷款",
        "短信里说额度要冻结了，让我点链接处理",
        "刚才有人打电话说是借呗的客服",
        "额度冻结了，有人让我先交钱才能解冻",
    ],
)
def test_scam_reports_are_fraud_checks_whatever_the_classifier_says(pipeline, text):
    assert pipeline(text, classifier_intent="interest_fees").get(INTENT)["name"] == "fraud_check"


@pytest.mark.parametrize(
    "text",
    ["收不到验证码登录不了", "手续费是怎么收的", "贷款手续费是多少", "下款之后手续费怎么扣", "转出到我的银行卡没到账",
     "登录要我输入验证码，可是一直收不到", "把余额宝的钱转到我自己的银行卡要多久", "花呗冻结了怎么解冻",
     "天星金融app在哪下载", "加了客服微信有用吗", "维修点让我交钱才给修", "解冻要交钱吗"],
)
def test_ordinary_questions_are_not_scam_reports(pipeline, text):
    assert pipeline(text).get(INTENT)["name"] == "repayment_failure"


def classifier_words(message):
    return [t.text for t in message.get(TOKENS_NAMES[TEXT])]


@pytest.mark.parametrize("text", ["帮我打给我同事138-1234-5678", "这个4001003399是官方的吗"])
def test_the_classifier_sees_a_phone_number_as_one_placeholder_and_the_entity_keeps_its_digits(pipeline, text):
    message = pipeline(text)
    assert classifier_words(message).count(PHONE_PLACEHOLDER) == 1
    assert not any(ch.isdigit() for word in classifier_words(message) for ch in word)
    assert entities(message)[-1][0] == "phone_number"


def test_dates_and_amounts_are_not_phone_placeholders(pipeline):
    assert PHONE_PLACEHOLDER not in classifier_words(pipeline("2024年11月15日扣了1200元"))


def test_the_classifier_does_not_see_leading_punctuation(pipeline):
    assert classifier_words(pipeline("？？？！！人工几点上班")) == classifier_words(pipeline("人工几点上班"))


def test_punctuation_alone_keeps_its_tokens_for_the_guard(pipeline):
    assert classifier_words(pipeline("？？？")) and pipeline("？？？").get(INTENT)["name"] == "unreadable_input"


def test_chinese_text_is_never_left_unreadable_or_non_chinese(pipeline):
    message = pipeline("？？？人工几点上班", classifier_intent="unreadable_input", runner_up="service_hours")
    assert message.get(INTENT)["name"] == "service_hours"


def test_the_guard_intents_leave_the_ranking_of_chinese_text(pipeline):
    message = pipeline("你好呀😂", classifier_intent="greet", runner_up="unreadable_input")
    assert [r["name"] for r in message.get("intent_ranking")] == ["greet"]


def test_a_long_run_of_one_character_counts_as_three_and_numbers_keep_their_digits(pipeline):
    shouted = pipeline("我的还款失败了，" + "啊" * 100 + "！！！！！！")
    assert shouted.get(TEXT) == "我的还款失败了,啊啊啊!!!"
    assert entities(pipeline("打13888888888问问"))[-1] == ("phone_number", "13888888888")


@pytest.mark.parametrize(
    ("text", "likeliest", "served"),
    [
        ("支付宝的人工客服怎么找", "ask_hotline", "ask_hotline"),  # a person asked for: never a clarification
        ("花呗多扣了钱，我要找人工", "duplicate_charge", "ask_hotline"),  # the service named: its person
        ("我要转人工 我要改发票抬头", "out_of_scope", "nlu_fallback"),  # no service, another topic: still asked
        ("人工客服几点上班", "service_hours", "nlu_fallback"),  # likeliest another topic: still asked
        ("怎么才能联系上你们", "ask_hotline", "nlu_fallback"),  # no person asked for: still asked
    ],
)
def test_an_unsure_request_for_a_person_is_answered(pipeline, text, likeliest, served):
    assert pipeline(text, classifier_intent="nlu_fallback", runner_up=likeliest).get(INTENT)["name"] == served
