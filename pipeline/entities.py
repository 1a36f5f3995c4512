"""spaCy's rule-based entity layer over Rasa's jieba tokens.

Products come from the aliases in knowledge/services.yml (spaCy EntityRuler, one pattern per
alias); phone numbers from a regex whose matches are snapped to token boundaries. The spaCy Doc is
built from the JiebaTokenizer's tokens, so both layers see the same segmentation.
"""

from __future__ import annotations

from typing import Any, Dict, List

import jieba
import spacy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from spacy.tokens import Doc
from spacy.util import filter_spans

from common.knowledge import load_knowledge
from common.text import find_phone_numbers
from pipeline.stateless import StatelessComponent

PRODUCT = "product"
PHONE_NUMBER = "phone_number"


def _alias_patterns() -> List[Dict[str, Any]]:
    patterns = []
    for alias, product in load_knowledge().alias_index.items():
        # The domain dictionary keeps an alias as one jieba token; the split form covers a
        # tokenizer loaded without it.
        for tokens in {(alias,), tuple(jieba.lcut(alias, HMM=False))}:
            patterns.append(
                {"label": PRODUCT, "id": product, "pattern": [{"LOWER": t} for t in tokens]}
            )
    return patterns


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class SpacyEntityRuler(StatelessComponent, EntityExtractorMixin):
    """Finds `product` (value: service or brand key) and `phone_number` (value: digits)."""

    def __init__(self) -> None:
        # Only the vocabulary and the ruler are used: Docs are made from Rasa's tokens.
        self._nlp = spacy.blank("zh")
        ruler = self._nlp.add_pipe("entity_ruler")
        ruler.add_patterns(_alias_patterns())

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = self._extract(message)
            if entities:
                message.set(
                    ENTITIES,
                    message.get(ENTITIES, []) + self.add_extractor_name(entities),
                    add_to_output=True,
                )
        return messages

    def _extract(self, message: Message) -> List[Dict[str, Any]]:
        tokens = [t for t in message.get(TOKENS_NAMES[TEXT], []) if t.text.strip()]
        if not tokens:
            return []
        spaces = [following.start > token.end for token, following in zip(tokens, tokens[1:], strict=False)]
        doc = Doc(self._nlp.vocab, words=[t.text for t in tokens], spaces=spaces + [False])
        doc = self._nlp.get_pipe("entity_ruler")(doc)

        phones = {}
        for mention in find_phone_numbers(doc.text):
            span = doc.char_span(mention.start, mention.end, label=PHONE_NUMBER, alignment_mode="expand")
            if span is not None:
                phones[(span.start, span.end)] = mention.digits
                doc.ents = filter_spans([*doc.ents, span])

        entities = []
        for span in doc.ents:
            value = phones.get((span.start, span.end)) if span.label_ == PHONE_NUMBER else span.ent_id_
            entities.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: span.label_,
                    ENTITY_ATTRIBUTE_VALUE: value,
                    ENTITY_ATTRIBUTE_START: tokens[span.start].start,
                    ENTITY_ATTRIBUTE_END: tokens[span.end - 1].end,
                    "confidence_entity": 1.0,
                }
            )
        return entities
