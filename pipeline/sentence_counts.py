"""Word and character counts of the whole message: Rasa's CountVectorsFeaturizer without its per-token counts.

CountVectorsFeaturizer gives a message two kinds of features: a count vector for each token (which only
DIET's and TED's sequence layers read) and one for the whole sentence. The intent classifier
(cascade.py) reads the sentence's alone, and making the per-token ones was about half of the featurizers'
time per message. This featurizer makes the sentence features exactly as CountVectorsFeaturizer does (the
same vocabulary, options and counts); attributes that have no sentence features get Rasa's own treatment.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class SentenceCountsFeaturizer(CountVectorsFeaturizer):
    def _create_features(
        self, attribute: str, all_tokens: List[List[str]]
    ) -> Tuple[List[Optional[scipy.sparse.spmatrix]], List[Optional[scipy.sparse.spmatrix]]]:
        if attribute not in DENSE_FEATURIZABLE_ATTRIBUTES or not self.vectorizers.get(attribute):
            return super()._create_features(attribute, all_tokens)
        sentences: List[Optional[scipy.sparse.spmatrix]] = []
        for tokens in all_tokens:
            if not tokens:
                sentences.append(None)
                continue
            counts = self.vectorizers[attribute].transform([" ".join(tokens)])
            counts.sort_indices()
            sentences.append(counts.tocoo())
        return [None] * len(all_tokens), sentences
