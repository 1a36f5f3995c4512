"""What every system in the evaluation shares: the data, the folds, the seed, the output layout."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
# run_eval.py points these at a snapshot taken when the run starts, so that every system sees the
# same files even if someone edits the data meanwhile.
TRAIN_DATA = Path(os.environ.get("EVAL_TRAIN_DATA", ROOT / "data" / "nlu"))
HELDOUT_DATA = Path(os.environ.get("EVAL_HELDOUT_DATA", ROOT / "holdout" / "heldout.yml"))
BLIND_DATA = Path(os.environ.get("EVAL_BLIND_DATA", ROOT / "holdout" / "blind.yml"))
# The two files no system trains on, blind first: written by people who never saw the training data
# (blind) and in the training data's own voice (heldout). Each system trains once and reads both.
TEST_FILES = {"blind": BLIND_DATA, "heldout": HELDOUT_DATA}
# Real customers' questions, kept outside the project (../shared/real-customers/README.md): measured on,
# never trained on. REAL_DEV (relative to the project) points elsewhere; absent, that part is skipped.
REAL_DEV_DATA = ROOT / os.environ.get(
    "EVAL_REAL_DEV_DATA", os.environ.get("REAL_DEV", "../shared/real-customers/dev.tsv")
)
DOMAIN = ROOT / "domain.yml"
RESULTS = ROOT / "results" / "eval"
SEED = 42
FOLDS = 5
FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")


def load_examples(path: Path):
    """Intent examples of a Rasa NLU file or folder, in a fixed order (intent, text)."""
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return sorted(data.intent_examples, key=lambda m: (m.get_full_intent(), m.get(TEXT))), data


def fold_indices(labels: List[str], n_folds: int = FOLDS) -> List[Tuple[List[int], List[int]]]:
    """Stratified folds with a fixed seed: the same split for every system."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=SEED)
    return [(list(a), list(b)) for a, b in splitter.split(np.zeros(len(labels)), labels)]


class RasaFolds:
    """Drop-in for rasa.nlu.test.generate_folds (which shuffles without a seed): the seeded folds,
    optionally only the first `limit` of them, remembering which one is being evaluated."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.current: int | None = None

    def __call__(self, n_folds: int, training_data) -> Iterator[Tuple[Any, Any]]:
        from rasa.shared.nlu.constants import TEXT
        from rasa.shared.nlu.training_data.training_data import TrainingData

        examples = sorted(training_data.intent_examples, key=lambda m: (m.get_full_intent(), m.get(TEXT)))
        labels = [m.get_full_intent() for m in examples]
        for fold, (train_idx, test_idx) in enumerate(fold_indices(labels, n_folds)):
            if self.limit is not None and fold >= self.limit:
                break
            self.current = fold
            yield tuple(
                TrainingData(
                    training_examples=[examples[i] for i in idx],
                    entity_synonyms=training_data.entity_synonyms,
                    regex_features=training_data.regex_features,
                    lookup_tables=training_data.lookup_tables,
                    responses=training_data.responses,
                )
                for idx in (train_idx, test_idx)
            )
        self.current = None


def prediction(
    text: str,
    intent: str,
    predicted: str | None,
    confidence: float | None,
    fallback: bool = False,
    fold: int | None = None,
) -> Dict[str, Any]:
    """One message's result. `predicted` is the classifier's top intent, as `rasa test nlu` scores it
    (it undoes FallbackClassifier); `runtime` is what the assistant acts on (`nlu_fallback` if the
    FallbackClassifier fired)."""
    predicted = predicted or "None"
    return {
        "text": text,
        "intent": intent,
        "predicted": predicted,
        "runtime": "nlu_fallback" if fallback else predicted,
        "confidence": None if confidence is None else round(float(confidence), 4),
        "fold": fold,
    }


def load_real_dev(path: Path) -> List[Tuple[str, str]]:
    """(text, intent) rows of a real-customers TSV file (columns `text`, `intent`, then where it comes from)."""
    import csv

    with path.open(encoding="utf-8", newline="") as f:
        return [(row["text"], row["intent"]) for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
