"""The conversations the load generator sends: varied as customers write, and a repeated set for the cache's note.

The varied load (`varied_conversations`, what `make bench` measures) is what traffic looks like: customers' own
questions hardly ever repeat word for word, while a few short stock phrases (你好, 转人工, 谢谢) come back all day.
Each conversation has CONVERSATION_LENGTH messages: an opening, a closing and one follow-up from the stock phrases
(STOCK_SHARE of the messages), and questions drawn without repeats, in turn from real customers' questions
(../shared/real-customers/dev.tsv, when it is there: sent as load only, never trained on) and from the blind file's
(holdout/blind.yml, written as customers write by people who never saw the training data). When a source runs out,
it is drawn again, each question with a way customers open or close a question added (请问…, …在线等). The
level at 32 conversations sends the questions as written first; other levels and warm-ups start with other
wordings, so that no level of a run finds its questions in the server's cache of meaning vectors.

The repeated load (`REPEATED_CONVERSATIONS`, twelve conversations of 49 texts) is the one the bench used to
measure: each conversation is what a user of one of the three services would type, in order: a greeting, the
problem (with product names, amounts, dates, order or card numbers), a follow-up asking for the hotline or a
person, and thanks. `expect` is a fragment the reply to that turn should contain when the assistant understood it
(the hotline number, mostly); it is counted as a "wrong answer" statistic only, never as an error: a reply that
misses it is still a reply. Its short texts are all answered from the serving cache of meaning vectors after their
first time, so its figure is reported only as a note on that cache.
"""

from __future__ import annotations

import csv
import itertools
import os
import random
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent

LOAN_HOTLINE = "400-100-3399"
AFTER_SALES_HOTLINE = "400-100-5678"
ALIPAY_HOTLINE = "95188"


@dataclass(frozen=True)
class Turn:
    text: str
    expect: Optional[str] = None


def _conv(*turns: Tuple[str, Optional[str]]) -> List[Turn]:
    return [Turn(text, expect) for text, expect in turns]


REPEATED_CONVERSATIONS: List[List[Turn]] = [
    _conv(
        ("你好", None),
        ("我的小米贷款还款失败了", None),
        ("那客服电话是多少", LOAN_HOTLINE),
        ("谢谢", None),
    ),
    _conv(
        ("在吗", None),
        ("随星借这个月的2000块自动还款没扣成功，银行卡里钱是够的", None),
        ("怎么转人工", LOAN_HOTLINE),
        ("好的，谢谢你", None),
    ),
    _conv(
        ("您好", None),
        ("天星金融账户被锁定了，输错了3次密码", None),
        ("人工客服电话多少", LOAN_HOTLINE),
        ("多谢", None),
    ),
    _conv(
        ("你好", None),
        ("我的小米手机屏幕碎了，买了不到半年，保修吗", None),
        ("小米售后电话是多少", AFTER_SALES_HOTLINE),
        ("谢谢，再见", None),
    ),
    _conv(
        ("你好啊", None),
        ("余额宝提现500元一直没到账，已经两天了", None),
        ("支付宝客服电话多少", ALIPAY_HOTLINE),
        ("谢谢", None),
    ),
    _conv(
        ("在吗", None),
        ("花呗这个月扣了两次钱，多扣了386.5元", None),
        ("我要找人工", ALIPAY_HOTLINE),
        ("辛苦了", None),
    ),
    _conv(
        ("你好", None),
        ("小米贷款的额度突然被冻结了，本来有30000额度", None),
        ("客服几点上班", None),
        ("那客服电话是多少", LOAN_HOTLINE),
        ("谢谢", None),
    ),
    _conv(
        ("你好", None),
        ("有人打电话说是小米金融客服，号码是4006808581，让我提供验证码，是真的吗", "400-680-8581"),
        ("那官方客服电话是多少", None),
        ("好的谢谢", None),
    ),
    _conv(
        ("您好", None),
        ("米家空气净化器连不上WiFi，配网一直失败", None),
        ("米家客服电话", AFTER_SALES_HOTLINE),
        ("谢谢", None),
    ),
    _conv(
        ("你好", None),
        ("小米商城买的手环想退货，订单号5123456789，还在七天内", None),
        ("售后电话多少", AFTER_SALES_HOTLINE),
        ("谢谢，没事了", None),
    ),
    _conv(
        ("在吗", None),
        ("借呗的利息怎么算的，借了10000元12期", None),
        ("转人工", ALIPAY_HOTLINE),
        ("谢谢", None),
    ),
    _conv(
        ("你好", None),
        ("随星借和天星金融是什么关系，小米贷款改名了吗", None),
        ("天星金融客服电话是多少", LOAN_HOTLINE),
        ("明白了，谢谢", None),
    ),
]

# The long conversation (turn 1, 50, 200 latency) cycles through these in one sender id. The turns
# that are compared (1, 50, 200) all send the first one, so that like is measured against like.
LONG_CONVERSATION_CYCLE: List[str] = [
    "我的小米贷款还款失败了",
    "那客服电话是多少",
    "余额宝提现500元一直没到账",
    "支付宝客服电话多少",
    "小米手机屏幕碎了，保修吗",
    "客服几点上班",
    "谢谢",
    "你好",
]
COMPARED_TURNS = (1, 50, 200)

# A correctness check run after every start: one conversation, the loan hotline must come back.
SMOKE_CHECK = (["我的小米贷款还款失败了", "那客服电话是多少"], LOAN_HOTLINE)


# --- the varied load ------------------------------------------------------------------------------

