"""Load and check ``contraindications.yml`` into its model
(:mod:`clinic_content.contraindications`).

The file is edited by clinic staff, so every problem is reported as ``file:line: where: what is
wrong`` in plain words. Two layers, both always run: the shape checks every content file gets
(required sections, condition ids, every problem collected), then the reading of each section
into the model (terms, cues, replies that never reassure, a term under one condition only),
which stops at its first problem. Nothing here depends on spaCy or Rasa.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union, cast

from clinic_content.contraindications import (
    AFTER_TREATMENT_REPLIES,
    CONVERSATION_LISTS,
    CONVERSATION_REPLIES,
    KIND_AFTER_TREATMENT,
    KIND_ARTICLE,
    KIND_UNCOVERED,
    KIND_URGENT,
    URGENT_FOLLOW_UP_REPLIES,
    ConditionRule,
    ContraindicationRules,
    find_phrases,
)
from clinic_content.errors import ContentError
from clinic_content.fields import entries, key_line, load_file, require_keys
from clinic_content.paths import CONTRAINDICATIONS_FILE
from clinic_content.placeholder_check import text_problems
from clinic_content.placeholder_names import declared
from clinic_content.placeholders import render

# How clinic_content.placeholder_names names the two replies filled with {label} here.
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
# Urgent cue lists: key -> required? The optional ones: a distant past ("2 years ago") that a
# plain "now" or "still" does not override, and the words of a sudden start that do
# ("suddenly", "just now"), and the words saying it is over ("she's fine now").
URGENT_CUE_LISTS = {
    "now_cues": True,
    "question_cues": True,
    "past_cues": True,
    "distant_past_cues": False,
    "sudden_cues": False,
    "resolved_cues": False,
}
# after_treatment lists: key -> required?
TREATMENT_LISTS = {"treatment_cues": True, "treatment_openers": False, "treatment_words": False}
TOP_LEVEL_KEYS = (
    ("conditions", "uncovered", "urgent", "after_treatment", "generic_reply")
    + tuple(CUE_LISTS)
    + CONVERSATION_LISTS
    + CONVERSATION_REPLIES
)
CONDITION_FIELDS = {"id", "label", "source", "terms", "reply", "not_after", "not_before"}


class _Checker:
    """Reads values out of the parsed YAML, failing with the file name and line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str, line: Optional[int] = None) -> ContentError:
        return ContentError(self.path, line, f"{where}: {problem}")

    def mapping(self, value: Any, where: str, line: Optional[int] = None) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(
                where, f"expected a section with named fields, found {_kind(value)}", line
            )
        return value

    def text(self, value: Any, where: str, line: Optional[int] = None) -> str:
        if isinstance(value, bool):
            raise self.fail(
                where,
                'this is read as true/false: write the word in double quotes, e.g. "no"',
                line,
            )
        if not isinstance(value, str):
            raise self.fail(where, f"must be text in double quotes, found {_kind(value)}", line)
        if not value.strip():
            raise self.fail(where, "must not be empty", line)
        return " ".join(value.split())

    def text_list(
        self, value: Any, where: str, required: bool = True, line: Optional[int] = None
    ) -> Tuple[str, ...]:
        if value is None and not required:
            return ()
        if not isinstance(value, list) or (required and not value):
            raise self.fail(
                where, f'must be a non-empty list like ["a", "b"], found {_kind(value)}', line
            )
        items = [self.text(item, f"{where} item {i + 1}", line) for i, item in enumerate(value)]
        return tuple(dict.fromkeys(items))  # drop repeats, keep order

    def text_lists(
        self, section: Mapping[str, Any], keys: Mapping[str, bool], where: str = ""
    ) -> Dict[str, Tuple[str, ...]]:
        """The lists ``keys`` (name -> required?) of one section, by name."""
        return {
            key: self.text_list(section.get(key), f"{where}{key}", required, _line_of(section, key))
            for key, required in keys.items()
        }

    def texts(
        self,
        section: Mapping[str, Any],
        keys: Tuple[str, ...],
        where: str = "",
        required: bool = False,
    ) -> Dict[str, str]:
        """The texts ``keys`` of one section that it has (all of them when ``required``)."""
        return {
            key: self.text(section.get(key), f"{where}{key}", _line_of(section, key))
            for key in keys
            if required or section.get(key) is not None
        }

    def conditions(
        self,
        value: Any,
        section: str,
        key: str,
        kind: str,
        reply: Optional[str],
        line: Optional[int],
    ) -> List[ConditionRule]:
        """The non-empty list ``key`` of condition blocks in ``section``."""
        if not isinstance(value, list) or not value:
            where = section or key
            raise self.fail(
                where,
                f"needs a non-empty list '{key}'"
                if section
                else "must be a non-empty list of conditions",
                line,
            )
        prefix = f"{section} {key}" if section else key
        return [
            self.condition(entry, f"{prefix}[{i + 1}]", kind, reply)
            for i, entry in enumerate(value)
        ]

    def condition(self, value: Any, where: str, kind: str, reply: Optional[str]) -> ConditionRule:
        line = getattr(value, "line", None)
        entry = self.mapping(value, where, line)
        allowed = CONDITION_FIELDS | ({"always_now"} if kind == KIND_URGENT else set())
        unknown = sorted(set(entry) - allowed, key=str)
        if unknown:
            raise self.fail(where, f"unknown field(s) {unknown}; allowed: {sorted(allowed)}", line)
        for key in ("id", "label", "terms"):
            if key not in entry:
                raise self.fail(where, f"missing field '{key}'", line)
        cid = self.text(entry["id"], f"{where} id", line)
        if not ID_PATTERN.match(cid):
            raise self.fail(
                where,
                f"id '{cid}' must use only small letters, digits and underscores "
                f"(e.g. high_blood_pressure)",
                line,
            )
        where = f"{where} ('{cid}')"
        label = self.text(entry["label"], f"{where} label", line)
        terms = self.text_list(entry["terms"], f"{where} terms", line=line)
        not_after = self.text_list(entry.get("not_after"), f"{where} not_after", False, line)
        not_before = self.text_list(entry.get("not_before"), f"{where} not_before", False, line)
        source = None
        if kind == KIND_ARTICLE:
            if "source" not in entry:
                raise self.fail(where, "missing field 'source' (the article section)", line)
            source = self.text(entry["source"], f"{where} source", line)
        own_reply = None
        if "reply" in entry:
            reply = own_reply = self.text(entry["reply"], f"{where} reply", line)
            if kind == KIND_UNCOVERED:
                _check_placeholders(self, reply, f"{where} reply", UNCOVERED_OWN_REPLY, line)
        if reply is None and kind != KIND_AFTER_TREATMENT:
            raise self.fail(where, "missing field 'reply'", line)
        if kind == KIND_UNCOVERED:
            key = UNCOVERED_OWN_REPLY if own_reply is not None else UNCOVERED_REPLY
            reply = render(cast(str, reply), {"label": label}, where=(CONTRAINDICATIONS_FILE, key))
        always_now = entry.get("always_now", False)
        if not isinstance(always_now, bool):
            raise self.fail(where, "'always_now' should be true or false", line)
        return ConditionRule(
            cid,
            kind,
            label,
            terms,
            reply or "",
            source,
            not_after,
            not_before,
            own_reply,
            always_now,
        )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a section", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _line_of(section: Any, key: str) -> Optional[int]:
    """The line of ``key`` in a block read with line numbers (``yaml_lines``), else None."""
    key_line = getattr(section, "key_line", None)
    return key_line(key) if key_line else None


