"""Small talk, out-of-scope questions and low-confidence turns."""


def test_greeting_offers_common_questions(conversation):
    replies = conversation.say("你好")
    assert "您好" in replies[0]["text"] and len(replies[0]["buttons"]) >= 3


def test_thanks_goodbye_and_bot_challenge(conversation):
    assert "不客气" in conversation.text("谢谢你")
    assert "机器人" in conversation.text("你是机器人吗") or "智能客服" in conversation.text("你是真人吗")
    assert "再见" in conversation.text("拜拜")


def test_out_of_scope_says_what_it_can_do_and_gives_no_number(conversation):
    answer = conversation.text("怎么申请小米贷款")
    assert "帮不上" in answer and "还款失败" in answer


def test_two_misunderstandings_offer_a_person(conversation):
    first = conversation.say("嗯那个东西它就是不太对劲吧")
    assert "您是想问" in first[0]["text"] or "没太看懂" in first[0]["text"]
    second = conversation.text("唉怎么又这样了")
    assert "人工" in second and "400-100-3399" in second and "95188" in second


def test_a_clarification_click_answers_for_the_product_the_customer_named(conversation):
    # Vague, but it names 随星借: the assistant asks which problem, and whatever the customer picks is
    # answered for 随星借, whose line (and no other) is given when the answer did not help.
    asked = conversation.say("随星借那边的问题一直没弄好")
    assert "您是想问" in asked[0]["text"]
    buttons = asked[0]["buttons"]
    assert 2 <= len(buttons) <= 4 and all(b["payload"].startswith("/") for b in buttons)

    answer = conversation.say(buttons[0]["payload"])
    assert conversation.latest_intent() == buttons[0]["payload"][1:]
    assert "哪一项服务" not in answer[0]["text"]
    handed_off = conversation.text("没解决，找人工")
    assert "400-100-3399" in handed_off
    assert "95188" not in handed_off and "400-100-5678" not in handed_off
