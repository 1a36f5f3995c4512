"""One Rasa NLU config through `rasa test nlu`'s own code, the two held-out files and 5-fold cross-validation.

Usage: python -m eval.rasa_system NAME CONFIG heldout|cv [FOLDS_TO_RUN]
  heldout: train once on all of data/nlu, test on the blind and the held-out file
                                                                 -> results/eval/NAME/heldout.json
  cv:      5-fold cross-validation on data/nlu                   -> results/eval/NAME/cv.json
FOLDS_TO_RUN evaluates only the first K of the 5 seeded folds (DIET is slow on 2 cores). The two
parts are independent and run_eval.py runs them side by side: DIET keeps about one core busy.

Runs in a process of its own per config: jieba's dictionary is process-global, so a config with a
custom dictionary must not leak it into one without. Equivalent to
  rasa train nlu --config CONFIG --nlu data/nlu
  rasa test nlu --model MODEL --nlu holdout/blind.yml   (and holdout/heldout.yml)
  rasa test nlu --config CONFIG --nlu data/nlu --cross-validation --folds 5
with three differences: the folds come from a seeded StratifiedKFold shared with the other systems
(Rasa's own shuffles without a seed), "/intent" shortcuts are checked against domain.yml as in a
served model, and the per-message predictions are kept for the report.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Tuple

from eval.common import (
    DOMAIN,
    FOLDS,
    REAL_DEV_DATA,
    RESULTS,
    SEED,
    TEST_FILES,
    TRAIN_DATA,
    RasaFolds,
    load_real_dev,
    prediction,
    write_json,
)


def _seed_everything() -> None:
    import numpy as np
    import tensorflow as tf

    random.seed(SEED)
    np.random.seed(SEED)
    tf.random.set_seed(SEED)


class _Capture:
    """Keeps the per-message results that `rasa test nlu` computes, and whether each was a fallback.

    Rasa's evaluation undoes FallbackClassifier predictions (it scores the classifier's own top
    intent); the report also wants what a user would get, so the fallback flag is kept beside it.
    """

    def __init__(self, rasa_test, folds: RasaFolds) -> None:
        self.results = []
        self._folds = folds
        self._flags: Dict[int, Tuple[Any, bool, int | None]] = {}
        self._pending = False
        self._evaluate_intents = rasa_test.evaluate_intents
        self._fallback = rasa_test.fallback_classifier
        self._result_type = rasa_test.IntentEvaluationResult
        rasa_test.evaluate_intents = self._on_evaluate
        rasa_test.IntentEvaluationResult = self._on_result
        rasa_test.fallback_classifier = SimpleNamespace(
            is_fallback_classifier_prediction=self._on_fallback_check,
            undo_fallback_prediction=self._fallback.undo_fallback_prediction,
        )

    def _on_fallback_check(self, result) -> bool:
        self._pending = self._fallback.is_fallback_classifier_prediction(result)
        return self._pending

    def _on_result(self, *args):
        result = self._result_type(*args)
        self._flags[id(result)] = (result, self._pending, self._folds.current)
        self._pending = False
        return result

    def _on_evaluate(self, intent_results, *args, **kwargs):
        self.results = list(intent_results)
        return self._evaluate_intents(intent_results, *args, **kwargs)

    def predictions(self) -> List[Dict[str, Any]]:
        return [
            prediction(
                r.message,
                r.intent_target,
                r.intent_prediction,
                r.confidence,
                fallback=self._flags.get(id(r), (None, False, None))[1],
                fold=self._flags.get(id(r), (None, False, None))[2],
            )
            for r in self.results
        ]


def _check_shortcuts_against_domain() -> None:
    """Rasa reads a message "/name" as the intent `name`. A served model (NLU + dialogue) accepts only
    intents its domain knows, so "///" stays text; an NLU-only model has no domain and turns "///"
    into the intent "//". Give the NLU-only models the project's domain, as the served one has."""
    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
    from rasa.shared.core.domain import Domain

    project_domain = Domain.load(str(DOMAIN))
    original = RegexMessageHandler.process

    @functools.wraps(original)  # keeps the annotations Rasa's graph validation reads
    def process(self, messages, domain=None):
        return original(self, messages, domain or project_domain)

    RegexMessageHandler.process = process


