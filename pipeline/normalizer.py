"""First pipeline step: the text every later component sees, in training and at prediction."""

from __future__ import annotations

import re
from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from common.text import mask_other_numbers, normalize
from pipeline.stateless import TrainingTextComponent

# An empty message still needs one token, or the featurizers give the classifier nothing to
# score and it raises; the input guard later turns this into `unreadable_input`.
EMPTY_MESSAGE_PLACEHOLDER = "…"
# "啊啊啊啊啊啊" and "！！！！！！" say no more than three of them: counted one by one, a long run outweighed the
# words ("我的还款失败了，" + 500 啊 read as a complaint). Digits are left alone (phone numbers, amounts).
_LONG_RUN = re.compile(r"(\D)\1{3,}")


def shorten_runs(text: str) -> str:
    return _LONG_RUN.sub(r"\1\1\1", text)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ChineseTextNormalizer(TrainingTextComponent):
    """繁→简, full-width→half-width, HTML tags dropped, lower case, length capped, numbers other than phone
    numbers turned into 0, and a character repeated more than three times in a row kept three times."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text is not None:
                message.set(TEXT, shorten_runs(mask_other_numbers(normalize(text))) or EMPTY_MESSAGE_PLACEHOLDER)
        return messages
