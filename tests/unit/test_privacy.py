import io
import logging
import logging.config

import yaml

from assistant.privacy import mask_numbers
from tests.conftest import ROOT


def test_phone_id_and_card_numbers_are_masked():
    masked = mask_numbers("手机13812345678 身份证11010119900307451X 卡号6222 0212 3456 7890 123")
    assert "13812345678" not in masked and "1101011990" not in masked and "3456" not in masked


def test_short_numbers_stay_readable():
    assert mask_numbers("扣了2次，每次1234元，端口5005") == "扣了2次，每次1234元，端口5005"


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
