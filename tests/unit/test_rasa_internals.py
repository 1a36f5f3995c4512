"""rasa_server.rasa_internals: the version check, and each patch keeps Rasa's behaviour."""

from __future__ import annotations

import asyncio
import copy
import functools
import gc
import subprocess
import sys
from pathlib import Path

import pytest
import rasa
import rasa.shared.utils.common
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.core.slots import TextSlot
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

from rasa_server import rasa_internals

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_refuses_another_rasa_version_with_a_clear_message():
    rasa_internals.check_rasa_version(rasa_internals.SUPPORTED_RASA)
    with pytest.raises(rasa_internals.UnsupportedRasaVersion, match=r"runs on Rasa 3\.6\.21, and Rasa 3\.7\.0"):
        rasa_internals.check_rasa_version("3.7.0")


def test_the_installed_rasa_is_the_supported_one_and_has_every_private_name_relied_on():
    rasa_internals.install()  # raises otherwise
    for owner, name, _why in rasa_internals.RELIED_ON:
        assert hasattr(rasa_internals.relied_on_owner(owner), name)


def test_install_refuses_a_rasa_that_lost_a_private_name(monkeypatch):
    monkeypatch.setattr(rasa_internals, "RELIED_ON", (("rasa.shared.core.domain.Domain", "no_such_method", "a test"),))
    with pytest.raises(rasa_internals.UnsupportedRasaVersion, match="Domain.no_such_method"):
        rasa_internals.install()


def test_event_classes_resolve_as_rasa_resolves_them():
    rasa_internals.install()
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        expected = next(c for c in rasa.shared.utils.common.all_subclasses(Event) if c.type_name == cls.type_name)
        assert Event.resolve_by_type(cls.type_name) is expected
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", UserUttered) is UserUttered
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_an_event_class_defined_after_install_is_found():
    rasa_internals.install()

    class LateEvent(SlotSet):  # concrete: Rasa skips abstract event classes
        type_name = "late_event_for_test"

    assert Event.resolve_by_type("late_event_for_test") is LateEvent


def test_an_invalid_action_response_is_still_rejected():
    import jsonschema

    rasa_internals.install()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list"})


ACTION_RESPONSES = [
    {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []},
    {"events": [{"event": "bot", "text": "好的", "data": {"buttons": []}, "metadata": {}, "timestamp": None},
                {"event": "followup", "name": "action_listen"}, {"event": "reset_slots"}],
     "responses": [{"text": "好的", "buttons": [{"title": "是", "payload": "/affirm"}]}]},
    {"events": [], "responses": []},
    {"responses": []},
    {},
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "a", "value": 1}]},
    {"events": ["slot"]},
    {"events": [{"event": "slot", "name": "a", "value": 1, "timestamp": "yesterday"}]},
    {"events": [{"event": "user", "text": 5}]},
    {"events": [{"event": "slot", "name": "a"}], "responses": "not a list"},
    {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": ["not an object"]},
]


@pytest.mark.parametrize("response", ACTION_RESPONSES)
def test_an_action_response_is_accepted_or_rejected_as_rasa_decides_with_the_same_error(response):
    import jsonschema

    rasa_internals.install()
    try:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())  # what Rasa 3.6 calls
        rasa_error = None
    except jsonschema.ValidationError as error:
        rasa_error = error
    action = RemoteAction("action_x", None)
    if rasa_error is None:
        assert action._validate_action_result(response)
    else:
        with pytest.raises(jsonschema.ValidationError) as ours:
            action._validate_action_result(response)
        assert ours.value.message.startswith(rasa_error.message + ". Failed to validate Action server response")
        assert list(ours.value.path) == list(rasa_error.path)


def test_domain_emptiness_is_unchanged():
    rasa_internals.install()
    assert Domain.empty().is_empty()
    assert not Domain.load(str(ROOT / "domain.yml")).is_empty()


def test_objects_alive_after_a_model_load_are_frozen_out_of_the_collector():
    loads = []
    load_then_freeze = rasa_internals._freeze_after(lambda agent, path: loads.append(path) or "loaded")
    frozen_before = gc.get_freeze_count()
    try:
        assert load_then_freeze(None, "model.tar.gz") == "loaded"
        assert loads == ["model.tar.gz"]
        assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()
    rasa_internals.install()
    assert Agent.load_model.__cs_assistant_freezes__


