"""Kinds of message the assistant used to fail on, told apart by their words and true intent.

Each rule looks only at a message's text (normalised as the assistant reads it) and its labelled intent,
never at any system's prediction, so the per-kind table counts the same messages for every system.
A message can be of several kinds or of none.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List

from common.knowledge import load_knowledge
from common.text import find_phone_numbers, has_chinese, normalize

PROBLEM_INTENTS = set(load_knowledge().intents_of_kind("problem"))

_FRAUD_HAPPENED = re.compile(
    r"盗|冒用|冒名|不是.{0,3}本人|被骗|骗了|骗走|上当|陌生.{0,6}登|身份证.{0,8}开|莫名|不明|异常扣|不认识"
)
_NOT_ARRIVED = re.compile(r"到账|未到|没到|不到|赎回|转出|取不出|到不了")
_TIME_WORDS = re.compile(r"春节|国庆|元旦|过年|放假|假期|节假|节日|24小时|下班|上班|周末|周六|周日|晚上|半夜|凌晨|几点")
_GREETING_FIRST = re.compile(r"^(你好|您好|在吗|在不在|hi|hello|哈喽|嗨|亲|早上好|下午好|晚上好|打扰)")
_ASKS_FOR_PERSON = re.compile(r"人工|真人|电话|热线|号码|联系方式")
_LEADING_SYMBOLS = re.compile(r"^[^\w\s]")
_DIGIT = re.compile(r"\d")
# Intents whose messages speak of phones and people anyway: not "a problem plus a request".
_ABOUT_CALLING = {"complaint", "fraud_check", "call_tips", "contact_channels", "ask_hotline", "service_hours"}

# Kind 7 (a greeting first) is counted over every problem intent.
KINDS: Dict[str, Callable[[str, str], bool]] = {
    "1. fraud that already happened": lambda t, i: i == "fraud_check" and bool(_FRAUD_HAPPENED.search(t)),
    "2. credit product frozen, no 额度": lambda t, i: i == "quota_frozen" and "额度" not in t,
    "3. money that has not arrived": lambda t, i: i == "withdrawal_failure" and bool(_NOT_ARRIVED.search(t)),
    "4. hours through holidays and time words": lambda t, i: i == "service_hours" and bool(_TIME_WORDS.search(t)),
    "5. fees without 费用": lambda t, i: i == "interest_fees" and "费用" not in t,
    "6. complaint without 投诉": lambda t, i: i == "complaint" and "投诉" not in t,
    "7. greeting before the problem": lambda t, i: i in PROBLEM_INTENTS and bool(_GREETING_FIRST.search(t)),
    "8. digits, no phone number": lambda t, i: bool(_DIGIT.search(t)) and not any(find_phone_numbers(t)),
    "9. leading punctuation": lambda t, i: bool(_LEADING_SYMBOLS.search(t)) and has_chinese(t),
    "10. out of scope": lambda t, i: i == "out_of_scope",
    "11. problem + a person or number asked": lambda t, i: i in PROBLEM_INTENTS - _ABOUT_CALLING
    and bool(_ASKS_FOR_PERSON.search(t)),
}


def kinds_of(text: str, intent: str) -> List[str]:
    normalized = normalize(text)
    return [kind for kind, applies in KINDS.items() if applies(normalized, intent)]


# How real customers' questions differ from ours (the kinds found in ../shared/real-customers
# failures). Same contract as KINDS: rules on the text and the true intent only.
_DEBRIS = re.compile(r"\[[^\]]*x\]|\*\*\*|!@@@!|^\d#|\s")
_OTHER_BRANDS = re.compile(
    r"微粒贷|微众|京东|网商贷|金条|平安|美团|滴滴|天猫|淘宝|闲鱼|招商|建设银行|建行|工商|中信|浦发|华夏|邮储|信用社|"
    r"荣耀|华为|iphone|ios|p20|小爱|太平|齐鲁|安信"
)
_MIXED_UP = {"account_locked", "quota_frozen", "payment_failure", "login_failure", "withdrawal_failure",
             "earnings_query", "interest_fees"}  # fmt: skip
_TOO_MANY_TRIES = re.compile(r"(错|次数).{0,6}(多|超过|几次|三次|五次)|(多次|几次|三次|五次).{0,4}(错|输)")
_FINANCE_OR_PHONE = re.compile(
    r"电话|号码|打|花呗|借呗|贷|借|额度|芝麻|征信|记录|银行|钱|款|开通|关闭|取消|红包|理财|股票"
)
_HOLIDAYS = re.compile(_TIME_WORDS.pattern + r"|五一|十一|十月一|双休|周未|期间|任何时候")
_LOAN_WORDS = re.compile(r"借|贷|放款|到账|下款")
_REPAIR_INTENTS = {"after_sales_repair", "repair_progress", "spare_parts", "service_locations"}

REAL_KINDS: Dict[str, Callable[[str, str], bool]] = {
    "1. short fragment or chat debris": lambda t, i: len(t) <= 6 or bool(_DEBRIS.search(t)),
    "2. another lender, bank or shop": lambda t, i: bool(_OTHER_BRANDS.search(t)),
    "3. locked / frozen / refused / login, drawing vs withdrawal, interest earned vs paid": lambda t, i: i
    in _MIXED_UP,
    "4. ID or password wrong too many times": lambda t, i: bool(_TOO_MANY_TRIES.search(t)),
    "5. out of scope with finance or phone words": lambda t, i: i == "out_of_scope"
    and bool(_FINANCE_OR_PHONE.search(t)),
    "6. loans on weekends and holidays": lambda t, i: bool(_HOLIDAYS.search(t))
    and bool(_LOAN_WORDS.search(t))
    and "还款" not in t,
    "7. repair as warranty, cost or mail-in": lambda t, i: i in _REPAIR_INTENTS,
}


def real_kinds_of(text: str, intent: str) -> List[str]:
    normalized = normalize(text).lower()
    return [kind for kind, applies in REAL_KINDS.items() if applies(normalized, intent)]
