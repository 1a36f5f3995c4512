"""The one place that touches Rasa's private internals, for the one Rasa version they were written for.

`serve_without_tensorflow()` and then `install()` run first in the Rasa server's start command
(`python -m rasa_server run …`, rasa_server/__main__.py). The first keeps TensorFlow out of the server
(below). The second refuses to start on any Rasa but SUPPORTED_RASA with a clear message, checks that every
private name the project relies on is still there (RELIED_ON), and installs the patches below. Each patch keeps
Rasa's behaviour and was found by profiling (`make bench`); each has a test in tests/unit/test_rasa_internals.py.

Without TensorFlow: Rasa 3.6 imports TensorFlow on every model load, though no component of our pipeline uses
it: about 340 MB of the server's memory and seconds of its start-up. `serve_without_tensorflow()` replaces
the Rasa modules that import it by stand-ins (TENSORFLOW_ONLY_MODULES) and blocks TensorFlow itself; a model
that does name a TensorFlow component (DIET, TED, ...) then fails to load with NeedsTensorFlow, which says so.
Training our model goes through the same command (`python -m rasa_server train`), without it too.

Patches:
1. Rasa checks every action server response with `jsonschema.validate(result, schema)`. That
   function first validates the *schema itself* against the JSON Schema meta-schema, every call:
   under load this took about a third of the Rasa server's CPU time (reports/bench.md). Here the
   validator is built once per process, and each response is validated exactly as before (same
   schema, same validator class, same best-match error, same message added to it). The check of the
   events was still about 1.3 ms a call: each event is tried against all 23 event types of the schema's
   `oneOf`. Every type pins `event` to its own name, so an event is valid exactly when it matches the
   type its `event` names; a valid response is accepted after checking only that type (0.15 ms), and
   anything else gets the whole schema's check and its error.
2. Every event Rasa reads back (from the tracker store each turn, and from the action server)
   goes through `Event.resolve_by_type`, which walks the whole Event class tree with
   `inspect.isabstract` for each event: about 80 µs per event, so a conversation's cost grew with
   its length. Here the type name -> class table is built once, in the same order with the same
   first-match rule, and rebuilt whenever a new Event subclass is defined.
3. A loaded Rasa server holds about half a million long-lived Python objects (TensorFlow, spaCy,
   the model). Python's cyclic garbage collector walks all of them in every full collection:
   about 0.3-0.6 s with the whole server stopped, a few times a minute under load (the p99 tail).
   After a model is loaded, `gc.freeze()` moves what exists then out of the collector's way;
   garbage made later is still collected as before.
4. For every message Rasa checks `domain.is_empty()`, which builds a whole new empty Domain to
   compare against (about 1 ms). Here the empty domain's dictionary is built once; the comparison
   is the same.
5. Every call to the action server carried the conversation's whole event history, serialised by
   Rasa and parsed again by the SDK: at turn 200 about 350 kB and tens of milliseconds a call, so a
   turn's cost grew with the conversation. Our actions read slots and the latest message, which
   the tracker state carries anyway; here a call carries only the events since the latest user
   message (what an SDK form's validation reads), and everything else exactly as before.
6. Before running each action, Rasa copies the conversation's tracker by replaying every event into a new
   one (`tracker.copy()` in MessageProcessor._run_action), so that events the policy predicted can be
   applied for the action alone and dropped if it rejects them: a few milliseconds per action at turn 200.
   When the policy predicted no events and the action is not a form or other loop (the only actions that
   change the tracker they are given), here the action gets the tracker itself instead of that copy; it
   reads the same state either way.
7. `tracker.applied_events()` (the events not undone by a restart, a new session, a rewind or a form) runs
   a few times per message, twice in the session-expiry check alone, each time over the whole
   conversation with several isinstance checks per event. When the conversation has no rewinds and no
   forms, the answer is simply the events after the latest restart or session start; here that is found
   in one pass with the event classes' kinds cached, and anything else gets Rasa's own method.
8. Rasa understands each message (`MessageProcessor._parse_message_with_graph`: jieba, spaCy, the counts and,
   when they are unsure, the e5 embedding) on the event loop, so the whole server waits for it: the embedding
   is most of a customer's message's CPU time. Here it runs on NLU_THREADS threads of their own (default 2,
   one per core of the machine it was measured on), while the loop goes on with the other conversations'
   tracker reads, policies, action calls and replies. The embedding releases the GIL, so two messages are
   embedded on two cores at once, each on one OpenMP thread (scripts/processes.sh); the pipeline's
   components only read their models, and the one thing they keep between messages, the serving cache of
   meaning vectors, is locked. Everything Rasa does with the result (its log line, the retrieval-intent and
   unseen-feature checks) is unchanged. The CPU time of the NLU and of the policies is added up per stage for
   `make bench` (common/cpu_clock.py).
9. Every graph run (the NLU for each message, the policies for each action) first works out which nodes its
   targets need, `GraphSchema.minimal_graph_schema`: a recursive walk that visits shared nodes again and
   again, about 6 % of the server's CPU time under load. A loaded model's graph never changes, so here each
   target list's graph is worked out once per runner. Dask's local scheduler then ordered and ran those few
   nodes with about as much bookkeeping again; here each node runs once, after the nodes it needs, as dask
   runs them (a need that is no node is passed as it is, as dask passes it). The debug line that prints the
   run's inputs (the whole tracker) is formatted only when debug logging is on.
10. Rasa opens a new HTTP client session, and so a new TCP connection, for every call to the action server
   (`EndpointConfig.request` → `session()`): about 6 % of the server's CPU time under load, and the action
   server accepts a connection per call too. Here an endpoint keeps one session per event loop, configured as
   Rasa configures it, whose connections stay open for KEPT_CONNECTION_SECONDS between calls: less than the
   action server's Sanic keeps an idle connection (5 s), so a connection it closed is never picked again.
   What each request sends and how its answer is read are Rasa's. The sessions close with the server
   (Rasa's `close_resources`, after the server stops).

Helpers for the other modules' private reaches (so that they are all here):
- `set_slot_value_quietly`: the tracker store masks a slot's value in place without it counting as set.
- `wrap_socketio_handler`: the socket.io channel guards the message handler Rasa registered, and live chat
  (live_channel.py) follows which conversations have a socket here.
- `send_socketio_messages_through`: the socket.io channel's answers wait for the page's confirmation
  (page_delivery.py), through the one method all of SocketIOOutput's sends end in.
- `hold_paused_sessions`: live chat's one change to Rasa's behaviour. A session expires an hour after the
  customer's last message (domain.yml); a new session would clear the pause of a live chat in progress (or of
  a 留言 being written) and the bot would answer the customer meant for the agent. A paused conversation's
  session does not expire; it does once the chat is over and the bot is back.

Setting: SESSION_EXPIRATION_MINUTES, when set, replaces domain.yml's `session_config.session_expiration_time` for
the model the server loads (at start and at every hot swap), without retraining: minutes, decimals allowed, 0 for
sessions that never expire. The session-expiry tests run the real server with a few seconds.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import itertools
import os
import sys
import types
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Mapping, Optional, Type

# Only Rasa modules that do not import TensorFlow here: serve_without_tensorflow() must run before any that do.
import rasa
import rasa.shared.utils.common
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.exceptions import RasaException

from common import cpu_clock

if TYPE_CHECKING:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent

# The Rasa these patches and overrides were written and tested against. Another version may have moved
# or changed any of them: port and re-test them before changing this.
SUPPORTED_RASA = "3.6.21"

# Private names that other modules override or call, and why; install() checks they still exist.
# The owners are named, not imported: importing rasa.core here would import TensorFlow before
# serve_without_tensorflow() could prevent it.
RELIED_ON = (
    ("rasa.core.tracker_store.SQLTrackerStore", "_retrieve",
     "rasa_server/tracker_store.py reads a turn in one query and keeps recent trackers"),
    ("rasa.core.tracker_store.SQLTrackerStore", "stream_events",
     "rasa_server/tracker_store.py streams events as Rasa's save does"),
    ("rasa.core.policies.rule_policy.RulePolicy", "_prediction_states",
     "pipeline/policies.py lets the rules read only the recent turns"),
    ("rasa.core.actions.action.RemoteAction", "_validate_action_result", "patch 1"),
    ("rasa.core.actions.action.RemoteAction", "_action_call_format", "patch 5"),
    ("rasa.core.agent.Agent", "load_model", "patch 3"),
    ("rasa.shared.core.domain.Domain", "is_empty", "patch 4"),
    ("rasa.core.processor.MessageProcessor", "_run_action", "patch 6"),
    ("rasa.shared.core.trackers.DialogueStateTracker", "applied_events", "patch 7"),
    ("rasa.core.processor.MessageProcessor", "_parse_message_with_graph", "patch 8"),
    ("rasa.core.processor.MessageProcessor", "parse_message", "patch 8"),
    ("rasa.core.processor.MessageProcessor", "_predict_next_with_tracker", "the policies' CPU clock (patch 8)"),
    ("rasa.engine.runner.dask.DaskGraphRunner", "_build_dask_graph", "patch 9"),
    ("rasa.engine.runner.dask.DaskGraphRunner", "_add_inputs_to_graph", "patch 9"),
    ("rasa.utils.endpoints.EndpointConfig", "session", "patch 10"),
    ("rasa.core.run", "close_resources", "patch 10"),
    ("rasa.core.processor.MessageProcessor", "_has_session_expired", "hold_paused_sessions"),
    ("rasa.core.channels.socketio.SocketIOOutput", "_send_message", "send_socketio_messages_through"),
)

_INSTALLED_FLAG = "_cs_assistant_cached_validator"


class UnsupportedRasaVersion(RuntimeError):
    pass


def check_rasa_version(version: str = rasa.__version__) -> None:
    if version != SUPPORTED_RASA:
        raise UnsupportedRasaVersion(
            f"This assistant runs on Rasa {SUPPORTED_RASA}, and Rasa {version} is installed. "
            f"rasa_server/rasa_internals.py patches Rasa's private internals, which change between versions: "
            f"install rasa=={SUPPORTED_RASA} (make run does), or port and re-test that module first."
        )


def relied_on_owner(path: str) -> Any:
    """The class or module a RELIED_ON entry names."""
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError:
        return rasa.shared.utils.common.class_from_module_path(path)


def _check_relied_on() -> None:
    missing = [
        f"{owner.rsplit('.', 1)[1]}.{name} ({why})"
        for owner, name, why in RELIED_ON
        if not hasattr(relied_on_owner(owner), name)
    ]
    if missing:
        raise UnsupportedRasaVersion("Rasa no longer has: " + "; ".join(missing))


# TensorFlow and the packages built on it. Blocked as Python blocks any import: a None in sys.modules makes
# `import tensorflow` raise ImportError and importlib.util.find_spec() report it as not installed.
TENSORFLOW_PACKAGES = ("tensorflow", "tensorflow_hub", "tensorflow_text", "tensorflow_addons", "keras", "tf_keras")

# The Rasa 3.6.21 modules that import TensorFlow when they are imported: its TensorFlow components (DIET,
# ResponseSelector, TED, UnexpecTED, ConveRT, language models) and their helpers. Rasa imports them whatever
# the model: its list of default components names every one, and the entity extractors' training helpers
# (rasa/utils/train_utils.py) import the callback and data generator modules.
TENSORFLOW_ONLY_MODULES = (
    "rasa.core.policies.ted_policy",
    "rasa.core.policies.unexpected_intent_policy",
    "rasa.nlu.classifiers.diet_classifier",
    "rasa.nlu.featurizers.dense_featurizer.convert_featurizer",
    "rasa.nlu.featurizers.dense_featurizer.lm_featurizer",
    "rasa.nlu.selectors.response_selector",
    "rasa.utils.tensorflow.callback",
    "rasa.utils.tensorflow.crf",
    "rasa.utils.tensorflow.data_generator",
    "rasa.utils.tensorflow.layers",
    "rasa.utils.tensorflow.layers_utils",
    "rasa.utils.tensorflow.metrics",
    "rasa.utils.tensorflow.models",
    "rasa.utils.tensorflow.rasa_layers",
    "rasa.utils.tensorflow.transformer",
    "rasa.utils.tensorflow.types",
)


class NeedsTensorFlow(RasaException):
    pass


def _needs_tensorflow(qualified_name: str) -> NeedsTensorFlow:
    return NeedsTensorFlow(
        f"{qualified_name} needs TensorFlow, which this Rasa server does not load (rasa_server/rasa_internals.py, "
        f"serve_without_tensorflow). Serve a model with TensorFlow components with stock Rasa "
        f"(RASA_COMMAND=.venv/bin/rasa scripts/processes.sh rasa ...)."
    )


class _TensorFlowStandIn(type):
    """The class of a stand-in for a TensorFlow-only Rasa class: naming it works, using it raises NeedsTensorFlow."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):  # Python's own probes (typing, inspect, copy) expect AttributeError
            raise AttributeError(name)
        raise _needs_tensorflow(f"{cls.__module__}.{cls.__qualname__}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise _needs_tensorflow(f"{cls.__module__}.{cls.__qualname__}")


class _TensorFlowOnlyModule(types.ModuleType):
    """Stands in for a Rasa module that imports TensorFlow: each name imported from it is a stand-in class."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        stand_in = _TensorFlowStandIn(name, (), {"__module__": self.__name__, "__qualname__": name})
        setattr(self, name, stand_in)
        return stand_in


def serve_without_tensorflow() -> None:
    """Makes this process run Rasa without importing TensorFlow (about 340 MB of memory, seconds of start-up).

    Must run before Rasa's core is imported. The TensorFlow-only Rasa modules are replaced by stand-ins,
    so Rasa's imports of them still work; loading a model whose config names one of their components
    fails with NeedsTensorFlow."""
    loaded = sorted(name for name in (*TENSORFLOW_PACKAGES, *TENSORFLOW_ONLY_MODULES) if sys.modules.get(name))
    if loaded:
        raise RuntimeError(f"serve_without_tensorflow() ran after {', '.join(loaded)} had been imported")
    for name in TENSORFLOW_PACKAGES:
        sys.modules[name] = None  # type: ignore[assignment]
    for name in TENSORFLOW_ONLY_MODULES:
        sys.modules[name] = _TensorFlowOnlyModule(name)


def set_slot_value_quietly(slot: Any, value: Any) -> None:
    """Replaces a slot's value without Rasa's setter, which would record it as set by the user."""
    slot._value = value


def wrap_socketio_handler(
    sio: Any, namespace: str, event: str,
    wrap: Callable[[Optional[Callable[..., Awaitable[None]]]], Callable[..., Awaitable[None]]],
) -> None:
    """Replaces the handler Rasa's socket.io channel registered for `event` (None if it registered none)
    by `wrap(handler)`.

    python-socketio keeps handlers in `sio.handlers[namespace][event]`; Rasa registers its own in
    SocketIOInput.blueprint and offers no hook around them."""
    handlers = sio.handlers.setdefault(namespace, {})
    handlers[event] = wrap(handlers.get(event))


def send_socketio_messages_through(output: Any, send: Callable[[str, Dict[str, Any]], Awaitable[None]]) -> None:
    """Sends every bot message of this socket.io output channel (text, buttons, attachments) through
    `send(conversation, message)` instead of Rasa's emit to the conversation's room. Rasa builds the output
    channel for each message in SocketIOInput.blueprint; all its send methods end in `_send_message`."""
    output._send_message = send


def hold_paused_sessions() -> None:
    """A paused conversation's session never expires (live chat, see the module's docstring); idempotent."""
    from rasa.core.processor import MessageProcessor

    has_session_expired = MessageProcessor._has_session_expired
    if getattr(has_session_expired, "__cs_assistant_holds_paused__", False):
        return

    @functools.wraps(has_session_expired)
    def unless_paused(self: Any, tracker: DialogueStateTracker) -> bool:
        return not tracker.is_paused() and has_session_expired(self, tracker)

    unless_paused.__cs_assistant_holds_paused__ = True  # type: ignore[attr-defined]
    MessageProcessor._has_session_expired = unless_paused  # type: ignore[method-assign]


class _ActionResponseCheck:
    """Rasa's action response schema, checked once per process (patch 1)."""

    def __init__(self, schema: Dict[str, Any]) -> None:
        from jsonschema.validators import validator_for

        validator_class = validator_for(schema)
        validator_class.check_schema(schema)
        self.whole = validator_class(schema)
        event = schema["properties"]["events"]["items"]
        shared = {key: value for key, value in event.items() if key != "oneOf"}
        self.event_by_type = {
            event_type["properties"]["event"]["const"]: validator_class({"allOf": [shared, event_type]})
            for event_type in event["oneOf"]
        }
        if len(self.event_by_type) != len(event["oneOf"]):
            raise ValueError("two event types of the action response schema share a name")
        without_events = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
        self.without_events = validator_class(without_events)

    def surely_valid(self, result: Any) -> bool:
        """True only if the whole schema accepts `result` (each event checked against its own type only)."""
        if not self.without_events.is_valid(result):
            return False
        for event in result.get("events") or []:
            event_type = self.event_by_type.get(event.get("event")) if isinstance(event, dict) else None
            if event_type is None or not event_type.is_valid(event):
                return False
        return True


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    from jsonschema import exceptions
    from rasa.core.actions.action import RemoteAction

    check = getattr(RemoteAction, _INSTALLED_FLAG, None)
    if check is None:
        check = _ActionResponseCheck(RemoteAction.action_response_format_spec())
        setattr(RemoteAction, _INSTALLED_FLAG, check)
    if check.surely_valid(result):
        return True
    error = exceptions.best_match(check.whole.iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def _action_call_format(self: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> Dict[str, Any]:
    """RemoteAction._action_call_format (Rasa 3.6.21) with only the current turn's events in the tracker."""
    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [event.as_dict() for event in _current_turn_events(tracker)]
    call = {"next_action": self._name, "sender_id": tracker.sender_id, "tracker": state, "version": rasa.__version__}
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        call["domain"] = domain.as_dict()
    return call


def _current_turn_events(tracker: DialogueStateTracker) -> List[Event]:
    """The events from the latest user message on."""
    turn = []
    for event in reversed(tracker.events):
        turn.append(event)
        if isinstance(event, UserUttered):
            break
    return turn[::-1]


_event_classes: Optional[Dict[str, Type[Event]]] = None


def _event_class_table() -> Dict[str, Type[Event]]:
    global _event_classes
    if _event_classes is None:
        table: Dict[str, Type[Event]] = {}
        for cls in rasa.shared.utils.common.all_subclasses(Event):  # Rasa's order: first match wins
            table.setdefault(cls.type_name, cls)
        _event_classes = table
    return _event_classes


def _forget_event_classes(cls: type, **kwargs: Any) -> None:
    global _event_classes
    _event_classes = None


def _resolve_by_type(type_name: str, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Event.resolve_by_type with the class table cached (same results, same errors)."""
    cls = _event_class_table().get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


SESSION_EXPIRATION_SETTING = "SESSION_EXPIRATION_MINUTES"


def session_expiration_from_env(env: Mapping[str, str] = os.environ) -> Optional[float]:
    """SESSION_EXPIRATION_MINUTES as minutes, or None when it is not set (domain.yml's value holds)."""
    value = env.get(SESSION_EXPIRATION_SETTING, "").strip()
    if not value:
        return None
    minutes = float(value)
    if minutes < 0:
        raise ValueError(f"{SESSION_EXPIRATION_SETTING} is minutes, 0 or more, not {value!r}")
    return minutes


def _session_expiration_from_env_after(load_model: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(load_model)
    def load_model_with_session_expiration(self: Agent, *args: Any, **kwargs: Any) -> Any:
        result = load_model(self, *args, **kwargs)
        minutes = session_expiration_from_env()
        if minutes is not None and self.domain is not None:  # the processor's domain, the one Rasa reads
            self.domain.session_config = self.domain.session_config._replace(session_expiration_time=minutes)
        return result

    load_model_with_session_expiration.__cs_assistant_session_expiration__ = True  # type: ignore[attr-defined]
    return load_model_with_session_expiration


def _freeze_after(load_model: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(load_model)
    def load_model_then_freeze(self: Agent, *args: Any, **kwargs: Any) -> Any:
        result = load_model(self, *args, **kwargs)
        gc.collect()  # drop the loading garbage first, then park what is left
        gc.freeze()
        return result

    load_model_then_freeze.__cs_assistant_freezes__ = True  # type: ignore[attr-defined]
    return load_model_then_freeze


def _without_needless_tracker_copy(run_action: Callable[..., Awaitable[bool]]) -> Callable[..., Awaitable[bool]]:
    from rasa.core.actions.loops import LoopAction

    @functools.wraps(run_action)
    async def run_action_on_the_tracker(
        self: Any, action: Any, tracker: DialogueStateTracker, output_channel: Any, nlg: Any, prediction: Any
    ) -> bool:
        if prediction.events or isinstance(action, LoopAction):
            return await run_action(self, action, tracker, output_channel, nlg, prediction)
        # Rasa's _run_action begins with `temporary_tracker = tracker.copy()`: that one call gets the tracker
        # itself; any later copy is a real one again.
        tracker.copy = functools.partial(_the_tracker_itself_once, tracker)  # type: ignore[method-assign]
        try:
            return await run_action(self, action, tracker, output_channel, nlg, prediction)
        finally:
            tracker.__dict__.pop("copy", None)

    run_action_on_the_tracker.__cs_assistant_shares_tracker__ = True  # type: ignore[attr-defined]
    return run_action_on_the_tracker


def _the_tracker_itself_once(tracker: DialogueStateTracker) -> DialogueStateTracker:
    del tracker.copy  # type: ignore[method-assign]
    return tracker


# What an event class means to applied_events(); computed once per class with Rasa's isinstance checks.
_ORDINARY, _RESET, _REWIND, _LOOP = range(4)
_event_kinds: Dict[type, int] = {}


def _event_kind(cls: type) -> int:
    kind = _event_kinds.get(cls)
    if kind is None:
        if issubclass(cls, (Restarted, SessionStarted)):
            kind = _RESET
        elif issubclass(cls, (ActionReverted, UserUtteranceReverted)):
            kind = _REWIND
        elif issubclass(cls, ActiveLoop):
            kind = _LOOP
        else:
            kind = _ORDINARY
        _event_kinds[cls] = kind
    return kind


def _applied_events_without_rewinds(rasa_applied_events: Callable[[DialogueStateTracker], List[Event]]) -> Callable[
    [DialogueStateTracker], List[Event]
]:
    @functools.wraps(rasa_applied_events)
    def applied_events(self: DialogueStateTracker) -> List[Event]:
        events = self.events
        start = 0
        for index, event in enumerate(events):
            kind = _event_kinds.get(type(event))
            if kind is None:
                kind = _event_kind(type(event))
            if kind == _RESET:
                start = index + 1
            elif kind == _REWIND or (kind == _LOOP and event.name):  # type: ignore[attr-defined]
                return rasa_applied_events(self)
        return list(itertools.islice(events, start, None))

    applied_events.__cs_assistant_fast__ = True  # type: ignore[attr-defined]
    return applied_events


_empty_domain_dict: Optional[Dict[str, Any]] = None


def _domain_is_empty(self: Domain) -> bool:
    """Domain.is_empty with the empty domain's dictionary built once (same comparison)."""
    global _empty_domain_dict
    if _empty_domain_dict is None:
        _empty_domain_dict = Domain.empty().as_dict()
    return self.as_dict() == _empty_domain_dict


# Patch 8's threads, made on first use: a Sanic worker is a forked process, and a thread made before the fork
# would not exist in it.
_nlu_threads: Optional[ThreadPoolExecutor] = None
DEFAULT_NLU_THREADS = 2


def nlu_thread_count() -> int:
    """NLU_THREADS from the environment (default 2): how many messages the server understands at once."""
    value = os.environ.get("NLU_THREADS", str(DEFAULT_NLU_THREADS))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"NLU_THREADS must be a whole number from 1, not {value!r}")
    return int(value)


def _parse_clocked(parse: Callable[..., Dict[str, Any]], *args: Any) -> Dict[str, Any]:
    with cpu_clock.clocked("nlu"):
        parse_data = parse(*args)
    cpu_clock.add("messages_understood")
    return parse_data


def _parse_off_the_event_loop(parse_message: Callable[..., Awaitable[Dict[str, Any]]]) -> Callable[
    ..., Awaitable[Dict[str, Any]]
]:
    @functools.wraps(parse_message)
    async def parse_message_on_the_nlu_threads(
        self: Any, message: Any, tracker: Optional[DialogueStateTracker] = None, only_output_properties: bool = True
    ) -> Dict[str, Any]:
        global _nlu_threads
        if self.http_interpreter:  # an NLU server elsewhere: Rasa already awaits it
            return await parse_message(self, message, tracker, only_output_properties)
        if _nlu_threads is None:
            _nlu_threads = ThreadPoolExecutor(max_workers=nlu_thread_count(), thread_name_prefix="nlu")
        if tracker is None:
            tracker = DialogueStateTracker.from_events(message.sender_id, [])
        # The method is looked up here, on the loop: never while the loop has it replaced for a message (below).
        parse_data = await asyncio.get_running_loop().run_in_executor(
            _nlu_threads, _parse_clocked, self._parse_message_with_graph, message, tracker, only_output_properties
        )
        # Rasa's parse_message calls _parse_message_with_graph before its first await, so this one call gets
        # the result made on the thread, and no other coroutine can run in between.
        self._parse_message_with_graph = lambda *args: parse_data
        try:
            return await parse_message(self, message, tracker, only_output_properties)
        finally:
            self.__dict__.pop("_parse_message_with_graph", None)

    parse_message_on_the_nlu_threads.__cs_assistant_off_the_loop__ = True  # type: ignore[attr-defined]
    return parse_message_on_the_nlu_threads


def _policies_clocked(predict: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(predict)
    def predict_clocked(self: Any, tracker: DialogueStateTracker) -> Any:
        with cpu_clock.clocked("policies"):
            return predict(self, tracker)

    predict_clocked.__cs_assistant_clocked__ = True  # type: ignore[attr-defined]
    return predict_clocked


def _run_graph(self: Any, inputs: Optional[Dict[str, Any]] = None, targets: Optional[List[str]] = None) -> Dict[
    str, Any
]:
    """DaskGraphRunner.run with each target list's graph built once and run without dask's scheduler (patch 9)."""
    import logging

    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import logger

    run_targets = targets if targets else self._graph_schema.target_names
    graphs = self.__dict__.setdefault("_graphs_by_targets", {})
    graph = graphs.get(tuple(run_targets))
    if graph is None:
        graph = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
        graphs[tuple(run_targets)] = graph
    run_graph = dict(graph)  # the inputs go into this run's copy only
    if inputs:
        self._add_inputs_to_graph(inputs, run_graph)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(f"Running graph with inputs: {inputs}, targets: {targets} and {self._execution_context}.")
    try:
        done: Dict[str, Any] = {}
        return dict(_run_node(run_graph, target, done) for target in run_targets)  # a node gives (name, output)
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def _run_node(graph: Dict[str, Any], key: Any, done: Dict[str, Any]) -> Any:
    """A dask graph's value for `key`: a task `(node, *needs)` is called with its needs' values; an input
    `(name, value)` and anything that is no key of the graph are values themselves."""
    if not isinstance(key, str) or key not in graph:
        return key
    if key not in done:
        task = graph[key]
        if isinstance(task, tuple) and task and callable(task[0]):
            done[key] = task[0](*(_run_node(graph, need, done) for need in task[1:]))
        else:
            done[key] = task
    return done[key]


# Patch 10: how long a connection to the action server stays open between calls (its Sanic closes it at 5 s).
KEPT_CONNECTION_SECONDS = 2.0
# Per event loop, per endpoint: (the endpoint, weakly, and its session).
_kept_sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _KeptSession:
    """What `async with endpoint.session()` enters: the endpoint's kept session, left open on the way out."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def _kept_session(self: Any) -> _KeptSession:
    """EndpointConfig.session, kept for the endpoint and the running event loop (patch 10)."""
    import aiohttp
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT

    sessions = _kept_sessions.setdefault(asyncio.get_running_loop(), {})
    endpoint, session = sessions.get(id(self), (lambda: None, None))
    if endpoint() is not self or session.closed:
        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
        session = aiohttp.ClientSession(
            headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEPT_CONNECTION_SECONDS),
        )
        sessions[id(self)] = (weakref.ref(self), session)
    return _KeptSession(session)


async def close_kept_sessions() -> None:
    """Closes the sessions patch 10 kept for the running event loop."""
    for _endpoint, session in _kept_sessions.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


def _closing_kept_sessions(close_resources: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    @functools.wraps(close_resources)
    async def close_resources_and_kept_sessions(app: Any, loop: Any) -> None:
        try:
            await close_resources(app, loop)
        finally:
            await close_kept_sessions()

    close_resources_and_kept_sessions.__cs_assistant_closes_sessions__ = True  # type: ignore[attr-defined]
    return close_resources_and_kept_sessions


def install() -> None:
    """Checks the Rasa version and the private names relied on, then installs the ten patches and the
    SESSION_EXPIRATION_MINUTES setting (idempotent)."""
    import rasa.core.run
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.processor import MessageProcessor
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.utils.endpoints import EndpointConfig

    check_rasa_version()
    _check_relied_on()
    if RemoteAction._action_call_format is not _action_call_format:
        RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
    if Domain.is_empty is not _domain_is_empty:
        Domain.is_empty = _domain_is_empty  # type: ignore[method-assign]
    if not getattr(Agent.load_model, "__cs_assistant_freezes__", False):
        Agent.load_model = _freeze_after(Agent.load_model)  # type: ignore[method-assign]
    if not getattr(Agent.load_model, "__cs_assistant_session_expiration__", False):
        Agent.load_model = _session_expiration_from_env_after(Agent.load_model)  # type: ignore[method-assign]
    if not getattr(MessageProcessor._run_action, "__cs_assistant_shares_tracker__", False):
        MessageProcessor._run_action = _without_needless_tracker_copy(MessageProcessor._run_action)  # type: ignore[method-assign]
    if EndpointConfig.session is not _kept_session:
        EndpointConfig.session = _kept_session  # type: ignore[method-assign]
    if not getattr(rasa.core.run.close_resources, "__cs_assistant_closes_sessions__", False):
        rasa.core.run.close_resources = _closing_kept_sessions(rasa.core.run.close_resources)
    if DaskGraphRunner.run is not _run_graph:
        DaskGraphRunner.run = _run_graph  # type: ignore[method-assign]
    if not getattr(MessageProcessor.parse_message, "__cs_assistant_off_the_loop__", False):
        MessageProcessor.parse_message = _parse_off_the_event_loop(MessageProcessor.parse_message)  # type: ignore[method-assign]
    if not getattr(MessageProcessor._predict_next_with_tracker, "__cs_assistant_clocked__", False):
        MessageProcessor._predict_next_with_tracker = _policies_clocked(  # type: ignore[method-assign]
            MessageProcessor._predict_next_with_tracker
        )
    if not getattr(DialogueStateTracker.applied_events, "__cs_assistant_fast__", False):
        DialogueStateTracker.applied_events = _applied_events_without_rewinds(  # type: ignore[method-assign]
            DialogueStateTracker.applied_events
        )
    if RemoteAction._validate_action_result is not _validate_action_result:
        RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    if Event.resolve_by_type is not _resolve_by_type:
        original_init_subclass = Event.__dict__.get("__init_subclass__")

        def __init_subclass__(cls: type, **kwargs: Any) -> None:  # noqa: N807 - the hook's name
            _forget_event_classes(cls)
            if original_init_subclass is not None:
                original_init_subclass.__func__(cls, **kwargs)
            else:
                super(Event, cls).__init_subclass__(**kwargs)

        Event.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[assignment]
        Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign]