def test_a_slot_value_is_replaced_without_counting_as_set():
    slot = TextSlot("product", mappings=[{"type": "custom"}])
    rasa_internals.set_slot_value_quietly(slot, "alipay")
    assert slot.value == "alipay"
    assert not slot.has_been_set


def test_the_socketio_message_handler_is_wrapped_in_place():
    calls = []

    async def handler(sid, data):
        calls.append(("rasa", data))

    class FakeServer:  # only the registry python-socketio keeps: {namespace: {event: handler}}
        handlers = {"/": {"user_uttered": handler}}

    def wrap(inner):
        async def guarded(sid, data):
            calls.append(("guard", data))
            await inner(sid, data)

        return guarded

    rasa_internals.wrap_socketio_handler(FakeServer, "/", "user_uttered", wrap)
    import asyncio

    asyncio.run(FakeServer.handlers["/"]["user_uttered"]("sid", {"message": "你好"}))
    assert calls == [("guard", {"message": "你好"}), ("rasa", {"message": "你好"})]


def test_a_handler_rasa_did_not_register_is_wrapped_from_nothing():
    class FakeServer:
        handlers = {"/": {}}

    rasa_internals.wrap_socketio_handler(FakeServer, "/", "disconnect", lambda inner: ("wrapped", inner))
    assert FakeServer.handlers["/"]["disconnect"] == ("wrapped", None)


def test_the_action_server_gets_the_same_call_with_only_the_current_turns_events():
    from rasa.core.actions.action import RemoteAction as Remote
    from rasa.shared.core.events import ActionExecuted, BotUttered
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
    from rasa.utils.endpoints import EndpointConfig

    domain = Domain.load(str(ROOT / "domain.yml"))
    tracker = DialogueStateTracker("a", domain.slots)
    for text in ("你好", "还款失败"):
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 0.9}))
        tracker.update(BotUttered("您好"))
        tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("人工客服", {"name": "ask_hotline", "confidence": 0.9}))
    tracker.update(ActionExecuted("action_handoff"))
    action = Remote("action_handoff", EndpointConfig("http://127.0.0.1:1", enable_selective_domain=True))
    rasa_internals.install()
    actual = action._action_call_format(tracker, domain)
    assert [e["event"] for e in actual["tracker"].pop("events")] == ["user", "action"]
    assert actual["tracker"]["latest_message"]["text"] == "人工客服"
    everything = tracker.current_state(EventVerbosity.ALL)  # what Rasa itself sends, all events included
    assert len(everything.pop("events")) == 8
    assert actual == {"next_action": "action_handoff", "sender_id": "a", "tracker": everything,
                      "version": rasa.__version__}


# A model naming DIET, loaded as the Rasa server loads one: Rasa's graph runner builds every node of the model.
_LOAD_A_DIET_MODEL = """
import tempfile
from pathlib import Path
from rasa_server import rasa_internals
rasa_internals.serve_without_tensorflow()
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
schema = GraphSchema.from_dict({"nodes": {"run_DIETClassifier0": {
    "needs": {}, "uses": "rasa.nlu.classifiers.diet_classifier.DIETClassifier", "constructor_name": "load",
    "fn": "process", "config": {}, "eager": True, "is_target": True, "is_input": False, "resource": None}}})
DaskGraphRunner(schema, LocalModelStorage(Path(tempfile.mkdtemp())), ExecutionContext(schema))
"""


def test_a_model_with_a_tensorflow_component_fails_to_load_with_a_clear_message():
    # A fresh interpreter: this one has imported TensorFlow already (through rasa.core.agent).
    result = subprocess.run([sys.executable, "-c", _LOAD_A_DIET_MODEL], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert "NeedsTensorFlow: rasa.nlu.classifiers.diet_classifier.DIETClassifier needs TensorFlow" in result.stderr
    assert "stock Rasa" in result.stderr


def _conversation(*extra_events: Event) -> DialogueStateTracker:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet

    domain = Domain.load(str(ROOT / "domain.yml"))
    tracker = DialogueStateTracker("a", domain.slots)
    for text in ("你好", "还款失败"):
        tracker.update(ActionExecuted("action_listen"))
        tracker.update(UserUttered(text, {"name": "greet", "confidence": 0.9}))
        tracker.update(SlotSet("product", "tianxing_loan"))
        tracker.update(BotUttered("您好"))
    for event in extra_events:
        tracker.update(event)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("人工客服", {"name": "ask_hotline", "confidence": 0.9}))
    return tracker


