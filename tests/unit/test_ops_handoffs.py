"""The console counts a hotline card by the service it carries, and still counts cards stored before that."""

from ops.metrics import turns_of


def _conversation(*bot_events):
    return [{"event": "user", "timestamp": 1.0, "text": "转人工", "parse_data": {"intent": {"name": "ask_hotline"}}},
            *bot_events]


def test_a_card_is_counted_by_the_service_in_its_metadata_whatever_its_words():
    card = {"event": "bot", "text": "任何措辞的热线卡片", "metadata": {"handoff": "alipay"}}
    assert turns_of("c", _conversation(card))[0].handoffs == ["alipay"]


def test_a_card_stored_before_the_metadata_is_known_by_the_hotline_link_on_its_first_line():
    legacy = {"event": "bot", "text": "天星金融官方客服热线：[400-100-3399](tel:4001003399)\n按语音提示转人工。"}
    assert turns_of("c", _conversation(legacy))[0].handoffs == ["tianxing_loan"]


def test_replies_that_only_list_hotlines_are_not_cards():
    give_up = {"event": "bot", "text": "抱歉，我还是没理解。以下是人工客服：\n支付宝官方客服热线：[95188](tel:95188)"}
    plain = {"event": "bot", "text": "好的。还有其他可以帮您的吗？"}
    assert turns_of("c", _conversation(give_up, plain))[0].handoffs == []
