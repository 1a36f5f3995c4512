"""The benchmark's load looks like real traffic: customers' questions hardly repeat, stock phrases do (issue 29)."""

from __future__ import annotations

import itertools
from collections import Counter

from bench.conversations import (
    CLOSINGS,
    CONVERSATION_LENGTH,
    FOLLOW_UPS,
    OPENINGS,
    RETURNING_SEED,
    STOCK_SHARE,
    VARIATIONS,
    WARMUP_SEED,
    question_pools,
    varied_conversations,
)

STOCK = set(OPENINGS + FOLLOW_UPS + CLOSINGS)


def _texts(seed: int, conversations: int, pools=None):
    return [turn.text for conversation in itertools.islice(varied_conversations(seed, pools), conversations)
            for turn in conversation]


def test_only_the_stock_phrases_repeat_and_they_are_a_realistic_share():
    pools = question_pools()
    assert sum(map(len, pools)) >= 1000  # the blind file alone has over a thousand customers' questions
    conversations = 2 * sum(map(len, pools)) // (CONVERSATION_LENGTH - 3)  # every pool drawn twice at least
    texts = _texts(32, conversations, pools)
    questions = [text for text in texts if text not in STOCK]
    assert len(set(questions)) == len(questions)  # no question text sent twice
    assert sum(text in STOCK for text in texts) / len(texts) == STOCK_SHARE == 0.15
    stock_counts = Counter(text for text in texts if text in STOCK)
    assert min(stock_counts.values()) > 1  # while "你好" and "谢谢" do come back


def test_a_question_drawn_again_is_worded_as_a_customer_would_and_differently_each_round():
    pools = [["花呗怎么还款"]]  # one question: each conversation draws it again and again
    texts = [text for text in _texts(32, VARIATIONS, pools) if text not in STOCK][: VARIATIONS + 1]
    assert texts[0] == "花呗怎么还款"
    assert len(set(texts)) == VARIATIONS + 1  # as written, then each way of wrapping it once
    assert all("花呗怎么还款" in text for text in texts)


def test_the_questions_come_from_each_source_in_turn():
    pools = [["花呗怎么还款", "借呗利息多少"], ["手机屏幕碎了能保修吗"]]
    questions = [text for text in _texts(5, 1, pools) if text not in STOCK]
    assert questions[1::2] == [text for text in questions if "手机屏幕碎了能保修吗" in text]


def test_the_levels_and_warm_ups_of_a_run_never_send_the_same_question():
    seeds = (WARMUP_SEED, 1, 8, 32, 64, RETURNING_SEED)  # bench/run.py: warm-ups, the levels, the returning users
    per_level = 150 * 20 // CONVERSATION_LENGTH  # 20 s at 150 msg/s, more than a level of ours gets through
    questions = {seed: {text for text in _texts(seed, per_level) if text not in STOCK} for seed in seeds}
    for first, second in itertools.combinations(seeds, 2):
        assert not questions[first] & questions[second], (first, second)


def test_two_systems_get_the_same_load_and_levels_get_different_orders():
    assert _texts(32, 5) == _texts(32, 5)
    assert _texts(32, 5) != _texts(8, 5)
    first = next(varied_conversations(32))
    assert len(first) == CONVERSATION_LENGTH
    assert first[0].text in OPENINGS and first[-1].text in CLOSINGS
