"""RulePolicy whose cost per turn does not grow with the length of the conversation.

Rasa's RulePolicy turns the *whole* session into dialogue states on every prediction
(`Domain.states_for_tracker_history` replays every event), although a rule only ever compares
its own few last states with the conversation's. On turn 200 of a session that replay was about
half of the time a message took (reports/bench.md).

`RecentTurnsRulePolicy` predicts exactly what RulePolicy predicts, from the recent part of the
conversation only:

- `RulePolicy._get_possible_keys` checks state i (counted back from the newest) only against
  rules longer than i; states older than the longest rule never change a prediction.
- The state before an action is made of the latest user message, the latest action, the active
  loop and the slots that influence the conversation. This assistant has no forms and no
  featurised slots (every slot has `influence_conversation: false`), so the state before an
  action depends only on the events since the user message before it, and the recent events
  alone give the same recent states.
- An event among the recent ones that rewrites history (a revert, restart, new session or loop
  event) makes the policy use the whole conversation, as RulePolicy does; so do an active loop and
  a domain with forms or featurised slots. Older such events cannot change the recent states.

It also remembers which rules match a given list of recent states (`_get_possible_keys`, a scan of every
rule against every state: about 7 % of the server's CPU time under load). A live conversation's states
repeat (the same intents after the same actions), and the rules of a loaded model never change; training
checks its rules while it builds them, so there nothing is remembered.

`tests/unit/test_recent_turns_policy.py` checks the states and predictions against RulePolicy
turn by turn on long conversations.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Dict, FrozenSet, List, Optional, Set, Tuple

from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    Event,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

# Events after which the applied history is not simply "the events so far".
_REWRITES_HISTORY = (
    ActionReverted, UserUtteranceReverted, Restarted, SessionStarted,
    ActiveLoop, LoopInterrupted, ActionExecutionRejected,
)
# Distinct state lists remembered before starting afresh: far more than a model's rules and intents make.
_MAX_REMEMBERED_MATCHES = 10_000


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class RecentTurnsRulePolicy(RulePolicy):
    """RulePolicy that featurises only as much of the conversation as its longest rule can see."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._states_needed: Optional[int] = None  # computed from the rules on first use
        self._domain_checked: Optional[Domain] = None  # the domain _recent_enough was computed for
        self._recent_enough = False
        self._live_prediction = False  # set while predicting for a live conversation
        self._matches: Dict[Tuple[int, str], FrozenSet[str]] = {}  # (lookup, states) -> matching rule keys

    def _prediction_states(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        use_text_for_last_user_input: bool = False,
        rule_only_data: Optional[Dict[str, Any]] = None,
    ) -> List[State]:
        # Only live conversations: training uses its own tracker class with cached states.
        if (
            type(tracker) is DialogueStateTracker
            and not tracker.active_loop_name
            and self._states_depend_only_on_recent_events(domain)
        ):
            tracker = self._recent_part(tracker)
        return super()._prediction_states(tracker, domain, use_text_for_last_user_input, rule_only_data)

    def _find_action_from_rules(
        self, tracker: DialogueStateTracker, domain: Domain, use_text_for_last_user_input: bool
    ) -> Any:
        self._live_prediction = type(tracker) is DialogueStateTracker  # training's trackers are another class
        try:
            return super()._find_action_from_rules(tracker, domain, use_text_for_last_user_input)
        finally:
            self._live_prediction = False

    def _get_possible_keys(self, lookup: Dict[str, str], states: List[State]) -> Set[str]:
        if not self._live_prediction:
            return super()._get_possible_keys(lookup, states)
        key = (id(lookup), json.dumps(states, sort_keys=True, default=repr))  # a loaded model's lookups live on
        matches = self._matches.get(key)
        if matches is None:
            if len(self._matches) >= _MAX_REMEMBERED_MATCHES:
                self._matches.clear()
            matches = self._matches[key] = frozenset(super()._get_possible_keys(lookup, states))
        return set(matches)

    def _states_depend_only_on_recent_events(self, domain: Domain) -> bool:
        if domain is not self._domain_checked:  # the same model domain on every prediction
            self._recent_enough = not domain.form_names and not any(s.influence_conversation for s in domain.slots)
            self._domain_checked = domain
        return self._recent_enough

    def _longest_rule(self) -> int:
        if self._states_needed is None:
            keys = [*self.lookup.get(RULES, {}), *self.lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {})]
            self._states_needed = max((len(json.loads(key)) for key in keys), default=0)
        return self._states_needed

    def _recent_part(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """A tracker of the newest events: enough of them for the last `longest rule` states.

        Those states are the final one and the ones before each of the last `longest rule - 1`
        actions; each needs the action before it and the user message before that. So: the
        events from the user message before the `longest rule`-th last action onwards.
        """
        actions_needed = self._longest_rule()
        actions_seen = 0
        start: Optional[int] = None
        events = tracker.events
        for index in range(len(events) - 1, -1, -1):
            event: Event = events[index]
            if isinstance(event, _REWRITES_HISTORY):
                return tracker
            if isinstance(event, ActionExecuted):
                actions_seen += 1
            elif isinstance(event, UserUttered) and actions_seen >= actions_needed:
                start = index
                break
        if start is None:  # the conversation is not longer than that: nothing to cut
            return tracker
        return DialogueStateTracker.from_events(
            tracker.sender_id, list(itertools.islice(events, start, None)), slots=tracker.slots.values(),
            max_event_history=tracker._max_event_history,
        )
