import io
import logging
import logging.config

import yaml

from common.privacy import mask_events, mask_personal_data
from tests.conftest import ROOT


def test_phone_id_and_card_numbers_are_masked():
    masked = mask_personal_data("手机13812345678 身份证11010119900307451X 卡号6222 0212 3456 7890 123")
    assert "13812345678" not in masked and "1101011990" not in masked and "3456" not in masked


def test_numbers_are_masked_in_the_chinese_style():
    assert mask_personal_data("身份证110101199003077777") == "身份证110101********7777"
    assert mask_personal_data("身份证11010119900307451X") == "身份证110101********451X"
    assert mask_personal_data("卡号6222 0212 3456 0202") == "卡号6222 **** **** 0202"
    assert mask_personal_data("卡号6222021234560202") == "卡号6222********0202"
    assert mask_personal_data("手机13812345678") == "手机138****5678"
    assert mask_personal_data("手机１３８１２３４５６７８") == "手机１３８****５６７８"
    assert mask_personal_data("邮箱zhangsan@example.com") == "邮箱z***@example.com"
    assert mask_personal_data("座机010-62345678") == "座机010-******78"


def test_masking_twice_changes_nothing():
    once = mask_personal_data("110101199003077777 6222 0212 3456 0202 13812345678 a.b@qq.com")
    assert mask_personal_data(once) == once


def test_hotlines_stay_readable():
    text = "400-100-3399、4001005678、800 820 8820 和 95188 是官方的吗"
    assert mask_personal_data(text) == text


def test_events_are_masked_in_place_everywhere_the_text_went():
    from rasa.shared.core.events import SlotSet, UserUttered

    entity = {"entity": "phone_number", "value": "13812345678", "start": 3, "end": 14}
    user = UserUttered("我的手机13812345678", {"name": "fraud_check"}, [entity],
                       metadata={"note": "卡号6222021234560202"})
    slot = SlotSet("phone_number", "13812345678")
    mask_events([user, slot])
    stored = str(user.as_dict()) + str(slot.as_dict())
    assert "13812345678" not in stored and "6222021234560202" not in stored
    assert user.text == "我的手机138****5678" and user.parse_data["entities"][0]["value"] == "138****5678"
    assert slot.value == "138****5678"


def test_short_numbers_stay_readable():
    assert mask_personal_data("扣了2次，每次1234元，端口5005") == "扣了2次，每次1234元，端口5005"


def test_the_servers_logging_config_masks_numbers_in_messages_and_tracebacks():
    config = yaml.safe_load((ROOT / "logging.yml").read_text(encoding="utf-8"))
    stream = io.StringIO()
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        log = logging.getLogger("rasa.core.processor")
        log.info("Received user message '%s'", "我的手机号是13812345678")
        try:
            raise ValueError("bad card 6222021234567890123")
        except ValueError:
            log.exception("failed")
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    output = stream.getvalue()
    assert "13812345678" not in output and "6222021234567890123" not in output
    assert "138****" in output and "ValueError" in output
