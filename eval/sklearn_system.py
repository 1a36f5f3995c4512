"""Peer (b): a plain scikit-learn classifier on the raw text, same data and folds as the Rasa systems.

TfidfVectorizer over character 1-3-grams + LogisticRegression: what a user who skips Rasa's NLU
would write first. Usage: python -m eval.sklearn_system NAME all|heldout
(writes results/eval/NAME/heldout.json, and with `all` also the 5-fold cv.json)
"""

from __future__ import annotations

import sys
import time

from eval.common import RESULTS, SEED, TEST_FILES, TRAIN_DATA, fold_indices, load_examples, prediction, write_json


def make_classifier():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
        LogisticRegression(C=10, max_iter=2000, random_state=SEED),
    )


def _predict(classifier, texts, intents, fold=None):
    probabilities = classifier.predict_proba(texts)
    classes = classifier.classes_
    return [
        prediction(text, intent, classes[row.argmax()], row.max(), fold=fold)
        for text, intent, row in zip(texts, intents, probabilities, strict=True)
    ]


def main(argv) -> int:
    from rasa.shared.nlu.constants import TEXT

    name, part = argv[1], argv[2] if len(argv) > 2 else "all"
    train, _ = load_examples(TRAIN_DATA)
    texts = [m.get(TEXT) for m in train]
    intents = [m.get_full_intent() for m in train]

    started = time.perf_counter()
    classifier = make_classifier().fit(texts, intents)
    train_seconds = time.perf_counter() - started

    started = time.perf_counter()
    tested = {}
    for file_name, path in TEST_FILES.items():
        test, _ = load_examples(path)
        tested[file_name] = _predict(classifier, [m.get(TEXT) for m in test], [m.get_full_intent() for m in test])
    heldout_seconds = time.perf_counter() - started

    config = "eval/sklearn_system.py: TfidfVectorizer(char, 1-3, sublinear_tf) + LogisticRegression(C=10)"
    write_json(
        RESULTS / name / "heldout.json",
        {
            "system": name,
            "config": config,
            "train_seconds": round(train_seconds, 1),
            "heldout_seconds": round(heldout_seconds, 1),
            **tested,
        },
    )
    if part != "all":
        return 0

    started = time.perf_counter()
    cv, fold_accuracy = [], []
    for fold, (train_idx, test_idx) in enumerate(fold_indices(intents)):
        model = make_classifier().fit([texts[i] for i in train_idx], [intents[i] for i in train_idx])
        predictions = _predict(model, [texts[i] for i in test_idx], [intents[i] for i in test_idx], fold)
        fold_accuracy.append(round(sum(p["intent"] == p["predicted"] for p in predictions) / len(predictions), 4))
        cv += predictions
    write_json(
        RESULTS / name / "cv.json",
        {
            "cv_seconds": round(time.perf_counter() - started, 1),
            "cv_folds_run": len(fold_accuracy),
            "cv_fold_accuracy": fold_accuracy,
            "cv": cv,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
