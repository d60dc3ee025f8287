"""``answerability.yml``: words a question can hinge on that no answer covers (``hinges``) and
the ages the article speaks of, as the file's mapping (read by ``actions.answerability``)."""

from pathlib import Path
from typing import Any, Dict, List, Set

from clinic_content.errors import ContentError
from clinic_content.fields import FieldSpec, check_fields, entries, key_line, require_keys, suggest

HINGE_FIELDS: FieldSpec = {"id": ((str,), True), "label": ((str,), True), "words": ((list,), True),
                           "covered_by": ((list,), False), "except_with": ((list,), False),
                           "reply": ((str,), False)}


def parse_answerability(data: Any, path: Path, answer_ids: Set[str],
                        errors: List[ContentError]) -> Dict[str, Any]:
    """Check ``answerability.yml``: hinges with words, known answer ids, a sane age range."""
    require_keys(data, path, ("hinges",), errors, "answerability.yml")
    if not isinstance(data, dict):
        return {}
    for position, hinge in enumerate(entries(data, "hinges", path, errors,
                                              "a list of hinges ('- id:' blocks)"), start=1):
        what = f"hinge '{hinge.get('id')}'" if isinstance(hinge, dict) else f"hinge {position}"
        if not check_fields(hinge, HINGE_FIELDS, path, what, errors, key_line(data, "hinges")):
            continue
        for word in hinge["words"]:
            if not isinstance(word, str) or not word.strip():
                errors.append(ContentError(path, hinge.key_line("words"), f"every word of {what}"
                                           " should be text in double quotes"))
        for answer_id in hinge.get("covered_by") or []:
            if answer_id not in answer_ids:
                errors.append(ContentError(path, hinge.key_line("covered_by"), f"{what} names"
                                           f" the answer '{answer_id}', which answers.yml does not"
                                           f" have.{suggest(answer_id, answer_ids)}"))
    ages = data.get("ages")
    if ages is not None and (not isinstance(ages, dict) or not isinstance(ages.get("min"), int)
                             or not isinstance(ages.get("max"), int)
                             or ages["min"] >= ages["max"]):
        errors.append(ContentError(path, key_line(data, "ages"), "'ages' needs a whole-number"
                                   " 'min' below its 'max' (e.g. min: 20, max: 60)"))
    return dict(data)


