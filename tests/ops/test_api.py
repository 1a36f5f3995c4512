"""The console's HTTP API on the real page server, reading the real tracker store after the known mix."""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional, Tuple

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from devtools import conversation_mix as mix
from ops.api import ConsoleSettings
from tests.ops.conftest import TOKEN

ENDPOINTS = ["summary", "export.csv", "inbox", "conversations", "conversations/x", "retrain"]


def fallback_threshold() -> float:
    """The FallbackClassifier's threshold in config.yml: a clarified message's topic scored below it."""
    config = Path(__file__).resolve().parents[2] / "config.yml"
    pipeline = yaml.safe_load(config.read_text(encoding="utf-8"))["pipeline"]
    return next(float(step["threshold"]) for step in pipeline if step["name"] == "FallbackClassifier")


def call(console, path: str, token: Optional[str] = TOKEN, body: Any = None,
         method: Optional[str] = None) -> Tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(f"{console.url}/ops/api/{path}", data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", errors="replace")


def call_json(console, path: str, **kwargs: Any) -> Any:
    status, text = call(console, path, **kwargs)
    assert status == 200, f"{path}: {status} {text[:300]}"
    return json.loads(text)


@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN + "x", ""])
def test_every_endpoint_refuses_a_missing_or_wrong_token(console, token):
    for path in ENDPOINTS:
        assert call(console, path, token=token)[0] == 401, path
    for path in ["retrain", "inbox/abc"]:
        assert call(console, path, token=token, body={"intent": "ignore"}, method="POST")[0] == 401, path


def test_the_page_and_echarts_are_served_by_the_project(console):
    with urllib.request.urlopen(f"{console.url}/ops/", timeout=30) as response:
        page = response.read().decode()
    assert "客服运营后台" in page and '<script src="/vendor/echarts.min.js"' in page
    assert "://" not in page  # every script and style from this server, none from a CDN
    with urllib.request.urlopen(f"{console.url}/vendor/echarts.min.js", timeout=30) as response:
        assert b"echarts" in response.read(200_000)


