"""`make knowledge-export` (ops/knowledge_export.py): the published version written back into copies of
knowledge/intents.yml and knowledge/services.yml, changing only what operators changed."""

from __future__ import annotations

import shutil
import subprocess

from common.knowledge import KNOWLEDGE_DIR, load_knowledge
from common.knowledge_store import editable_content
from ops.knowledge_export import export


def copy_of_knowledge(tmp_path):
    directory = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, directory)
    return directory


def test_nothing_changed_writes_nothing(tmp_path):
    directory = copy_of_knowledge(tmp_path)
    before = {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()}
    assert export(editable_content(load_knowledge(directory)), directory) == []
    assert {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()} == before


def test_the_published_values_are_written_and_only_those_lines_change(tmp_path):
    directory = copy_of_knowledge(tmp_path)
    content = editable_content(load_knowledge(directory))
    content.update({
        "topic/repayment_failure/answer": "还款失败先看余额：\n\n1. 换卡；\n2. 稍后再试。",
        "topic/login_failure/answer/alipay": "支付宝登录不上，先升级App。",
        "topic/account_locked/title": "账号被锁定",
        "service/alipay/hours": {"open": "08:30", "close": "22:00", "days": "每天", "note": "以App公告为准"},
        "service/tianxing_loan/note": "拨通后说“人工”",
    })
    del content["topic/repayment_failure/answer/alipay"]
    changed = export(content, directory)
    assert len(changed) == 6
    load_knowledge.cache_clear()
    assert editable_content(load_knowledge(directory)) == content
    diff = subprocess.run(["git", "diff", "--no-index", "--numstat", str(KNOWLEDGE_DIR), str(directory)],
                          capture_output=True, text=True).stdout
    added = sum(int(line.split()[0]) for line in diff.splitlines())
    removed = sum(int(line.split()[1]) for line in diff.splitlines())
    assert added <= 16 and removed <= 18, diff  # the changed values, not a rewritten file
    services = (directory / "services.yml").read_text(encoding="utf-8")
    assert 'open: "08:30"' in services and "# The single place an operator edits" in services
    assert "hours: null" in services  # the other services' lines as they were
