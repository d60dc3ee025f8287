"""``messages.yml``: the fixed messages (``name: text``, and a few blocks such as
``topic_titles`` and ``other_language``), as a mapping of name to value."""

from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from clinic_content.errors import ContentError, ContentLoadError
from clinic_content.fields import check_links, key_line, read_yaml, require_keys, suggest

Messages = Dict[str, Any]

MESSAGE_KEYS = (
    "offer_person",
    "fallback_did_you_mean",
    "fallback_second_miss",
    "talk_to_person_button",
    "anything_else",
    "safety_reminder",
    "contact_phone",
    "contact_email",
    "fallback_nothing_matched",
    "too_long",
    "rate_limited",
    "error_try_again",
    "topic_titles",
    "other_language",
    "follow_up_noted",
    "follow_up_noted_no_contact",
    "no_words",
    "not_covered",
    "not_covered_age",
    "treat_it_unknown",
)


def parse_messages(
    data: Any, path: Path, known_intents: Optional[Set[str]], errors: List[ContentError]
) -> Messages:
    """Check ``messages.yml``: every fixed message present, blocks well-formed, links intact
    (placeholders: ``fields.check_placeholders``)."""
    require_keys(data, path, MESSAGE_KEYS, errors, "messages.yml")
    if not isinstance(data, dict):
        return {}
    for key, value in data.items():
        if key == "other_language":
            if not isinstance(value, dict) or not isinstance(value.get("in_english"), str):
                errors.append(
                    ContentError(
                        path,
                        key_line(data, key),
                        "'other_language' should list notices by language code, with 'in_english'",
                    )
                )
            continue
        if key == "topic_titles":
            if not isinstance(value, dict):
                errors.append(
                    ContentError(
                        path,
                        key_line(data, key),
                        "'topic_titles' should map intent names to short button titles",
                    )
                )
                continue
            for intent in value:
                if known_intents is not None and intent not in known_intents:
                    errors.append(
                        ContentError(
                            path,
                            key_line(value, intent),
                            f"'topic_titles' names '{intent}', which is"
                            f" not an intent.{suggest(intent, known_intents)}",
                        )
                    )
        elif not isinstance(value, (str, dict, list)):
            errors.append(
                ContentError(path, key_line(data, key), f"the message '{key}' should be text")
            )
        elif isinstance(value, str):
            check_links(value, path, key_line(data, key), f"the message '{key}'", errors)
    return dict(data)


def read_texts(path: Path) -> Dict[str, str]:
    """The non-empty texts of a messages file by name, whatever else it holds or lacks: what
    the website channel needs to keep sending its few texts.

    Raises:
        ContentLoadError: the file cannot be read, or is not ``name: text`` lines.
    """
    errors: List[ContentError] = []
    data = read_yaml(Path(path), errors)
    if not errors and not isinstance(data, dict):
        errors.append(ContentError(path, 1, "expected 'name: text' lines"))
    if errors:
        raise ContentLoadError(errors)
    return {k: v for k, v in data.items() if isinstance(v, str) and v.strip()}