def test_the_events_still_in_effect_are_those_rasa_finds():
    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        UserUtteranceReverted,
    )

    rasa_internals.install()
    rasa_applied_events = DialogueStateTracker.applied_events.__wrapped__
    histories = {
        "plain": (),
        "new session": (SessionStarted(), ActionExecuted("action_listen")),
        "restart": (Restarted(),),
        "user message rewound": (UserUtteranceReverted(),),
        "action undone": (ActionExecuted("action_answer"), ActionReverted()),
        "form": (ActionExecuted("some_form"), ActiveLoop("some_form"), ActionExecuted("some_form"),
                 ActionExecuted("action_listen"), UserUttered("x"), ActionExecuted("some_form"), ActiveLoop(None)),
    }
    for name, extra in histories.items():
        tracker = _conversation(*extra)
        assert tracker.applied_events() == rasa_applied_events(tracker), name
        assert tracker.get_last_event_for(UserUttered).text == "人工客服", name
    assert len(_conversation(SessionStarted()).applied_events()) == 2  # only the new session's
    assert len(_conversation().applied_events()) == 10


def _without_times(events):  # Rasa stamps a prediction's events with the time it applies them
    return [{key: value for key, value in event.items() if key != "timestamp"} for event in events]


def test_an_action_reads_the_same_conversation_and_its_events_are_logged_as_before():
    from rasa.core.actions.action import Action
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.policies.policy import PolicyPrediction
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import BotUttered, DefinePrevUserUtteredFeaturization, SlotSet

    seen = []

    class Answer(Action):
        def name(self) -> str:
            return "action_answer_problem"

        async def run(self, output_channel, nlg, tracker, domain):
            state = tracker.current_state(EventVerbosity.ALL)
            seen.append({**state, "latest_event_time": None, "events": _without_times(state["events"])})
            return [SlotSet("product", "alipay"), BotUttered("好的")]

    domain = Domain.load(str(ROOT / "domain.yml"))
    conversation = _conversation()

    def run(run_action, prediction_events):
        tracker = DialogueStateTracker.from_events("a", copy.deepcopy(list(conversation.events)), domain.slots)
        processor = MessageProcessor.__new__(MessageProcessor)  # _run_action reads only the domain
        processor.domain = domain
        prediction = PolicyPrediction.for_action_name(processor.domain, "action_answer_problem")
        prediction.events = list(prediction_events)
        channel = CollectingOutputChannel()
        asyncio.run(run_action(processor, Answer(), tracker, channel, None, prediction))
        events = _without_times([event.as_dict() for event in tracker.events])
        return seen.pop(), events, tracker.get_slot("product"), channel.messages

    rasa_internals.install()
    for prediction_events in ([], [DefinePrevUserUtteredFeaturization(False)]):
        theirs = run(MessageProcessor._run_action.__wrapped__, prediction_events)
        ours = run(MessageProcessor._run_action, prediction_events)
        assert ours == theirs
        assert ours[2] == "alipay" and ours[3][0]["text"] == "好的"


def test_a_message_is_understood_off_the_event_loop_and_parsed_as_rasa_parses_it():
    """While one message is understood (here a graph run that sleeps, as the embedding waits without the GIL),
    the event loop goes on with other conversations; the parse data is what Rasa's own parse_message gives."""
    import threading
    import time

    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor
    from rasa.shared.nlu.training_data.message import Message

    class SlowNluGraph:
        def __init__(self):
            self.threads = []

        def run(self, inputs, targets):
            self.threads.append(threading.current_thread().name)
            time.sleep(0.3)
            text = inputs["__message__"][0].text
            parsed = Message(data={"text": text})
            parsed.set("intent", {"name": "ask_hotline", "confidence": 0.93}, add_to_output=True)
            return {targets[0]: [parsed]}

    processor = MessageProcessor.__new__(MessageProcessor)  # parse_message reads only these
    processor.http_interpreter = None
    processor.domain = Domain.load(str(ROOT / "domain.yml"))
    processor.model_metadata = type("Metadata", (), {"nlu_target": "run_RegexMessageHandler"})()
    processor.graph_runner = SlowNluGraph()
    message = UserMessage("花呗客服电话多少", sender_id="a")

    async def parse_while_the_loop_ticks(parse_message):
        ticks = []

        async def tick():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.02)

        ticker = asyncio.create_task(tick())
        parse_data = await parse_message(processor, message)
        ticker.cancel()
        return parse_data, len(ticks)

    rasa_internals.install()
    theirs, ticks_on_the_loop = asyncio.run(parse_while_the_loop_ticks(MessageProcessor.parse_message.__wrapped__))
    ours, ticks_off_the_loop = asyncio.run(parse_while_the_loop_ticks(MessageProcessor.parse_message))
    assert ours == theirs
    assert ours["intent"] == {"name": "ask_hotline", "confidence": 0.93} and ours["text"] == "花呗客服电话多少"
    assert processor.graph_runner.threads[0] == threading.main_thread().name
    assert processor.graph_runner.threads[1].startswith("nlu")
    assert ticks_on_the_loop <= 2 and ticks_off_the_loop >= 5  # the loop waited for Rasa's; it went on with ours
    assert "_parse_message_with_graph" not in processor.__dict__