CONVERSATION_LENGTH = 20
# Where the questions come from: real customers' (outside the project; REAL_DEV as for make eval) and the blind file's.
REAL_CUSTOMERS = ROOT / os.environ.get("REAL_DEV", "../shared/real-customers/dev.tsv")
BLIND = ROOT / "holdout" / "blind.yml"
# The short stock phrases: an opening, one follow-up somewhere in the middle and a closing per conversation,
# 3 of CONVERSATION_LENGTH messages.
OPENINGS = ["你好", "您好", "在吗", "你好，在吗", "有人吗", "hi", "你好啊", "在不在"]
FOLLOW_UPS = ["转人工", "人工客服", "客服电话多少", "电话是多少", "我要找人工", "好的", "嗯嗯", "还是不行",
              "怎么联系你们", "那怎么办"]
CLOSINGS = ["谢谢", "好的谢谢", "谢谢你", "多谢", "好的，知道了", "再见", "没事了", "行吧"]
STOCK_SHARE = 3 / CONVERSATION_LENGTH
# How customers wrap a question: a question drawn again in a later round gets one of these pairs added.
PREFIXES = ["请问", "你好，", "麻烦问下，", "问一下，", "急！", "客服，", "我想问下", "那个，", "您好，", "想咨询下，",
            "在吗？", "打扰一下，"]
SUFFIXES = ["？", "，怎么办", "，在线等", "，谢谢", "。", "，急", "啊", "，帮我看看", "呢", "，麻烦了"]
VARIATIONS = len(PREFIXES) * len(SUFFIXES)
# The seeds bench/run.py draws with (a level's is its number of conversations), and the wording each starts at:
# 0 is as written, for the level the report leads with; the others are SEED_SPACING wordings apart, more rounds
# than a level draws (at 150 msg/s for 20 s, real customers' questions four times), so that the levels and
# warm-ups of a run never send the same text. Another seed starts at a wording of its own, without that promise.
WARMUP_SEED = 0
RETURNING_SEED = 1032  # the returning users of the stored-conversations step
SEED_SPACING = 20
FIRST_WORDING = {seed: n * SEED_SPACING for n, seed in enumerate((32, 1, 8, 64, WARMUP_SEED, RETURNING_SEED))}


def _blind_questions(path: Path) -> List[str]:
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    texts = []
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip().removeprefix("- ").strip())
            if text:
                texts.append(text)
    return texts


def _real_customers_questions(path: Path) -> List[str]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as file:
        return [row["text"].strip() for row in csv.DictReader(file, delimiter="\t") if row.get("text", "").strip()]


def question_pools() -> List[List[str]]:
    """The questions of each source (real customers', then the blind file's): distinct, no stock phrase, no
    question in two sources, in a fixed order. A source that is not there is left out."""
    stock = set(OPENINGS + FOLLOW_UPS + CLOSINGS)
    seen: set = set()
    pools = []
    for texts in (_real_customers_questions(REAL_CUSTOMERS), _blind_questions(BLIND)):
        pool = [text for text in dict.fromkeys(texts) if text not in stock and text not in seen]
        seen.update(pool)
        if pool:
            pools.append(pool)
    return pools


def _varied(text: str, pair: int) -> str:
    """The question with the pair-th way of wrapping it (a prefix and a suffix)."""
    pair %= VARIATIONS
    core = text.rstrip("？?。.！!") or text  # "……" stays itself
    return PREFIXES[pair // len(SUFFIXES)] + core + SUFFIXES[pair % len(SUFFIXES)]


def _first_wording(seed: int) -> int:
    return FIRST_WORDING.get(seed, seed % (VARIATIONS + 1))


def _drawn(pool: List[str], rng: random.Random, seed: int, sent: set) -> Iterator[str]:
    """The pool's questions in random order, again and again, each round in the next wording: 0 is as written,
    wording w wraps each question in its own way (w - 1 shifted by the text, so one round's questions do not all
    start alike); a text already sent (two questions may differ only by a "？") gets the next way."""
    for round_number in itertools.count():
        wording = (_first_wording(seed) + round_number) % (VARIATIONS + 1)
        order = list(range(len(pool)))
        rng.shuffle(order)
        for index in order:
            text = pool[index]
            if wording:
                shift = wording - 1 + zlib.crc32(text.encode("utf-8"))
                tries = (_varied(text, shift + step) for step in range(VARIATIONS))
                text = next((tried for tried in tries if tried not in sent), _varied(text, shift))
            sent.add(text)
            yield text


def varied_conversations(seed: int, pools: Optional[List[List[str]]] = None) -> Iterator[List[Turn]]:
    """Endless conversations of CONVERSATION_LENGTH messages, the same ones for the same seed (so that two systems
    get the same load): stock phrases at STOCK_SHARE, the questions drawn without repeats from each pool in turn.

    Half the questions are real customers' (when their file is there), although the blind file has four times as
    many: real customers' questions are the harder ones to understand, the counts model is sure of fewer of them
    (about one in seven against two in five of the blind file's), so more of them are embedded."""
    pools = question_pools() if pools is None else pools
    if not pools:
        raise FileNotFoundError(f"no questions for the varied load: neither {REAL_CUSTOMERS} nor {BLIND} is there")
    rng = random.Random(seed)
    sent: set = set()
    sources = [_drawn(pool, rng, seed, sent) for pool in pools]
    drawn = (next(source) for source in itertools.cycle(sources))
    while True:
        middle = [next(drawn) for _ in range(CONVERSATION_LENGTH - 3)]
        middle.insert(rng.randrange(1, len(middle)), rng.choice(FOLLOW_UPS))
        yield [Turn(text) for text in [rng.choice(OPENINGS), *middle, rng.choice(CLOSINGS)]]
