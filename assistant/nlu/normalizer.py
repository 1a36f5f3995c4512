"""First pipeline step: the text every later component sees, in training and at prediction."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from assistant.text import mask_other_numbers, normalize

# An empty message still needs one token, or the featurizers give the classifier nothing to
# score and it raises; the input guard later turns this into `unreadable_input`.
EMPTY_MESSAGE_PLACEHOLDER = "…"


# Registered as a featurizer because Rasa runs only tokenizers and featurizers over the training
# data; a normaliser must run there too so that training and prediction see the same text.
@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ChineseTextNormalizer(GraphComponent):
    """繁→简, full-width→half-width, HTML tags dropped, lower case, length capped, and numbers other
    than phone numbers turned into 0."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ChineseTextNormalizer:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if text is not None:
                message.set(TEXT, mask_other_numbers(normalize(text)) or EMPTY_MESSAGE_PLACEHOLDER)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
