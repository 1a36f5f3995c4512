"""How the 猜你想问 rule (common/hedge.py: HEDGE_LEAD, HEDGE_AT_LEAST, HEDGE_NEIGHBOURS) and the NLU threshold it
works under (config.yml, FallbackClassifier) were chosen: settings replayed on the real customers' questions as the
last `make eval` parsed them (results/eval/ours/heldout.json keeps each question's intent ranking with the nearest
examples' share of the vote), scored as eval/run_eval.py scores them.

Usage: python -m eval.hedge_rule   (after make eval; prints one row per setting, the chosen one marked)
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Tuple

import yaml

import common.hedge as hedge
from actions.clarify import choice_intents
from common.conversation import NEIGHBOURS_KEY
from common.knowledge import load_knowledge
from eval.common import RESULTS, ROOT, read_json
from eval.run_eval import real_metrics

OFF = 2.0  # a setting no confidence or share reaches
THRESHOLDS = (0.7, 0.72, 0.74, 0.76, 0.78, 0.8)
# The lead alone (the neighbours' agreement off), then the agreement beside the chosen lead
LEAD = (0.25, 0.3, 0.35, 0.4, 0.5)
AT_LEAST = (0.55, 0.6, 0.65)
NEIGHBOURS = (0.7, 0.8, 0.9)


def fallback_settings() -> Tuple[float, float]:
    """The FallbackClassifier's threshold and ambiguity threshold in config.yml."""
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    fallback = next(c for c in pipeline if c["name"] == "FallbackClassifier")
    return fallback["threshold"], fallback["ambiguity_threshold"]


def at_threshold(predictions: List[Dict[str, Any]], threshold: float) -> List[Dict[str, Any]]:
    """The questions as the NLU would have passed them on with another threshold: under it, a clarification
    (nlu_fallback); at or over it, the top intent, unless the next is within the ambiguity threshold."""
    ambiguity = fallback_settings()[1]
    out = []
    for p in predictions:
        ranked = [r for r in p["ranking"] if r[0] != "nlu_fallback"]
        if not ranked or p["runtime"] not in ("nlu_fallback", ranked[0][0]):
            out.append(p)  # the input guard's reading: no threshold applies
            continue
        second = ranked[1][1] if len(ranked) > 1 else 0
        clarified = ranked[0][1] < threshold or ranked[0][1] - second < ambiguity
        out.append({**p, "runtime": "nlu_fallback" if clarified else ranked[0][0], "ranking": ranked})
    return out


def replay(predictions: List[Dict[str, Any]], lead: float, at_least: float, neighbours: float) -> List[Dict[str, Any]]:
    """The questions as served with that rule: which are hedged, and which topics the buttons then offer."""
    knowledge = load_knowledge()
    titles = knowledge.intent_titles
    chosen = (hedge.HEDGE_LEAD, hedge.HEDGE_AT_LEAST, hedge.HEDGE_NEIGHBOURS)
    hedge.HEDGE_LEAD, hedge.HEDGE_AT_LEAST, hedge.HEDGE_NEIGHBOURS = lead, at_least, neighbours
    try:
        out = []
        for p in predictions:
            ranking = [{"name": name, "confidence": confidence, NEIGHBOURS_KEY: share}
                       for name, confidence, share in p["ranking"]]
            clarified = p["runtime"] == "nlu_fallback"
            topics = hedge.hedgeable(knowledge, p.get("quotes_number", False))
            hedged = hedge.hedge_topic(ranking, topics) if clarified else None
            choices = [c for c in choice_intents(ranking, titles) if c != hedged] if clarified else []
            out.append({**p, "hedged": hedged, "choices": choices})
        return out
    finally:
        hedge.HEDGE_LEAD, hedge.HEDGE_AT_LEAST, hedge.HEDGE_NEIGHBOURS = chosen


def main() -> int:
    predictions = read_json(RESULTS / "ours" / "heldout.json")["real_dev"]
    rules = [(OFF, OFF, OFF)] + [(lead, OFF, OFF) for lead in LEAD]
    rules += [(hedge.HEDGE_LEAD, at_least, neighbours) for at_least in AT_LEAST for neighbours in NEIGHBOURS]
    chosen = (fallback_settings()[0], hedge.HEDGE_LEAD, hedge.HEDGE_AT_LEAST, hedge.HEDGE_NEIGHBOURS)
    print("| threshold | lead | at least | neighbours | right at once | within one click | wrong answers "
          "| without the right one offered | out of scope declined | hedged |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for threshold in THRESHOLDS:
        served = at_threshold(predictions, threshold)
        for rule in rules:
            m = real_metrics(replay(served, *rule))
            shown = " | ".join("off" if value == OFF else str(value) for value in rule)
            mark = " ←" if (threshold, *rule) == chosen else ""
            print(f"| {threshold} | {shown} | {m['right_at_once']:.3f} | {m['within_one_click']:.3f} | "
                  f"{m['wrong_answer_rate'] * 100:.1f} % ({m['wrong_answers']}) | "
                  f"{m['wrong_not_offered_rate'] * 100:.1f} % ({m['wrong_not_offered']}) | "
                  f"{m['out_of_scope_declined']:.3f} | {m['hedged']}{mark} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
