"""The review inbox on its own: grouping, masking, and what labelling files (never a held-out sentence)."""

from __future__ import annotations

from pathlib import Path
from typing import List

from rasa.shared.nlu.training_data.loading import load_data

from ops.inbox import IGNORE, Reviews, group, parse_label, similarity_key
from ops.masking import mask_for_display
from ops.metrics import ReviewCandidate, Turn
from tests.conftest import ROOT

HELDOUT = [ROOT / "holdout" / "heldout.yml", ROOT / "holdout" / "blind.yml"]


def candidate(text: str, conversation: str = "c1", timestamp: float = 1.0) -> ReviewCandidate:
    turn = Turn(conversation, timestamp, text, "nlu_fallback", 0.3, "after_sales_repair", [], None)
    return ReviewCandidate(turn, "clarified")


def first_heldout_sentence() -> str:
    return load_data(str(HELDOUT[0])).intent_examples[0].get("text")


def test_masking_keeps_only_the_numbers_of_the_hotline_data():
    text = ("我手机13812345678，身份证110101199003071234，卡6222 0212 3456 7890，"
            "打400-100-3399和4006808581，还有4008123456")
    masked = mask_for_display(text)
    for personal in ["13812345678", "110101199003071234", "6222 0212 3456 7890", "4008123456"]:
        assert personal not in masked
    assert "400-100-3399" in masked and "4006808581" in masked  # official, and the known unofficial one
    card = "天星金融热线：[400-100-3399](tel:4001003399)"
    assert mask_for_display(card) == card


def test_similar_messages_are_one_item_biggest_first():
    items = group([candidate("机子进水了", "a", 1), candidate("机子 进水了！！", "b", 2),
                   candidate("我的机子进水了", "c", 3), candidate("怎么申请信用卡", "d", 4), candidate("？？", "e", 5)])
    assert [len(item.candidates) for item in items] == [3, 1]  # "？？" says nothing: not an item
    first = items[0].as_dict()
    assert (first["count"], first["conversations"], first["conversation"]) == (3, 3, "c")
    assert first["text"] == "我的机子进水了"  # the latest wording
    assert similarity_key("機子進水了 3次") == similarity_key("机子进水了0次")


def reviews(tmp_path: Path) -> Reviews:
    training = tmp_path / "data" / "nlu"
    training.mkdir(parents=True)
    (training / "devices.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: after_sales_repair\n  examples: |\n    - 手机屏幕摔碎了\n', encoding="utf-8")
    return Reviews(training / "reviewed.yml", tmp_path / "var" / "decisions.json", training, HELDOUT)


def test_labelling_files_masked_new_examples_only(tmp_path: Path):
    inbox = reviews(tmp_path)
    heldout = first_heldout_sentence()
    messages: List[ReviewCandidate] = [candidate("我的机子进水了，电话13812345678"), candidate("手机屏幕摔碎了！"),
                                       candidate(heldout), candidate("[机子](product)进水")]
    results = [inbox.label(item, "after_sales_repair") for item in group(messages)]
    assert {key: sum(r[key] for r in results) for key in results[0]} == {"filed": 2, "skipped_heldout": 1,
                                                                          "skipped_known": 1}
    filed = load_data(str(inbox.reviewed_file)).intent_examples
    assert sorted(m.get("text") for m in filed) == sorted(["我的机子进水了，电话138****5678", "【机子】(product)进水"])
    assert {m.get("intent") for m in filed} == {"after_sales_repair"}
    assert "13812345678" not in inbox.reviewed_file.read_text(encoding="utf-8")
    # Labelled again (another period, say): nothing twice.
    assert inbox.label(group([candidate("我的机子进水了，电话13812345678")])[0], "after_sales_repair")["filed"] == 0
    assert inbox.pending(group(messages)) == []


def test_ignore_files_nothing_but_takes_the_message_out(tmp_path: Path):
    inbox = reviews(tmp_path)
    items = group([candidate("随便看看"), candidate("别的问题")])
    assert inbox.label(items[0], IGNORE)["filed"] == 0
    assert not inbox.reviewed_file.exists()
    pending = inbox.pending(group([candidate("随便看看"), candidate("别的问题")]))
    assert [item.candidates[0].turn.text for item in pending] == ["别的问题"]


def test_labels_are_catalogue_intents_or_ignore():
    intents = ("after_sales_repair", "out_of_scope")
    assert parse_label("out_of_scope", intents) == "out_of_scope"
    assert parse_label(IGNORE, intents) == IGNORE
    assert parse_label("nlu_fallback", intents) is None
    assert parse_label(["after_sales_repair"], intents) is None
