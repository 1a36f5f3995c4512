"""What the custom components share: nothing to configure or train, and some must also see the training data."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


class StatelessComponent(GraphComponent):
    """A component built the same way for training and prediction, with no settings and no model."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StatelessComponent:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        raise NotImplementedError


class TrainingTextComponent(StatelessComponent):
    """Changes the text or tokens the classifier learns from, so it must run over the training data too.

    Rasa runs only tokenizers and featurizers over the training data, so subclasses are registered as
    featurizers; training and prediction then see the same text."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