def _skip_training_fold_scores(rasa_test) -> None:
    """Rasa's cross-validation also predicts every training fold to report train accuracy; this
    report does not use it, and for DIET it costs a minute per fold on 2 cores."""
    original = rasa_test.combine_result

    async def combine_result(intent_metrics, entity_metrics, response_metrics, processor, data, *args, **kwargs):
        if not args and not kwargs:  # the call for the training fold: nothing is collected from it
            return intent_metrics, entity_metrics, response_metrics
        return await original(intent_metrics, entity_metrics, response_metrics, processor, data, *args, **kwargs)

    rasa_test.combine_result = combine_result


async def parse_real_dev(processor) -> List[Dict[str, Any]]:
    """Each real customer's question as the served model reads it: the intent it acts on (fallback and
    guard included) and, for a clarification, the topics action_clarify would offer as buttons."""
    from rasa.core.channels.channel import UserMessage

    from actions.clarify import choice_intents
    from common.conversation import NEIGHBOURS_KEY
    from common.hedge import hedge_topic, hedgeable
    from common.knowledge import load_knowledge

    knowledge = load_knowledge()
    titles = knowledge.intent_titles
    results = []
    for text, intent in load_real_dev(REAL_DEV_DATA):
        parsed = await processor.parse_message(UserMessage(text))
        ranking = parsed.get("intent_ranking") or []
        top = next((r for r in ranking if r.get("name") not in ("nlu_fallback", None)), {})
        item = prediction(text, intent, top.get("name"), top.get("confidence"))
        item["runtime"] = parsed["intent"]["name"]
        clarified = item["runtime"] == "nlu_fallback"
        # 猜你想问: the best topic answered at once, the other choices offered under it
        item["quotes_number"] = any(e.get("entity") == "phone_number" for e in parsed.get("entities") or [])
        item["hedged"] = hedge_topic(ranking, hedgeable(knowledge, item["quotes_number"])) if clarified else None
        item["choices"] = [c for c in choice_intents(ranking, titles) if c != item["hedged"]] if clarified else []
        # name, confidence and, for an embedded message, the nearest examples' share (eval/hedge_rule.py replays them)
        item["ranking"] = [[r["name"], round(r["confidence"], 4), round(r.get(NEIGHBOURS_KEY, 0), 4)]
                           for r in ranking[:8] if r.get("name")]
        results.append(item)
    return results


async def evaluate(name: str, config: Path, part: str, fold_limit: int | None) -> None:
    import rasa.model_training
    import rasa.nlu.test as rasa_test
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    out = RESULTS / name
    _seed_everything()
    _check_shortcuts_against_domain()
    _skip_training_fold_scores(rasa_test)
    folds = RasaFolds(fold_limit)
    capture = _Capture(rasa_test, folds)
    rasa_test.generate_folds = folds

    if part == "heldout":
        started = time.perf_counter()
        model = rasa.model_training.train_nlu(str(config), str(TRAIN_DATA), str(out / "model"), fixed_model_name=name)
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        processor = Agent.load(model).processor
        results: Dict[str, Any] = {"system": name, "config": str(config), "train_seconds": round(train_seconds, 1)}
        for file_name, path in TEST_FILES.items():
            await rasa_test.run_evaluation(
                str(path), processor, output_directory=str(out / file_name), errors=True, disable_plotting=True
            )
            results[file_name] = capture.predictions()
        if REAL_DEV_DATA.is_file():
            results["real_dev"] = await parse_real_dev(processor)
        results["heldout_seconds"] = round(time.perf_counter() - started, 1)
        write_json(out / "heldout.json", results)
    else:
        started = time.perf_counter()
        intent_cv, _, _ = await rasa_test.cross_validate(
            load_data(str(TRAIN_DATA)), FOLDS, str(config), output=str(out / "cv"), disable_plotting=True
        )
        write_json(
            out / "cv.json",
            {
                "cv_seconds": round(time.perf_counter() - started, 1),
                "cv_folds_run": len(intent_cv.test.get("Accuracy", [])),
                "cv_fold_accuracy": [round(a, 4) for a in intent_cv.test.get("Accuracy", [])],
                "cv": capture.predictions(),
            },
        )


def main(argv) -> int:
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    name, config, part = argv[1], Path(argv[2]), argv[3]
    if part not in ("heldout", "cv"):
        sys.exit("PART is heldout or cv")
    fold_limit = int(argv[4]) if len(argv) > 4 else None
    asyncio.run(evaluate(name, config, part, fold_limit))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
