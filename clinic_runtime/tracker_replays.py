"""Two of Rasa's tracker replays per message left out where they cannot change anything.

Rasa rebuilds a conversation's state by replaying its events from the start. Two of those
replays per message are repeats (docs/benchmarks-levers.md, section 27):

1. **RulePolicy's states, computed twice per prediction.** ``RulePolicy._predict`` first looks
   for a rule matching the latest message's *text*, then for one matching its *intent*; each
   look calls ``_prediction_states``, which replays the whole tracker (``_create_states``). The
   two differ only afterwards, in ``_choose_last_user_input``, which deletes the text or the
   intent from the last state. Here, inside one ``_predict`` call (synchronous: the tracker
   cannot change during it), ``_create_states`` is computed once per tracker and arguments,
   and each caller gets its own copy. A state is ``{sub-state name: {feature: str or tuple}}``,
   so copying the two dict levels copies everything that can be changed.
2. **``tracker.copy()`` before every action.** ``MessageProcessor._run_action`` runs the action
   on a copy (another full replay) so that the policy's events can be dropped if the action
   rejects. When the prediction carries no events and the action is ``action_listen`` or a
   custom action (``RemoteAction``: it reads the tracker to build the request and to fill
   response templates, and writes nothing), the copy would equal the tracker and nothing
   writes to either, so the tracker itself is passed. Any other action, or a prediction with
   events, gets Rasa's copy as before.
"""

from typing import Any, Dict, List, Optional

from rasa.core.actions.action import ActionListen, RemoteAction
from rasa.core.featurizers.tracker_featurizers import TrackerFeaturizer
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.processor import MessageProcessor

_INSTALLED = "_clinic_tracker_replays"
# Rule states computed during the running RulePolicy._predict call; None outside one.
_states_this_prediction: Optional[Dict[Any, List[Any]]] = None
# Actions that only read the tracker they are given (checked by tests/unit/test_runtime_levers.py).
READ_ONLY_ACTIONS = (ActionListen, RemoteAction)


def install() -> None:
    """Wrap RulePolicy._predict, TrackerFeaturizer._create_states and _run_action (idempotent)."""
    if getattr(RulePolicy._predict, _INSTALLED, False):
        return
    _install_rule_states_once()
    _install_no_copy_for_read_only_actions()


def _install_rule_states_once() -> None:
    original_predict = RulePolicy._predict
    original_create_states = TrackerFeaturizer._create_states

    def _predict(self, tracker: Any, domain: Any) -> Any:
        global _states_this_prediction
        _states_this_prediction = {}
        try:
            return original_predict(self, tracker, domain)
        finally:
            _states_this_prediction = None

    def _create_states(
        tracker: Any,
        domain: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: Optional[Dict[str, Any]] = None,
    ) -> List[Any]:
        computed = _states_this_prediction
        # The original is read from the attribute at each call: the tests swap it to count calls.
        if computed is None:
            return _create_states.__wrapped_original__(  # type: ignore[attr-defined]
                tracker, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
        key = (
            id(tracker),
            len(tracker.events),
            id(domain),
            omit_unset_slots,
            ignore_rule_only_turns,
            repr(rule_only_data),
        )
        if key not in computed:
            computed[key] = _create_states.__wrapped_original__(  # type: ignore[attr-defined]
                tracker, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
        return states_copy(computed[key])

    _create_states.__wrapped_original__ = original_create_states  # type: ignore[attr-defined]

    setattr(_predict, _INSTALLED, True)
    _predict._clinic_original = original_predict  # type: ignore[attr-defined]  # for the tests
    _predict.__doc__ = original_predict.__doc__
    _create_states.__doc__ = original_create_states.__doc__
    RulePolicy._predict = _predict
    TrackerFeaturizer._create_states = staticmethod(_create_states)


def states_copy(states: List[Dict[str, Dict[str, Any]]]) -> List[Dict[str, Dict[str, Any]]]:
    """A copy sharing nothing mutable: the values inside sub-states are strings or tuples."""
    return [{name: dict(sub_state) for name, sub_state in state.items()} for state in states]


def _install_no_copy_for_read_only_actions() -> None:
    original_run_action = MessageProcessor._run_action

    async def _run_action(
        self, action: Any, tracker: Any, output_channel: Any, nlg: Any, prediction: Any
    ) -> Any:
        if prediction.events or type(action) not in READ_ONLY_ACTIONS:
            return await original_run_action(self, action, tracker, output_channel, nlg, prediction)

        def the_tracker_itself() -> Any:
            del tracker.copy  # once: any later copy() is Rasa's again
            return tracker

        tracker.copy = the_tracker_itself
        try:
            return await original_run_action(self, action, tracker, output_channel, nlg, prediction)
        finally:
            tracker.__dict__.pop("copy", None)

    _run_action.__doc__ = original_run_action.__doc__
    MessageProcessor._run_action = _run_action
