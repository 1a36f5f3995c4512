"""The words the intent classifier counts: a phone number is one placeholder, punctuation and emoji are none.

Runs after the entity ruler (which still needs the digits) and before the featurizers. Without it the
classifier learned digits themselves: the training data's quoted hotlines made any date, amount or
order number look like "is this number real?", and leading "？？？" looked like unreadable input.
A message of punctuation or emoji only keeps its tokens (the input guard answers it).
"""

from __future__ import annotations

import re
from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from common.text import find_phone_numbers
from pipeline.stateless import TrainingTextComponent

# What a quoted phone number looks like to the classifier: a symbol no word contains.
PHONE_PLACEHOLDER = "☎"
_NO_WORD = re.compile(r"[\W_]+")  # punctuation, symbols, emoji: no letter, digit or CJK character


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ClassifierTokens(TrainingTextComponent):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if tokens:
                message.set(TOKENS_NAMES[TEXT], classifier_tokens(message.get(TEXT) or "", tokens))
        return messages


def classifier_tokens(text: str, tokens: List[Token]) -> List[Token]:
    """Tokens with each phone number merged into one PHONE_PLACEHOLDER and word-less tokens dropped."""
    phones = [(m.start, m.end) for m in find_phone_numbers(text)]
    kept: List[Token] = []
    for token in tokens:
        phone = next(((start, end) for start, end in phones if start <= token.start < end), None)
        if phone is None:
            if not _NO_WORD.fullmatch(token.text):
                kept.append(token)
        elif not kept or kept[-1].start != phone[0] or kept[-1].text != PHONE_PLACEHOLDER:
            kept.append(Token(PHONE_PLACEHOLDER, phone[0], phone[1], lemma=PHONE_PLACEHOLDER))
    return kept or tokens
