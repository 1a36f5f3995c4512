"""How the 猜你想问 rule (actions/clarify.py: HEDGE_AT_LEAST, HEDGE_LEAD) was chosen: every pair of settings
replayed on the real customers' questions as the last `make eval` parsed them (results/eval/ours/heldout.json keeps
each question's intent ranking), scored as eval/run_eval.py scores them.

Usage: python -m eval.hedge_rule   (after make eval; prints one row per setting, the chosen one marked)
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List

import actions.clarify as clarify
from common.knowledge import load_knowledge
from eval.common import RESULTS, read_json
from eval.run_eval import real_metrics

AT_LEAST = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65)
LEAD = (0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def replay(predictions: List[Dict[str, Any]], at_least: float, lead: float) -> List[Dict[str, Any]]:
    """The questions as served with that rule: which are hedged, and which topics the buttons then offer."""
    topics, titles = clarify.hedgeable(load_knowledge()), load_knowledge().intent_titles
    chosen = (clarify.HEDGE_AT_LEAST, clarify.HEDGE_LEAD)
    clarify.HEDGE_AT_LEAST, clarify.HEDGE_LEAD = at_least, lead
    try:
        out = []
        for p in predictions:
            ranking = [{"name": name, "confidence": confidence} for name, confidence in p["ranking"]]
            clarified = p["runtime"] == "nlu_fallback"
            hedged = clarify.hedge_topic(ranking, topics) if clarified else None
            choices = [c for c in clarify.choice_intents(ranking, titles) if c != hedged] if clarified else []
            out.append({**p, "hedged": hedged, "choices": choices})
        return out
    finally:
        clarify.HEDGE_AT_LEAST, clarify.HEDGE_LEAD = chosen


def main() -> int:
    predictions = read_json(RESULTS / "ours" / "heldout.json")["real_dev"]
    rows = [("none", "", real_metrics(replay(predictions, 2.0, 2.0)))]
    rows += [(at_least, lead, real_metrics(replay(predictions, at_least, lead)))
             for at_least in AT_LEAST for lead in LEAD]
    print("| at least | lead | right at once | within one click | wrong answers | without the right one offered "
          "| out of scope declined | hedged |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for at_least, lead, m in rows:
        mark = " ←" if (at_least, lead) == (clarify.HEDGE_AT_LEAST, clarify.HEDGE_LEAD) else ""
        print(f"| {at_least} | {lead} | {m['right_at_once']:.3f} | {m['within_one_click']:.3f} | "
              f"{m['wrong_answer_rate'] * 100:.1f} % ({m['wrong_answers']}) | "
              f"{m['wrong_not_offered_rate'] * 100:.1f} % ({m['wrong_not_offered']}) | "
              f"{m['out_of_scope_declined']:.3f} | {m['hedged']}{mark} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
