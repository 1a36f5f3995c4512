"""猜你想问: which topic a message under the NLU threshold is answered with at once, with 「不是这个问题？」 and the
other likely topics as buttons. The action server's action_clarify answers it; the Rasa server's conversation
reader (pipeline/context_policy.py) takes such a message as a question of its own, not as a follow-up."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from common.conversation import NEIGHBOURS_KEY
from common.knowledge import Knowledge

# Under the NLU threshold (config.yml), the best topic is still answered at once when it leads the next intent (out
# of scope included) by HEDGE_LEAD, or when it has at least HEDGE_AT_LEAST and the nearest training examples agree
# on it (HEDGE_NEIGHBOURS of their vote: pipeline/cascade.py). Chosen on real customers' questions with the
# threshold (`python -m eval.hedge_rule`, eval/changes.md). A lead of 0.3 answered 44 of dev.tsv's 363 questions
# this way, 36 rightly, and 5 of the 8 wrong ones still offer the right topic among the buttons; 0.35 answered
# 0.027 fewer at once for one wrong answer less, 0.25 0.013 more for four more. It needs the counts model's
# near-sure answers read by meaning too (cascade.py, `sure`): answered unread, 0.3 gave 18 wrong answers, not 14.
# The neighbours' agreement was chosen beside a lead of 0.5; beside 0.3 it changes no dev.tsv figure.
HEDGE_LEAD = 0.3
HEDGE_AT_LEAST = 0.6
HEDGE_NEIGHBOURS = 0.8


def hedgeable(knowledge: Knowledge, quotes_number: bool = False) -> List[str]:
    """Topics a hedge may answer: those with a self-help answer of their own (not the hours or the hotline card,
    which have actions of their own), and the number check when the message quotes a number (it only says whose
    line that is)."""
    topics = [key for key in knowledge.topics if not knowledge.intents[key].action]
    return topics + ["fraud_check"] if quotes_number else topics


def hedge_topic(ranking: List[Dict[str, Any]], topics: Sequence[str]) -> Optional[str]:
    """The topic to answer at once under the threshold, or None: the likeliest intent (out of scope and small
    talk included) must be a hedgeable topic, HEDGE_LEAD ahead of the next, or with HEDGE_AT_LEAST and
    HEDGE_NEIGHBOURS of the nearest examples' vote."""
    ranked = [c for c in ranking if c.get("name") not in (None, "nlu_fallback")]
    if not ranked or ranked[0]["name"] not in topics:
        return None
    best = ranked[0].get("confidence", 0)
    second = ranked[1].get("confidence", 0) if len(ranked) > 1 else 0
    agreed = best >= HEDGE_AT_LEAST and ranked[0].get(NEIGHBOURS_KEY, 0) >= HEDGE_NEIGHBOURS
    return ranked[0]["name"] if best - second >= HEDGE_LEAD or agreed else None