def test_answers_are_not_cached(console):
    request = urllib.request.Request(f"{console.url}/ops/api/summary", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Cache-Control"] == "no-store"


def test_summary_counts_the_known_mix(console):
    figures = call_json(console, "summary")
    for key, expected in mix.EXPECTED.items():
        assert figures[key] == expected, key
    assert set(figures["hours"]) == {str(hour) for hour in range(24)}
    assert figures["period"]["timezone"] == "Asia/Shanghai"
    assert call_json(console, "summary?from=2020-01-01&to=2020-01-31")["conversations"] == 0
    assert call(console, "summary?from=2020-02-01&to=2020-01-01")[0] == 400


def test_no_personal_number_comes_back_from_any_endpoint(console, senders):
    inbox = call_json(console, "inbox")
    responses = [call(console, "summary")[1], call(console, "export.csv")[1], json.dumps(inbox, ensure_ascii=False),
                 call(console, "conversations")[1]]
    responses += [call(console, f"conversations/{sender}")[1] for sender in senders.values()]
    for text in responses:
        assert mix.ID_NUMBER not in text and mix.ID_NUMBER[:10] not in text
        assert mix.MOBILE not in text
    transcript = call_json(console, f"conversations/{senders['id-number']}")["turns"]
    assert transcript[0]["text"] == "我的身份证号是110101********1234，账户被锁了"
    assert transcript[0]["intent"] == "account_locked" and transcript[0]["confidence"] > 0.5
    assert transcript[1]["from"] == "bot" and transcript[1]["action"] == "action_answer_problem"
    assert transcript[1]["buttons"] == ["解决了", "没解决，找人工"]
    # Official numbers stay readable where the user saw them; the scam line is listed in full.
    handoff = call_json(console, f"conversations/{senders['handoff']}")["turns"]
    assert "400-100-5678" in handoff[-1]["text"]
    assert "400-812-3456" in call(console, "export.csv")[1]


def test_export_is_the_periods_figures_as_csv(console):
    status, text = call(console, "export.csv")
    assert status == 200
    rows = [line.split(",") for line in text.lstrip("\ufeff").splitlines()]
    assert rows[0] == ["section", "key", "value"]
    values = {(row[0], row[1]): row[2] for row in rows[1:]}
    assert values[("summary", "conversations")] == str(mix.EXPECTED["conversations"])
    assert values[("summary", "handoffs")] == "4"
    assert values[("products", "alipay")] == "2"
    assert values[("scam_numbers", "400-812-3456")] == "3"


def test_inbox_groups_similar_messages_and_links_their_conversation(console, senders):
    items = call_json(console, "inbox")["items"]
    by_text = {item["text"].rstrip("！").removeprefix("我的"): item for item in items}
    assert {text: (item["reason"], item["count"]) for text, item in by_text.items()} == mix.EXPECTED_INBOX
    assert {text: by_text[text]["signal"] for text in mix.EXPECTED_SIGNALS} == mix.EXPECTED_SIGNALS
    assert {text for text, item in by_text.items() if item["to_knowledge"]} == set(mix.EXPECTED_SIGNALS)
    unclear = by_text[mix.UNCLEAR]
    assert set(unclear) >= {"id", "text", "intent", "confidence", "reason", "count", "conversation"}
    assert unclear["conversation"] in {senders["clarified"], senders["clarified-again"], senders["clarified-similar"]}
    assert 0 < unclear["confidence"] < fallback_threshold()  # the likeliest topic's, below the fallback's


def test_labelling_validates_the_label_and_files_masked_deduplicated_examples(console, training_data, ops_workdir):
    items = {item["text"]: item["id"] for item in call_json(console, "inbox")["items"]}
    assert call(console, f"inbox/{items['怎么申请信用卡']}", body={"intent": "no_such_intent"})[0] == 400
    assert call(console, "inbox/000000000000", body={"intent": "ignore"})[0] == 404

    result = call_json(console, f"inbox/{items['怎么申请信用卡']}", body={"intent": "out_of_scope"})
    assert result["filed"] == 1
    assert call_json(console, f"inbox/{items['我想问个事']}", body={"intent": "ignore"})["filed"] == 0
    remaining = {item["text"] for item in call_json(console, "inbox")["items"]}
    assert "怎么申请信用卡" not in remaining and "我想问个事" not in remaining
    reviewed = load_data(str(training_data / "nlu" / "reviewed.yml")).intent_examples
    assert [(m.get("intent"), m.get("text")) for m in reviewed] == [("out_of_scope", "怎么申请信用卡")]
    decisions = json.loads((ops_workdir / "var" / "ops-decisions.json").read_text(encoding="utf-8"))
    assert decisions["我想问个事"] == "ignore"


def test_a_failed_retrain_keeps_the_model_in_service_and_says_why(console, training_data, assistant):
    """Validation fails (a label the domain does not know): nothing is trained, the old model stays."""
    with urllib.request.urlopen(f"{assistant.url}/status?token={assistant.auth_token}", timeout=30) as response:
        before = json.loads(response.read())["model_file"]
    broken = training_data / "nlu" / "zz-broken.yml"
    broken.write_text('version: "3.1"\nnlu:\n- intent: not_in_the_domain\n  examples: |\n    - 随便说一句话\n',
                      encoding="utf-8")
    try:
        assert call(console, "retrain", body={}, method="POST")[0] == 202
        assert call(console, "retrain", body={}, method="POST")[0] == 409  # one at a time
        status = wait_for_retrain(console, timeout=300)
    finally:
        broken.unlink()
    assert status["state"] == "failed"
    assert "校验" in status["message"] and "原来的模型" in status["message"]
    with urllib.request.urlopen(f"{assistant.url}/status?token={assistant.auth_token}", timeout=30) as response:
        assert json.loads(response.read())["model_file"] == before


def wait_for_retrain(console, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = call_json(console, "retrain")
        if status["state"] != "running":
            return status
        time.sleep(2)
    raise TimeoutError("retraining did not finish")


def test_token_is_generated_once_and_private(tmp_path: Path):
    env = {"OPS_STATE_DIR": str(tmp_path)}
    first = ConsoleSettings.from_env(env)
    assert len(first.token) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "ops-token").st_mode) == 0o600
    assert ConsoleSettings.from_env(env).token == first.token
    assert ConsoleSettings.from_env({**env, "OPS_TOKEN": "given"}).token == "given"
    assert first.retrain.rasa_token == ""  # the Rasa token is read, never invented
    assert not (tmp_path / "rasa-auth-token").exists()
    assert first.retrain.rasa_urls == ("http://127.0.0.1:5005",)
    assert ConsoleSettings.from_env({**env, "RASA_URLS": "http://a:1, http://b:2/"}).retrain.rasa_urls == (
        "http://a:1", "http://b:2")
