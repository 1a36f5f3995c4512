"""How the 猜你想问 rule (actions/clarify.py: HEDGE_LEAD, HEDGE_AT_LEAST, HEDGE_NEIGHBOURS) was chosen: settings
replayed on the real customers' questions as the last `make eval` parsed them (results/eval/ours/heldout.json keeps
each question's intent ranking with the nearest examples' share of the vote), scored as eval/run_eval.py scores them.

Usage: python -m eval.hedge_rule   (after make eval; prints one row per setting, the chosen one marked)
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List

import actions.clarify as clarify
from common.conversation import NEIGHBOURS_KEY
from common.knowledge import load_knowledge
from eval.common import RESULTS, read_json
from eval.run_eval import real_metrics

OFF = 2.0  # a setting no confidence or share reaches
# The lead alone (the neighbours' agreement off), then the agreement beside the chosen lead
LEAD = (0.3, 0.35, 0.4, 0.45, 0.5)
AT_LEAST = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65)
NEIGHBOURS = (0.6, 0.7, 0.8, 0.9, 1.0)


def replay(predictions: List[Dict[str, Any]], lead: float, at_least: float, neighbours: float) -> List[Dict[str, Any]]:
    """The questions as served with that rule: which are hedged, and which topics the buttons then offer."""
    knowledge = load_knowledge()
    topics, titles = clarify.hedgeable(knowledge), knowledge.intent_titles
    chosen = (clarify.HEDGE_LEAD, clarify.HEDGE_AT_LEAST, clarify.HEDGE_NEIGHBOURS)
    clarify.HEDGE_LEAD, clarify.HEDGE_AT_LEAST, clarify.HEDGE_NEIGHBOURS = lead, at_least, neighbours
    try:
        out = []
        for p in predictions:
            ranking = [{"name": name, "confidence": confidence, NEIGHBOURS_KEY: share}
                       for name, confidence, share in p["ranking"]]
            clarified = p["runtime"] == "nlu_fallback"
            hedged = clarify.hedge_topic(ranking, topics) if clarified else None
            choices = [c for c in clarify.choice_intents(ranking, titles) if c != hedged] if clarified else []
            out.append({**p, "hedged": hedged, "choices": choices})
        return out
    finally:
        clarify.HEDGE_LEAD, clarify.HEDGE_AT_LEAST, clarify.HEDGE_NEIGHBOURS = chosen


def main() -> int:
    predictions = read_json(RESULTS / "ours" / "heldout.json")["real_dev"]
    settings = [(OFF, OFF, OFF)] + [(lead, OFF, OFF) for lead in LEAD]
    settings += [(clarify.HEDGE_LEAD, at_least, neighbours) for at_least in AT_LEAST for neighbours in NEIGHBOURS]
    print("| lead | at least | neighbours | right at once | within one click | wrong answers "
          "| without the right one offered | out of scope declined | hedged |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    chosen = (clarify.HEDGE_LEAD, clarify.HEDGE_AT_LEAST, clarify.HEDGE_NEIGHBOURS)
    for setting in settings:
        m = real_metrics(replay(predictions, *setting))
        shown = " | ".join("off" if value == OFF else str(value) for value in setting)
        mark = " ←" if setting == chosen else ""
        print(f"| {shown} | {m['right_at_once']:.3f} | {m['within_one_click']:.3f} | "
              f"{m['wrong_answer_rate'] * 100:.1f} % ({m['wrong_answers']}) | "
              f"{m['wrong_not_offered_rate'] * 100:.1f} % ({m['wrong_not_offered']}) | "
              f"{m['out_of_scope_declined']:.3f} | {m['hedged']}{mark} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
