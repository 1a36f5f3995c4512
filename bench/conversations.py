"""Realistic Chinese customer-service conversations the load generator sends.

Each conversation is what a user of one of the three services would type, in order: a greeting,
the problem (with product names, amounts, dates, order or card numbers), a follow-up asking for
the hotline or a person, and thanks. `expect` is a fragment the reply to that turn should contain
when the assistant understood it (the hotline number, mostly); it is counted as a "wrong answer"
statistic only, never as an error: a reply that misses it is still a reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

LOAN_HOTLINE = "400-100-3399"
AFTER_SALES_HOTLINE = "400-100-5678"
ALIPAY_HOTLINE = "95188"


@dataclass(frozen=True)
class Turn:
    text: str
    expect: Optional[str] = None


def _conv(*turns: Tuple[str, Optional[str]]) -> List[Turn]:
    return [Turn(text, expect) for text, expect in turns]


CONVERSATIONS: List[List[Turn]] = [
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
