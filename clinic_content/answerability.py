"""``answerability.yml``: words a question can hinge on that no answer covers (``hinges``) and
the ages the article speaks of, and the words some answers need (``topic_words``), as the file's
mapping (read by ``actions.answerability``)."""

from pathlib import Path
from typing import Any, Dict, List, Set

from clinic_content.errors import ContentError
from clinic_content.fields import FieldSpec, check_fields, entries, key_line, require_keys, suggest

HINGE_FIELDS: FieldSpec = {
    "id": ((str,), True),
    "label": ((str,), True),
    "words": ((list,), True),
    "covered_by": ((list,), False),
    "except_with": ((list,), False),
    "reply": ((str,), False),
}


def parse_answerability(
    data: Any, path: Path, answer_ids: Set[str], errors: List[ContentError]
) -> Dict[str, Any]:
    """Check ``answerability.yml``: hinges with words, known answer ids, a sane age range."""
    require_keys(data, path, ("hinges",), errors, "answerability.yml")
    if not isinstance(data, dict):
        return {}
    for position, hinge in enumerate(
        entries(data, "hinges", path, errors, "a list of hinges ('- id:' blocks)"), start=1
    ):
        what = f"hinge '{hinge.get('id')}'" if isinstance(hinge, dict) else f"hinge {position}"
        if not check_fields(hinge, HINGE_FIELDS, path, what, errors, key_line(data, "hinges")):
            continue
        for word in hinge["words"]:
            if not isinstance(word, str) or not word.strip():
                errors.append(
                    ContentError(
                        path,
                        hinge.key_line("words"),
                        f"every word of {what} should be text in double quotes",
                    )
                )
        for answer_id in hinge.get("covered_by") or []:
            if answer_id not in answer_ids:
                errors.append(
                    ContentError(
                        path,
                        hinge.key_line("covered_by"),
                        f"{what} names"
                        f" the answer '{answer_id}', which answers.yml does not"
                        f" have.{suggest(answer_id, answer_ids)}",
                    )
                )
    _check_topic_words(data, path, answer_ids, errors)
    ages = data.get("ages")
    if ages is not None and (
        not isinstance(ages, dict)
        or not isinstance(ages.get("min"), int)
        or not isinstance(ages.get("max"), int)
        or ages["min"] >= ages["max"]
    ):
        errors.append(
            ContentError(
                path,
                key_line(data, "ages"),
                "'ages' needs a whole-number 'min' below its 'max' (e.g. min: 20, max: 60)",
            )
        )
    return dict(data)


def _check_topic_words(
    data: Any, path: Path, answer_ids: Set[str], errors: List[ContentError]
) -> None:
    """``topic_words``: answer ids of answers.yml, each with a list of words in quotes."""
    topic_words = data.get("topic_words")
    if topic_words is None:
        return
    line = key_line(data, "topic_words")
    if not isinstance(topic_words, dict):
        errors.append(
            ContentError(
                path,
                line,
                "'topic_words' should list answer ids, each with"
                ' its words in brackets (safety: ["safe", "risk"])',
            )
        )
        return
    for answer_id, words in topic_words.items():
        where = key_line(topic_words, answer_id) or line
        if answer_ids and answer_id not in answer_ids:  # (none: answers.yml's own error says so)
            errors.append(
                ContentError(
                    path,
                    where,
                    f"topic_words names the answer '{answer_id}',"
                    f" which answers.yml does not have."
                    f"{suggest(answer_id, answer_ids)}",
                )
            )
        if (
            not isinstance(words, list)
            or not words
            or not all(isinstance(w, str) and w.strip() for w in words)
        ):
            errors.append(
                ContentError(
                    path,
                    where,
                    f"the topic words of '{answer_id}' should be a list of words in double quotes",
                )
            )
