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
