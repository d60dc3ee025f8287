"""RulePolicy's rule lookup started from the rules that can match the latest turn.

Rasa 3.6's ``RulePolicy._get_possible_keys`` filters *every* memorised rule against the latest
conversation state, then the survivors against the state before, and so on. Our model holds
93 rule keys and the policy predicts two or three times per message, so that first pass was
the largest part of the policy's time (docs/benchmarks-levers.md).

A rule can match the latest state only if its own last state agrees on the previous action:
- a rule whose last state has no previous action (a conversation start) matches only a state
  without one, and the other way round (Rasa's ``_is_rule_applicable``);
- a rule whose last state names ``action_name: X`` (a real value, not "should not be set")
  matches only a state whose previous action is X, and one that names the user's
  ``intent: I`` only a state whose user intent is I (``_does_rule_match_state``).
So the rules are grouped once by that action name and intent, and the first pass runs Rasa's
own ``_is_rule_applicable`` on the rules of the matching group (plus the rules without a
definite name or intent, and rules with no states, which always apply). Every later pass, and the
checks themselves, are Rasa's. The result is the same set of keys; a unit test compares it with
Rasa's method on every prefix of every training story and rule.
"""

from typing import Any, Dict, FrozenSet, List, NamedTuple, Set

_ORIGINAL = "_clinic_original_get_possible_keys"


class _Index(NamedTuple):
    keys: FrozenSet[str]
    always: FrozenSet[str]  # rules with no states: applicable at any turn
    starters: FrozenSet[str]  # last state without a previous action
    wildcard: FrozenSet[str]  # previous action without a definite action name
    by_action: Dict[str, "_Group"]


class _Group(NamedTuple):
    """Rules whose last state has one previous action, split by the user intent they name."""

    any_intent: FrozenSet[str]  # no definite user intent in the rule's last state
    by_intent: Dict[str, FrozenSet[str]]


def _build(policy: Any, lookup: Dict[str, str]) -> _Index:
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
    from rasa.shared.nlu.constants import ACTION_NAME, INTENT

    def definite(value: Any) -> bool:  # a value the conversation must have (Rasa's check)
        return isinstance(value, str) and bool(value) and value != SHOULD_NOT_BE_SET

    always, starters, wildcard = set(), set(), set()
    by_action: Dict[str, Dict[Any, Set[str]]] = {}
    for key in lookup:
        states = policy._rule_key_to_state(key)
        if not states:
            always.add(key)
            continue
        previous = states[-1].get(PREVIOUS_ACTION)
        if not previous:
            starters.add(key)
            continue
        name = previous.get(ACTION_NAME)
        if not definite(name):
            wildcard.add(key)
            continue
        intent = (states[-1].get(USER) or {}).get(INTENT)
        group = by_action.setdefault(name, {})
        group.setdefault(intent if definite(intent) else None, set()).add(key)
    groups = {
        name: _Group(
            frozenset(group.pop(None, ())),
            {intent: frozenset(keys) for intent, keys in group.items()},
        )
        for name, group in by_action.items()
    }
    return _Index(
        frozenset(lookup), frozenset(always), frozenset(starters), frozenset(wildcard), groups
    )


def _index(policy: Any, lookup: Dict[str, str]) -> _Index:
    cache = policy.__dict__.setdefault("_clinic_rule_index", {})
    index = cache.get(id(lookup))
    if index is None or index.keys != lookup.keys():  # rebuilt if the rules ever change
        index = cache[id(lookup)] = _build(policy, lookup)
    return index


def _candidates(index: _Index, latest: Dict[str, Any]) -> FrozenSet[str]:
    from rasa.shared.core.constants import PREVIOUS_ACTION, USER
    from rasa.shared.nlu.constants import ACTION_NAME, INTENT

    previous = latest.get(PREVIOUS_ACTION)
    if not previous:
        return index.always | index.starters
    group = index.by_action.get(previous.get(ACTION_NAME))
    if group is None:
        return index.always | index.wildcard
    intent = (latest.get(USER) or {}).get(INTENT)
    return (
        index.always
        | index.wildcard
        | group.any_intent
        | group.by_intent.get(intent or "", frozenset())
    )


def get_possible_keys(self: Any, lookup: Dict[str, str], states: List[Dict[str, Any]]) -> Set[str]:
    """Same result as Rasa's ``RulePolicy._get_possible_keys``."""
    if not states:
        return set(lookup.keys())
    latest = states[-1]
    possible = {
        key
        for key in _candidates(_index(self, lookup), latest)
        if self._is_rule_applicable(key, 0, latest)
    }
    for turn_index in range(1, len(states)):
        state = states[-1 - turn_index]
        possible = {key for key in possible if self._is_rule_applicable(key, turn_index, state)}
    return possible


def install() -> None:
    """Point ``RulePolicy._get_possible_keys`` at the indexed version (idempotent)."""
    from rasa.core.policies.rule_policy import RulePolicy

    if hasattr(RulePolicy, _ORIGINAL):
        return
    setattr(RulePolicy, _ORIGINAL, RulePolicy._get_possible_keys)
    RulePolicy._get_possible_keys = get_possible_keys
