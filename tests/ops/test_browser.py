"""An operator using the console in headless Chromium: log in, read the charts, open a conversation,
label an inbox item, retrain, and the new model answers the labelled sentence. A wrong token is refused.

Runs after test_api.py (file order): it changes the inbox and the model in service.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devtools import conversation_mix as mix
from devtools.browser import PageProblems, screenshot, watch
from devtools.browser import log_in as log_in_to
from tests.ops.conftest import TOKEN

CHARTS = ["chart-resolution", "chart-handoffs", "chart-hours", "chart-topics", "chart-trend", "chart-numbers"]
RETRAIN_TIMEOUT_MS = 900_000  # validation + training (4-5 min with the embedding) + loading, niced, 2 busy cores


@pytest.fixture
def problems(page: Page) -> PageProblems:
    found = PageProblems()
    watch(page, found)
    return found


def log_in(page: Page, console, token: str = TOKEN) -> None:
    log_in_to(page, console.url, token)


def painted_pixels(page: Page, chart_id: str) -> int:
    """Pixels ECharts painted in the chart's canvas (0 when the chart is empty or missing)."""
    return page.evaluate(
        """(id) => {
            const canvas = document.querySelector(`#${id} canvas`);
            if (!canvas || !canvas.width) return 0;
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            return painted;
        }""",
        chart_id,
    )


def test_a_wrong_token_is_refused(page: Page, console, problems):
    log_in(page, console, token="not-the-token")
    expect(page.locator("#login-error")).to_contain_text("令牌不对")
    expect(page.locator("#console")).to_be_hidden()
    page.reload()
    expect(page.locator("#login")).to_be_visible()  # the wrong token was not kept
    assert not problems.errors and not problems.csp_violations and not problems.foreign_requests


def test_log_in_and_see_the_figures_drawn(page: Page, console, problems):
    log_in(page, console)
    expect(page.locator("#kpi-conversations .value")).to_have_text(str(mix.EXPECTED["conversations"]))
    expect(page.locator("#kpi-handoffs .value")).to_have_text(str(mix.EXPECTED["handoffs"]))
    expect(page.locator("#kpi-resolution_rate .value")).to_have_text("50.0%")
    expect(page.locator("#scam-table")).to_contain_text("400-812-3456")
    for chart in CHARTS:
        page.wait_for_function("(id) => document.querySelector(`#${id} canvas`)", arg=chart)
        assert painted_pixels(page, chart) > 500, f"{chart} is empty"
    with page.expect_download() as download:
        page.click("#export")
    csv_text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert f"summary,conversations,{mix.EXPECTED['conversations']}" in csv_text
    assert mix.ID_NUMBER not in csv_text

    page.fill("#from", "2020-01-01")  # a custom period with nothing in it
    page.fill("#to", "2020-01-31")
    page.click("#apply-period")
    expect(page.locator("#kpi-conversations .value")).to_have_text("0")
    page.reload()  # the token is kept for the browser session
    expect(page.locator("#kpi-conversations .value")).to_have_text(str(mix.EXPECTED["conversations"]))
    screenshot(page, "ops-dashboard")
    assert not problems.errors and not problems.csp_violations and not problems.foreign_requests


def test_open_a_conversation_from_the_inbox(page: Page, console, senders, problems):
    log_in(page, console)
    page.click("[data-tab=inbox]")
    row = page.locator(".inbox-item", has_text="借呗的钱提不出来")
    row.get_by_text("查看").click()
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text(f"会话 {senders['complaint']}")
    expect(transcript.locator(".turn.user").first).to_contain_text("意图 withdrawal_failure")
    expect(transcript.locator(".turn.bot").last).to_contain_text("95188")
    expect(transcript.locator(".turn.bot").last).to_contain_text("action_answer_problem")
    assert not problems.errors and not problems.csp_violations


