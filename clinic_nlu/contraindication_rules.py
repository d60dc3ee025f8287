"""Load and check the staff-editable contraindication rules (YAML).

The file (``data/content/contraindications.yml``) is edited by clinic staff, so
every problem is reported as a ``ValueError`` that names the file and says what
is wrong in plain words. Nothing here depends on spaCy or Rasa.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import yaml

from actions.placeholder_check import text_problems
from actions.placeholder_names import declared
from actions.placeholders import render
from clinic_nlu import reassurance

logger = logging.getLogger(__name__)

KIND_ARTICLE = "article"
KIND_UNCOVERED = "uncovered"
KIND_URGENT = "urgent"
# A symptom after a treatment already had (tingling, redness...): reported only next to a
# treatment cue ("after my facial"); severe ones are urgent symptoms instead.
KIND_AFTER_TREATMENT = "after_treatment"
KINDS = (KIND_ARTICLE, KIND_UNCOVERED, KIND_URGENT, KIND_AFTER_TREATMENT)

# How actions.placeholder_names names the two replies filled with {label} here (the shared
# renderer and checker are plain Python, no Rasa: importing them keeps one set of rules).
RULES_FILE = "contraindications.yml"
UNCOVERED_REPLY = "uncovered.reply"
UNCOVERED_OWN_REPLY = "uncovered.conditions[].reply"

ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

# Top-level cue lists: key -> required?
CUE_LISTS = {
    "negation_cues": True,
    "not_negation_cues": False,
    "scope_breaks": False,
    "first_person_cues": True,
    "third_person_cues": True,
    "side_effect_cues": False,
    "ignore_phrases": False,
    "reassurance_phrases": True,
}
URGENT_CUE_LISTS = ("now_cues", "question_cues", "past_cues")
# Optional urgent cue lists: a distant past ("2 years ago") that a plain "now" or "still" does
# not override, and the words of a sudden start that do ("suddenly", "just now").
OPTIONAL_URGENT_CUE_LISTS = ("distant_past_cues", "sudden_cues")
# Replies used after urgent advice, in later turns of the same conversation.
URGENT_FOLLOW_UP_REPLIES = ("follow_up_reply", "booking_refused_reply", "contact_reply",
                            "reminder")
# Replies to a report about a treatment already had.
AFTER_TREATMENT_REPLIES = ("reply", "follow_up_reply")
# After a disclosure: pushback / self-clearance, and a clear correction of who it is about.
CONVERSATION_LISTS = ("pushback_cues", "correction_cues", "own_health_cues", "follow_up_cues",
                      "treat_it_cues", "medical_cues", "new_topic_cues")
CONVERSATION_REPLIES = ("pushback_reply", "pushback_reply_uncovered", "correction_reply")
TOP_LEVEL_KEYS = (("conditions", "uncovered", "urgent", "after_treatment", "generic_reply")
                  + tuple(CUE_LISTS) + CONVERSATION_LISTS + CONVERSATION_REPLIES)


@dataclass(frozen=True)
class ConditionRule:
    """One condition (or urgent symptom) and the words that name it."""

    id: str
    kind: str
    label: str
    terms: Tuple[str, ...]
    reply: str
    source: Optional[str] = None
    not_after: Tuple[str, ...] = ()
    # words right after a term that make it a thing, not a history ("facelift DEVICES")
    not_before: Tuple[str, ...] = ()
    # urgent symptoms whose words are about now themselves ("is this an emergency?")
    always_now: bool = False


@dataclass(frozen=True)
class ContraindicationRules:
    """Everything read from the rules file, checked and ready to use."""

    path: str
    conditions: Tuple[ConditionRule, ...]
    uncovered_reply_template: str
    urgent_reply: str
    generic_reply: Optional[str]
    negation_cues: Tuple[str, ...]
    not_negation_cues: Tuple[str, ...]
    scope_breaks: Tuple[str, ...]
    first_person_cues: Tuple[str, ...]
    third_person_cues: Tuple[str, ...]
    side_effect_cues: Tuple[str, ...]
    ignore_phrases: Tuple[str, ...]
    reassurance_phrases: Tuple[str, ...]
    urgent_now_cues: Tuple[str, ...]
    urgent_question_cues: Tuple[str, ...]
    urgent_past_cues: Tuple[str, ...]
    urgent_distant_past_cues: Tuple[str, ...] = ()
    urgent_sudden_cues: Tuple[str, ...] = ()
    treatment_cues: Tuple[str, ...] = ()
    treatment_openers: Tuple[str, ...] = ()
    treatment_words: Tuple[str, ...] = ()
    urgent_follow_up: Tuple[Tuple[str, str], ...] = ()
    after_treatment_replies: Tuple[Tuple[str, str], ...] = ()
    pushback_cues: Tuple[str, ...] = ()
    correction_cues: Tuple[str, ...] = ()
    own_health_cues: Tuple[str, ...] = ()
    follow_up_cues: Tuple[str, ...] = ()
    treat_it_cues: Tuple[str, ...] = ()
    medical_cues: Tuple[str, ...] = ()
    new_topic_cues: Tuple[str, ...] = ()
    conversation_replies: Tuple[Tuple[str, str], ...] = ()

    def get(self, condition_id: str) -> ConditionRule:
        """Returns the rule with this id (raises `KeyError` if unknown)."""
        for rule in self.conditions:
            if rule.id == condition_id:
                return rule
        raise KeyError(condition_id)

    def ids(self, kind: Optional[str] = None) -> List[str]:
        """Returns the ids of all rules, or of one kind."""
        return [r.id for r in self.conditions if kind is None or r.kind == kind]

    def reply_for(self, condition_id: str) -> str:
        """Returns what the assistant says about this condition."""
        return self.get(condition_id).reply

    def reassurance_in(self, text: str) -> List[str]:
        """Returns the reassurance phrases found in `text` (whole words, any case)."""
        return find_phrases(text, self.reassurance_phrases)


def find_phrases(text: str, phrases: Tuple[str, ...]) -> List[str]:
    """Returns the phrases that occur in `text` as whole words, ignoring case, quote style and
    spacing (the same matcher as the reply guard: clinic_nlu.reassurance)."""
    return reassurance.find_all(text, phrases)


class _Checker:
    """Reads values out of the parsed YAML, failing with the file name."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ValueError:
        return ValueError(f"{self.path}: {where}: {problem}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a section with named fields, found {_kind(value)}")
        return value

    def text(self, value: Any, where: str) -> str:
        if isinstance(value, bool):
            raise self.fail(
                where,
                "this is read as true/false: write the word in double quotes, e.g. \"no\"",
            )
        if not isinstance(value, str):
            raise self.fail(where, f"must be text in double quotes, found {_kind(value)}")
        if not value.strip():
            raise self.fail(where, "must not be empty")
        return " ".join(value.split())

    def text_list(self, value: Any, where: str, required: bool = True) -> Tuple[str, ...]:
        if value is None and not required:
            return ()
        if not isinstance(value, list) or (required and not value):
            raise self.fail(
                where, f"must be a non-empty list like [\"a\", \"b\"], found {_kind(value)}"
            )
        items = [self.text(item, f"{where} item {i + 1}") for i, item in enumerate(value)]
        return tuple(dict.fromkeys(items))  # drop repeats, keep order

    def condition(self, value: Any, where: str, kind: str, reply: Optional[str]) -> ConditionRule:
        entry = self.mapping(value, where)
        allowed = {"id", "label", "source", "terms", "reply", "not_after", "not_before"}
        if kind == KIND_URGENT:
            allowed.add("always_now")
        unknown = sorted(set(entry) - allowed, key=str)
        if unknown:
            raise self.fail(where, f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")
        for key in ("id", "label", "terms"):
            if key not in entry:
                raise self.fail(where, f"missing field '{key}'")
        cid = self.text(entry["id"], f"{where} id")
        if not ID_PATTERN.match(cid):
            raise self.fail(
                where,
                f"id '{cid}' must use only small letters, digits and underscores "
                f"(e.g. high_blood_pressure)",
            )
        where = f"{where} ('{cid}')"
        label = self.text(entry["label"], f"{where} label")
        terms = self.text_list(entry["terms"], f"{where} terms")
        not_after = self.text_list(entry.get("not_after"), f"{where} not_after", False)
        not_before = self.text_list(entry.get("not_before"), f"{where} not_before", False)
        source = None
        if kind == KIND_ARTICLE:
            if "source" not in entry:
                raise self.fail(where, "missing field 'source' (the article section)")
            source = self.text(entry["source"], f"{where} source")
        if "reply" in entry:
            reply = self.text(entry["reply"], f"{where} reply")
            if kind == KIND_UNCOVERED:
                _check_placeholders(self, reply, f"{where} reply", UNCOVERED_OWN_REPLY)
        if reply is None and kind != KIND_AFTER_TREATMENT:
            raise self.fail(where, "missing field 'reply'")
        if kind == KIND_UNCOVERED:
            key = UNCOVERED_OWN_REPLY if "reply" in entry else UNCOVERED_REPLY
            reply = render(reply, {"label": label}, where=(RULES_FILE, key))
        always_now = entry.get("always_now", False)
        if not isinstance(always_now, bool):
            raise self.fail(where, "'always_now' should be true or false")
        return ConditionRule(cid, kind, label, terms, reply or "", source, not_after, not_before,
                             always_now)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a section", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _check_placeholders(checker: _Checker, text: str, where: str, key: str) -> None:
    """The reply uses only the placeholders declared for it, and no stray curly bracket."""
    problems = text_problems(text, key, declared(RULES_FILE, key))
    if problems:
        raise checker.fail(where, problems[0])


def parse_rules(data: Any, path: Union[str, Path]) -> ContraindicationRules:
    """Checks already-parsed YAML data and builds the rules.

    Raises:
        ValueError: naming `path` and the problem.
    """
    path = str(path)
    check = _Checker(path)
    top = check.mapping(data, "top level")
    unknown = sorted(set(top) - set(TOP_LEVEL_KEYS), key=str)  # keys may be numbers
    if unknown:
        raise check.fail(
            "top level", f"unknown section(s) {unknown}; allowed: {list(TOP_LEVEL_KEYS)}"
        )
    for key in ("conditions", "uncovered", "urgent"):
        if key not in top:
            raise check.fail("top level", f"missing section '{key}'")

    conditions: List[ConditionRule] = []
    if not isinstance(top["conditions"], list) or not top["conditions"]:
        raise check.fail("conditions", "must be a non-empty list of conditions")
    for i, entry in enumerate(top["conditions"]):
        conditions.append(check.condition(entry, f"conditions[{i + 1}]", KIND_ARTICLE, None))

    uncovered = check.mapping(top["uncovered"], "uncovered")
    template = check.text(uncovered.get("reply"), "uncovered reply")
    _check_placeholders(check, template, "uncovered reply", UNCOVERED_REPLY)
    entries = uncovered.get("conditions")
    if not isinstance(entries, list) or not entries:
        raise check.fail("uncovered", "needs a non-empty list 'conditions'")
    for i, entry in enumerate(entries):
        where = f"uncovered conditions[{i + 1}]"
        conditions.append(check.condition(entry, where, KIND_UNCOVERED, template))

    urgent = check.mapping(top["urgent"], "urgent")
    urgent_reply = check.text(urgent.get("reply"), "urgent reply")
    symptoms = urgent.get("symptoms")
    if not isinstance(symptoms, list) or not symptoms:
        raise check.fail("urgent", "needs a non-empty list 'symptoms'")
    for i, entry in enumerate(symptoms):
        where = f"urgent symptoms[{i + 1}]"
        conditions.append(check.condition(entry, where, KIND_URGENT, urgent_reply))
    urgent_cues = {
        key: check.text_list(urgent.get(key), f"urgent {key}", required=True)
        for key in URGENT_CUE_LISTS
    }
    urgent_cues.update({
        key: check.text_list(urgent.get(key), f"urgent {key}", required=False)
        for key in OPTIONAL_URGENT_CUE_LISTS
    })
    unknown_urgent = sorted(set(urgent) - {"reply", "symptoms", *URGENT_CUE_LISTS,
                                           *OPTIONAL_URGENT_CUE_LISTS, *URGENT_FOLLOW_UP_REPLIES},
                            key=str)
    if unknown_urgent:
        raise check.fail("urgent", f"unknown field(s) {unknown_urgent}")
    urgent_follow_up = tuple(
        (key, check.text(urgent[key], f"urgent {key}"))
        for key in URGENT_FOLLOW_UP_REPLIES if urgent.get(key) is not None)

    treatment_cues: Tuple[str, ...] = ()
    treatment_openers: Tuple[str, ...] = ()
    treatment_words: Tuple[str, ...] = ()
    after_replies: Tuple[Tuple[str, str], ...] = ()
    if top.get("after_treatment") is not None:
        after = check.mapping(top["after_treatment"], "after_treatment")
        unknown_after = sorted(set(after) - {"symptoms", "treatment_cues", "treatment_openers",
                                             "treatment_words", *AFTER_TREATMENT_REPLIES},
                               key=str)
        if unknown_after:
            raise check.fail("after_treatment", f"unknown field(s) {unknown_after}")
        after_replies = tuple((key, check.text(after.get(key), f"after_treatment {key}"))
                              for key in AFTER_TREATMENT_REPLIES)
        treatment_cues = check.text_list(after.get("treatment_cues"),
                                         "after_treatment treatment_cues")
        treatment_openers = check.text_list(after.get("treatment_openers"),
                                            "after_treatment treatment_openers", required=False)
        treatment_words = check.text_list(after.get("treatment_words"),
                                          "after_treatment treatment_words", required=False)
        symptoms_after = after.get("symptoms")
        if not isinstance(symptoms_after, list) or not symptoms_after:
            raise check.fail("after_treatment", "needs a non-empty list 'symptoms'")
        for i, entry in enumerate(symptoms_after):
            where = f"after_treatment symptoms[{i + 1}]"
            conditions.append(check.condition(entry, where, KIND_AFTER_TREATMENT, None))
    conversation_lists = {key: check.text_list(top.get(key), key, required=False)
                          for key in CONVERSATION_LISTS}
    conversation_replies = tuple((key, check.text(top[key], key))
                                 for key in CONVERSATION_REPLIES if top.get(key) is not None)

    cues = {
        key: check.text_list(top.get(key), key, required=required)
        for key, required in CUE_LISTS.items()
    }
    generic_reply = None
    if top.get("generic_reply") is not None:
        generic_reply = check.text(top["generic_reply"], "generic_reply")

    _check_unique(check, conditions)
    other_replies = [("urgent reply", urgent_reply)]
    other_replies += [(f"urgent {key}", text) for key, text in urgent_follow_up]
    other_replies += [(f"after_treatment {key}", text) for key, text in after_replies]
    other_replies += list(conversation_replies)
    if generic_reply:
        other_replies.append(("generic_reply", generic_reply))
    _check_replies(check, conditions, other_replies, cues["reassurance_phrases"])

    return ContraindicationRules(
        path=path,
        conditions=tuple(conditions),
        uncovered_reply_template=template,
        urgent_reply=urgent_reply,
        generic_reply=generic_reply,
        negation_cues=cues["negation_cues"],
        not_negation_cues=cues["not_negation_cues"],
        scope_breaks=cues["scope_breaks"],
        first_person_cues=cues["first_person_cues"],
        third_person_cues=cues["third_person_cues"],
        side_effect_cues=cues["side_effect_cues"],
        ignore_phrases=cues["ignore_phrases"],
        reassurance_phrases=cues["reassurance_phrases"],
        urgent_now_cues=urgent_cues["now_cues"],
        urgent_question_cues=urgent_cues["question_cues"],
        urgent_past_cues=urgent_cues["past_cues"],
        urgent_distant_past_cues=urgent_cues["distant_past_cues"],
        urgent_sudden_cues=urgent_cues["sudden_cues"],
        treatment_cues=treatment_cues,
        treatment_openers=treatment_openers,
        treatment_words=treatment_words,
        urgent_follow_up=urgent_follow_up,
        after_treatment_replies=after_replies,
        pushback_cues=conversation_lists["pushback_cues"],
        correction_cues=conversation_lists["correction_cues"],
        own_health_cues=conversation_lists["own_health_cues"],
        follow_up_cues=conversation_lists["follow_up_cues"],
        treat_it_cues=conversation_lists["treat_it_cues"],
        medical_cues=conversation_lists["medical_cues"],
        new_topic_cues=conversation_lists["new_topic_cues"],
        conversation_replies=conversation_replies,
    )


def _check_unique(check: _Checker, conditions: List[ConditionRule]) -> None:
    seen_ids: Dict[str, str] = {}
    for rule in conditions:
        if rule.id in seen_ids:
            raise check.fail(rule.kind, f"id '{rule.id}' is used twice")
        seen_ids[rule.id] = rule.kind
    # A term may name an urgent symptom and a condition ("chest pain"), but not two
    # conditions: the assistant could not tell which one the visitor meant.
    owner: Dict[str, str] = {}
    for rule in conditions:
        if rule.kind in (KIND_URGENT, KIND_AFTER_TREATMENT):
            continue
        for term in rule.terms:
            key = term.lower()
            if key in owner and owner[key] != rule.id:
                raise check.fail(
                    f"term \"{term}\"", f"is listed under both '{owner[key]}' and '{rule.id}'"
                )
            owner[key] = rule.id


def _check_replies(
    check: _Checker,
    conditions: List[ConditionRule],
    other_replies: List[Tuple[str, str]],
    reassurance: Tuple[str, ...],
) -> None:
    replies = [(f"reply of '{r.id}'", r.reply) for r in conditions if r.reply] + other_replies
    for where, reply in replies:
        found = find_phrases(reply, reassurance)
        if found:
            raise check.fail(where, f"contains reassurance {found}; replies must never reassure")


def load_rules(path: Union[str, Path]) -> ContraindicationRules:
    """Reads and checks the rules file.

    Raises:
        ValueError: naming the file and the problem (missing file, YAML syntax
            error with its line, wrong shape, duplicate ids, reassuring reply...).
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error})") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: is not UTF-8 text ({error})") from None
    except RecursionError:  # "[[[[..." thousands deep
        raise ValueError(f"{path}: lists or sections are nested too deeply") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(error, "problem", None) or str(error)
        raise ValueError(f"{path}: {where}: not valid YAML ({problem})") from None
    return parse_rules(data, path)