def test_two_messages_are_understood_at_once_each_with_its_own_parse(monkeypatch):
    """With NLU_THREADS=2 two conversations' messages are understood at the same time (each graph run waits
    until the other has started: on one thread the barrier would break), and each gets its own parse data."""
    import threading

    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor
    from rasa.shared.nlu.training_data.message import Message

    both_running = threading.Barrier(2, timeout=10)

    class NluGraphMeetingAnother:
        def run(self, inputs, targets):
            both_running.wait()
            parsed = Message(data={"text": inputs["__message__"][0].text})
            parsed.set("intent", {"name": "greet", "confidence": 0.99}, add_to_output=True)
            return {targets[0]: [parsed]}

    processor = MessageProcessor.__new__(MessageProcessor)
    processor.http_interpreter = None
    processor.domain = Domain.load(str(ROOT / "domain.yml"))
    processor.model_metadata = type("Metadata", (), {"nlu_target": "run_RegexMessageHandler"})()
    processor.graph_runner = NluGraphMeetingAnother()
    monkeypatch.setenv("NLU_THREADS", "2")
    monkeypatch.setattr(rasa_internals, "_nlu_threads", None)
    rasa_internals.install()

    async def two_conversations():
        return await asyncio.gather(*(MessageProcessor.parse_message(processor, UserMessage(text, sender_id=text))
                                      for text in ("你好", "在吗")))

    first, second = asyncio.run(two_conversations())
    assert (first["text"], second["text"]) == ("你好", "在吗")
    assert not both_running.broken


def test_the_number_of_nlu_threads_is_checked(monkeypatch):
    monkeypatch.setenv("NLU_THREADS", "0")
    with pytest.raises(ValueError, match="NLU_THREADS"):
        rasa_internals.nlu_thread_count()
    monkeypatch.delenv("NLU_THREADS")
    assert rasa_internals.nlu_thread_count() == rasa_internals.DEFAULT_NLU_THREADS


class _AddOne:
    """A graph component: its output is its input plus one."""

    @classmethod
    def create(cls, config, model_storage, resource, execution_context):
        return cls()

    def add(self, number):
        return number + 1


def test_a_graph_run_gives_the_same_results_with_each_target_lists_graph_worked_out_once(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    component = type("AddOne", (_AddOne, GraphComponent), {})
    node = functools.partial(SchemaNode, uses=component, constructor_name="create", fn="add", config={})
    schema = GraphSchema({"first": node(needs={"number": "__number__"}), "second": node(needs={"number": "first"}),
                          "other": node(needs={"number": "__number__"})})
    rasa_internals.install()
    runner = DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "test"))
    worked_out = []
    minimal_graph_schema = schema.minimal_graph_schema
    schema.minimal_graph_schema = lambda targets: worked_out.append(list(targets)) or minimal_graph_schema(targets)

    assert runner.run(inputs={"__number__": 1}, targets=["second"]) == {"second": 3}
    assert runner.run(inputs={"__number__": 10}, targets=["second"]) == {"second": 12}  # no input kept
    assert runner.run(inputs={"__number__": 1}, targets=["first", "other"]) == {"first": 2, "other": 2}
    assert runner.run(inputs={"__number__": 5}, targets=["first", "other"]) == {"first": 6, "other": 6}
    assert worked_out == [["second"], ["first", "other"]]
    assert runner.run(inputs={"__number__": 1}, targets=["__number__"]) == {"__number__": 1}  # an input as target