def test_all_figures_show_titles_and_a_top_topic_opens_its_conversations(page: Page, console, problems):
    log_in(page, console)
    figures = page.locator("#figures-table")
    expect(figures).to_contain_text("意图 还款失败（repayment_failure）")
    expect(figures).to_contain_text("意图 没听懂（追问）（nlu_fallback）")
    assert page.locator("#from").get_attribute("placeholder") == "2026-11-01"  # typed as 年-月-日, any browser
    page.wait_for_function("() => document.querySelector('#chart-topics canvas')")
    page.wait_for_timeout(1500)  # the bars grow in for a second
    # the first bar (the most asked topic), clicked where ECharts drew it
    x, y = page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.getElementById("chart-topics"));
        const option = chart.getOption();
        return chart.convertToPixel({ seriesIndex: 0 }, [option.series[0].data[0] / 2, 0]);
    }""")
    page.locator("#chart-topics").scroll_into_view_if_needed()
    box = page.locator("#chart-topics").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page.locator("#tab-conversations")).to_be_visible()
    expect(page.locator("#conv-topic")).to_have_value("fraud_check")  # the mix's most asked topic
    expect(page.locator("#conversation-list li")).to_have_count(3)  # the conversations that asked it
    assert not problems.errors and not problems.csp_violations


def test_an_answer_that_was_right_but_not_enough_leads_to_the_knowledge_editor(page: Page, console, problems):
    log_in(page, console)
    page.click("[data-tab=inbox]")
    row = page.locator(".inbox-item", has_text="花呗还不上了")
    expect(row).to_contain_text("答对了但不够（随后用户点了“没解决”）")
    expect(row.locator(".label-select")).to_have_count(0)  # not a training label
    row.get_by_role("button", name="去知识库改答复").click()
    expect(page.locator("#tab-knowledge")).to_be_visible()
    expect(page.locator("#kb-topic-heading")).to_contain_text("repayment_failure")
    expect(page.locator("#kb-answer")).not_to_be_empty()
    assert not problems.errors and not problems.csp_violations


def test_the_conversation_viewer_shows_what_the_customer_saw_and_filters(page: Page, console, senders, problems):
    log_in(page, console)
    page.click("[data-tab=conversations]")
    unresolved = page.locator("#conversation-list li", has_text="花呗还不上了")
    expect(unresolved).to_contain_text("转人工")
    unresolved.click()
    transcript = page.locator("#transcript")
    expect(transcript.locator(".turn.user.clicked")).to_contain_text("没解决，找人工")  # not "/deny"
    expect(transcript).not_to_contain_text("/deny")
    expect(transcript).not_to_contain_text("**")  # answers rendered as the chat page shows them
    expect(transcript.locator(".turn.bot strong").first).not_to_be_empty()
    page.fill("#conv-search", "信用卡")
    page.click("#conv-filter button[type=submit]")
    expect(page.locator("#conversation-list li")).to_have_count(1)
    expect(page.locator("#conversation-list li")).to_contain_text("怎么申请信用卡")
    page.fill("#conv-search", "")
    page.locator("#conv-service").select_option("alipay")
    page.check("#conv-handoff")
    page.click("#conv-filter button[type=submit]")
    expect(page.locator("#conversation-list li")).to_have_count(mix.EXPECTED["products"]["alipay"])
    assert not problems.errors and not problems.csp_violations


def test_label_retrain_and_the_new_model_answers(page: Page, console, assistant, problems):
    log_in(page, console)
    page.click("[data-tab=inbox]")
    row = page.locator(".inbox-item", has_text=mix.UNCLEAR)
    expect(row.locator(".count")).to_have_text("3")
    row.locator(".label-select").select_option("after_sales_repair")
    row.locator(".label-save").click()
    expect(page.locator(".inbox-item", has_text=mix.UNCLEAR)).to_have_count(0)

    page.click("#retrain")
    status = page.locator("#retrain-status")
    expect(status).to_contain_text("正在")
    expect(status).to_have_class("status succeeded", timeout=RETRAIN_TIMEOUT_MS)
    expect(status).to_contain_text("已上线")
    screenshot(page, "ops-retrained")

    replies = mix.say(assistant.url, f"after-retrain-{uuid.uuid4().hex[:8]}", mix.UNCLEAR)
    assert mix.RESOLVED_QUESTION in "\n".join(reply.get("text", "") for reply in replies)  # a self-help answer
    request = urllib.request.Request(f"{assistant.url}/model/parse?token={assistant.auth_token}",
                                     data=json.dumps({"text": mix.UNCLEAR}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["intent"]["name"] == "after_sales_repair"
    with urllib.request.urlopen(f"{assistant.url}/status?token={assistant.auth_token}", timeout=30) as response:
        assert "reviewed-" in json.loads(response.read())["model_file"]
    assert not problems.errors and not problems.csp_violations