def _check_placeholders(
    checker: _Checker, text: str, where: str, key: str, line: Optional[int] = None
) -> None:
    """The reply uses only the placeholders declared for it, and no stray curly bracket."""
    problems = text_problems(text, key, declared(CONTRAINDICATIONS_FILE, key))
    if problems:
        raise checker.fail(where, problems[0], line)


def build_rules(data: Any, path: Path) -> ContraindicationRules:
    """Reads every section of already-parsed YAML data into the rules.

    Raises:
        ContentError: the first problem, naming `path`, the line where known, and the place.
    """
    check = _Checker(path)
    top = check.mapping(data, "top level", 1)
    unknown = sorted(set(top) - set(TOP_LEVEL_KEYS), key=str)  # keys may be numbers
    if unknown:
        raise check.fail(
            "top level",
            f"unknown section(s) {unknown}; allowed: {list(TOP_LEVEL_KEYS)}",
            _line_of(top, unknown[0]),
        )
    for key in ("conditions", "uncovered", "urgent"):
        if key not in top:
            raise check.fail("top level", f"missing section '{key}'", 1)

    conditions = check.conditions(
        top["conditions"], "", "conditions", KIND_ARTICLE, None, _line_of(top, "conditions")
    )

    uncovered = check.mapping(top["uncovered"], "uncovered", _line_of(top, "uncovered"))
    template = check.text(uncovered.get("reply"), "uncovered reply", _line_of(uncovered, "reply"))
    _check_placeholders(
        check, template, "uncovered reply", UNCOVERED_REPLY, _line_of(uncovered, "reply")
    )
    conditions += check.conditions(
        uncovered.get("conditions"),
        "uncovered",
        "conditions",
        KIND_UNCOVERED,
        template,
        _line_of(top, "uncovered"),
    )

    urgent = check.mapping(top["urgent"], "urgent", _line_of(top, "urgent"))
    urgent_reply = check.text(urgent.get("reply"), "urgent reply", _line_of(urgent, "reply"))
    conditions += check.conditions(
        urgent.get("symptoms"),
        "urgent",
        "symptoms",
        KIND_URGENT,
        urgent_reply,
        _line_of(top, "urgent"),
    )
    urgent_cues = check.text_lists(urgent, URGENT_CUE_LISTS, "urgent ")
    unknown_urgent = sorted(
        set(urgent) - {"reply", "symptoms", *URGENT_CUE_LISTS, *URGENT_FOLLOW_UP_REPLIES}, key=str
    )
    if unknown_urgent:
        raise check.fail(
            "urgent", f"unknown field(s) {unknown_urgent}", _line_of(urgent, unknown_urgent[0])
        )
    urgent_follow_up = check.texts(urgent, URGENT_FOLLOW_UP_REPLIES, "urgent ")

    treatment_lists: Dict[str, Tuple[str, ...]] = {}
    after_replies: Dict[str, str] = {}
    if top.get("after_treatment") is not None:
        after = check.mapping(
            top["after_treatment"], "after_treatment", _line_of(top, "after_treatment")
        )
        unknown_after = sorted(
            set(after) - {"symptoms", *TREATMENT_LISTS, *AFTER_TREATMENT_REPLIES}, key=str
        )
        if unknown_after:
            raise check.fail(
                "after_treatment",
                f"unknown field(s) {unknown_after}",
                _line_of(after, unknown_after[0]),
            )
        after_replies = check.texts(
            after, AFTER_TREATMENT_REPLIES, "after_treatment ", required=True
        )
        treatment_lists = check.text_lists(after, TREATMENT_LISTS, "after_treatment ")
        conditions += check.conditions(
            after.get("symptoms"),
            "after_treatment",
            "symptoms",
            KIND_AFTER_TREATMENT,
            None,
            _line_of(top, "after_treatment"),
        )
    conversation_lists = check.text_lists(top, dict.fromkeys(CONVERSATION_LISTS, False))
    conversation_replies = check.texts(top, CONVERSATION_REPLIES)

    cues = check.text_lists(top, CUE_LISTS)
    generic_reply = check.texts(top, ("generic_reply",)).get("generic_reply")

    _check_unique(check, conditions)
    other_replies = [("urgent reply", urgent_reply)]
    other_replies += [(f"urgent {key}", text) for key, text in urgent_follow_up.items()]
    other_replies += [(f"after_treatment {key}", text) for key, text in after_replies.items()]
    other_replies += list(conversation_replies.items())
    if generic_reply:
        other_replies.append(("generic_reply", generic_reply))
    _check_replies(check, conditions, other_replies, cues["reassurance_phrases"])

    return ContraindicationRules(
        path=str(path),
        conditions=tuple(conditions),
        uncovered_reply_template=template,
        urgent_reply=urgent_reply,
        generic_reply=generic_reply,
        urgent_follow_up=urgent_follow_up,
        after_treatment_replies=after_replies,
        conversation_replies=conversation_replies,
        **cues,
        **{f"urgent_{key}": value for key, value in urgent_cues.items()},
        **treatment_lists,
        **conversation_lists,
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
                    f'term "{term}"', f"is listed under both '{owner[key]}' and '{rule.id}'"
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


def check_shape(data: Any, path: Path, errors: List[ContentError]) -> None:
    """The checks every content file gets: the required sections, and each article condition a
    block with a text id (used once), a label and a reply; appends every problem."""
    require_keys(
        data,
        path,
        ("conditions", "uncovered", "urgent", "reassurance_phrases"),
        errors,
        "contraindications.yml",
    )
    if not isinstance(data, dict):
        return
    seen: Set[Optional[str]] = set()
    for entry in entries(data, "conditions", path, errors, "a list of conditions ('- id:' blocks)"):
        if not isinstance(entry, dict):
            errors.append(
                ContentError(
                    path,
                    getattr(data, "line", 1),
                    "each condition should be a block starting with '- id:'",
                )
            )
            continue
        condition_id = entry.get("id")
        if condition_id is not None and not isinstance(condition_id, str):
            errors.append(
                ContentError(
                    path,
                    key_line(entry, "id"),
                    "a condition id should be text, e.g. 'id: epilepsy'",
                )
            )
            condition_id = None
        require_keys(
            entry, path, ("id", "label", "reply"), errors, f"condition '{condition_id or '?'}'"
        )
        if condition_id is not None and condition_id in seen:
            errors.append(
                ContentError(
                    path, key_line(entry, "id"), f"the condition id '{condition_id}' is used twice"
                )
            )
        seen.add(condition_id)


def parse_contraindications(
    data: Any, path: Path, errors: List[ContentError]
) -> Optional[ContraindicationRules]:
    """Check ``contraindications.yml`` (both layers, see the module docstring) and build its
    rules; None when it has a problem (each appended to ``errors``)."""
    before = len(errors)
    check_shape(data, path, errors)
    if not isinstance(data, dict):
        return None
    try:
        rules = build_rules(data, path)
    except ContentError as problem:
        # The same problem is already listed with its own line (a placeholder typo, say).
        if not any(problem.message.endswith(": " + known.message) for known in errors):
            errors.append(problem)
        return None
    return rules if len(errors) == before else None


def load_rules(path: Union[str, Path]) -> ContraindicationRules:
    """Reads and checks the rules file on its own, as `make check` does.

    Raises:
        ContentLoadError: naming the file, the line and every problem (missing file, YAML
            syntax error, wrong shape, duplicate ids, reassuring reply...).
    """
    return cast(
        ContraindicationRules,
        load_file(Path(path), parse_contraindications, CONTRAINDICATIONS_FILE),
    )