def test_a_node_that_fails_fails_the_graph_run_as_in_rasa(tmp_path):
    from rasa.engine.exceptions import GraphComponentException
    from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    component = type("AddOne", (_AddOne, GraphComponent), {})
    schema = GraphSchema({"first": SchemaNode(needs={"number": "__number__"}, uses=component,
                                              constructor_name="create", fn="add", config={})})
    rasa_internals.install()
    runner = DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "test"))
    with pytest.raises(GraphComponentException, match="Error running graph component for node first"):
        runner.run(inputs={"__number__": "not a number"}, targets=["first"])


def test_action_calls_reuse_one_connection_and_survive_an_action_server_restart():
    """Two calls to an endpoint go over one kept connection, each gets its own answer; after the server
    restarts (its connections gone), the next call still gets through; the sessions close with the server."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    rasa_internals.install()

    async def scenario():
        client_ports = []

        async def echo(request):
            client_ports.append(request.transport.get_extra_info("peername")[1])
            return web.json_response({"got": (await request.json())["n"]})

        async def serve(port=0):
            app = web.Application()
            app.router.add_post("/webhook", echo)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", port)
            await site.start()
            return runner, site._server.sockets[0].getsockname()[1]

        runner, port = await serve()
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        answers = [await endpoint.request(json={"n": n}, method="post") for n in (1, 2)]
        await runner.cleanup()  # the action server restarts: its connections are closed
        runner, _ = await serve(port)
        answers.append(await endpoint.request(json={"n": 3}, method="post"))
        (session,) = [kept for _, kept in rasa_internals._kept_sessions[asyncio.get_running_loop()].values()]
        await rasa_internals.close_kept_sessions()
        await runner.cleanup()
        return answers, client_ports, session.closed

    answers, client_ports, closed = asyncio.run(scenario())
    assert answers == [{"got": 1}, {"got": 2}, {"got": 3}]
    assert client_ports[0] == client_ports[1] != client_ports[2]  # one connection for the first two calls
    assert closed


def test_a_paused_conversation_keeps_its_session_past_the_expiry():
    """Live chat: an hour without a customer message must not start a new session, which would clear the
    pause and let the bot answer during the chat; once the chat is over the session expires as before."""
    from types import SimpleNamespace

    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import ConversationPaused, ConversationResumed

    rasa_internals.hold_paused_sessions()
    rasa_internals.hold_paused_sessions()  # idempotent
    processor = SimpleNamespace(domain=Domain.from_dict({"session_config": {"session_expiration_time": 1}}))
    long_ago = UserUttered("转人工", timestamp=1.0)
    paused = DialogueStateTracker.from_events("c1", [long_ago, ConversationPaused()])
    assert not MessageProcessor._has_session_expired(processor, paused)
    resumed = DialogueStateTracker.from_events("c1", [long_ago, ConversationPaused(), ConversationResumed()])
    assert MessageProcessor._has_session_expired(processor, resumed)


def test_session_expiration_minutes_replaces_the_domains_expiry_at_each_model_load(monkeypatch):
    from types import SimpleNamespace

    domain = Domain.from_dict({"session_config": {"session_expiration_time": 60,
                                                  "carry_over_slots_to_new_session": True}})
    agent = SimpleNamespace(domain=domain)
    load = rasa_internals._session_expiration_from_env_after(lambda agent, path: "loaded")
    monkeypatch.delenv(rasa_internals.SESSION_EXPIRATION_SETTING, raising=False)
    assert load(agent, "model.tar.gz") == "loaded"
    assert domain.session_config.session_expiration_time == 60  # not set: domain.yml's holds
    monkeypatch.setenv(rasa_internals.SESSION_EXPIRATION_SETTING, "0.1")
    load(agent, "model.tar.gz")
    assert domain.session_config.session_expiration_time == 0.1
    assert domain.session_config.carry_over_slots
    monkeypatch.setenv(rasa_internals.SESSION_EXPIRATION_SETTING, "-1")
    with pytest.raises(ValueError, match="SESSION_EXPIRATION_MINUTES"):
        load(agent, "model.tar.gz")
    rasa_internals.install()
    assert Agent.load_model.__cs_assistant_session_expiration__
