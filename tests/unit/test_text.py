from common.text import (
    NLU_MAX_CHARS,
    find_phone_numbers,
    format_phone,
    has_chinese,
    mask_other_numbers,
    normalize,
)


def test_full_width_digits_and_punctuation_become_half_width():
    assert normalize("４００－１００－３３９９，ＡＰＰ") == "400-100-3399,app"


def test_traditional_characters_become_simplified():
    assert normalize("還款失敗，帳戶被鎖了怎麼辦") == "还款失败,账户被锁了怎么办"


def test_the_common_variant_of_a_character_is_read_as_the_standard_one():
    assert normalize("提现一直不到帐") == normalize("提现一直不到账")


def test_html_tags_are_dropped_and_entities_decoded():
    assert normalize("<b>还款</b>&lt;失败&gt;<script>alert(1)</script>") == "还款 <失败> alert(1)"


def test_long_messages_are_capped():
    assert len(normalize("还" * 5000)) == NLU_MAX_CHARS


def test_empty_and_none():
    assert normalize(None) == "" and normalize("   \n ") == ""


def test_phone_numbers_in_every_common_format():
    text = normalize("4001003399 或 400 100 3399 或 ４００－６８０－８５８１ 或 95188 或 138 1234 5678")
    assert [m.digits for m in find_phone_numbers(text)] == [
        "4001003399",
        "4001003399",
        "4006808581",
        "95188",
        "13812345678",
    ]


def test_amounts_dates_ids_and_cards_are_not_phone_numbers():
    text = normalize("扣了1234元，转出50000元，3月15号，身份证110101199003074518，卡号6222021234567890123")
    assert list(find_phone_numbers(text)) == []


def test_format_phone():
    assert format_phone("4001003399") == "400-100-3399"
    assert format_phone("95188") == "95188"


def test_has_chinese():
    assert has_chinese("app登不上") and not has_chinese("hello 123")


def test_numbers_other_than_phone_numbers_are_masked():
    text = normalize("扣了2次每次1234.5元，小米13，打400-100-3399或13812345678")
    assert mask_other_numbers(text) == "扣了0次每次0元,小米0,打400-100-3399或13812345678"
