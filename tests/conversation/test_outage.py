"""With the action server down, the user still gets an apology and the official hotlines."""

import pytest


@pytest.fixture
def action_server_down(assistant):
    assistant.stop_action_server()
    yield
    assistant.start_action_server()


def test_apology_and_hotlines_when_the_action_server_is_down(conversation, action_server_down):
    answer = conversation.text("我的小米贷款还款失败了")
    assert "抱歉" in answer
    assert "400-100-3399" in answer and "400-100-5678" in answer and "95188" in answer


def test_service_resumes_when_the_action_server_is_back(conversation, assistant):
    assert "400-100-3399" in conversation.text("小米贷款客服电话多少")
