"""Rasa NLU component: the service and the day / time a visitor names, as entities.

Add it to ``config.yml`` (anywhere after the tokenizer)::

    - name: clinic_nlu.booking_entities.BookingEntityExtractor
      services_path: data/content/booking.yml

It appends at most one of each, on every message (the slot mappings in ``domain.yml`` only use
them when the message starts booking):

* ``service`` -- value: the service id from ``booking.yml`` whose title, id or one of its
  ``words`` the message names (the longest name found wins, as in ``actions.booking``);
* ``day`` -- value: the day and/or time as typed ("Friday afternoon", "next week", "12 March
  at 3pm", "3/12"), neighbouring pieces joined into one span.

The services are read from the staff-editable ``booking.yml`` when it changes on disk
(``clinic_common.file_watch``; never copied into the training data or code), so a new service or
synonym works without retraining. A broken edit is logged and the last good list stays in use. The
booking form's validators still check both.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from clinic_common.file_watch import ValueFromFiles
from clinic_content.booking import Service, load_booking

logger = logging.getLogger(__name__)

DEFAULT_SERVICES_PATH = "data/content/booking.yml"
ENTITY_SERVICE = "service"
ENTITY_DAY = "day"

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|tues|weds|thurs|fri)"
    r"s?"
)
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?"
# Pieces of a day or time; neighbouring pieces ("next friday" + "afternoon") become one span.
TIME_PIECES = re.compile(
    "|".join(
        [
            # "in two weeks", "2 weeks from now", "a few days from today" (not "4 days ago")
            r"\b(?:in\s+)?(?:a|one|two|three|four|five|six|a\s+couple\s+of|a\s+few|couple|few|\d{1,2})\s+"
            r"(?:weeks?|days?|months?)(?:\s+(?:from\s+(?:now|today|tomorrow)|time))?\b(?!\s+ago)",
            rf"\b(?:next|this|coming)\s+(?:{_WEEKDAY}|week(?:end)?|month)\b",
            rf"\b{_WEEKDAY}\b",
            # "after 5", "before 10am", "around 3:30" (not "after 2 weeks")
            r"\b(?:after|before|around|from|by|at)\s+\d{1,2}(?::\d{2})?(?:\s*(?:am|pm))?\b"
            r"(?!\s*(?:weeks?|days?|months?|years?|people|persons|%))",
            r"\b(?:today|tonight|tomorrow|tmrw|tmr|weekend|the weekend|next week|this week)\b",
            rf"\b{_ORDINAL}\s+(?:of\s+)?{_MONTH}\b",
            rf"\b{_MONTH}\s+{_ORDINAL}\b",
            r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
            r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)",
            r"\b\d{1,2}:\d{2}\b",
            r"\b(?:noon|midday|lunchtime|lunch time)\b",
            r"\b(?:(?:early|late|mid)[\s-]*)?(?:morning|afternoon|evening)s?\b",
            # (last: a longer piece above wins at the same place, "Dec 12" over "Dec")
            # "in March", "early June", "mid-may"; a month alone, except "may", "march" (verbs)
            rf"\b(?:in|early|mid|late|end\s+of|beginning\s+of)[\s-]+{_MONTH}\b",
            rf"\b(?!may\b|march\b){_MONTH}\b",
            r"\b(?:weekends|weekdays|weekday|any\s*time|any\s+day)\b",
            # "saturday the 6th", "the 21st"
            r"\b(?:the\s+)?\d{1,2}(?:st|nd|rd|th)\b"
            r"(?!\s+(?:facial|session|treatment|time|visit|appointment|one|floor|birthday))",
        ]
    ),
    re.IGNORECASE,
)
# What may stand between two pieces of the same day / time ("friday at 3pm", "12 march, 10am").
TIME_GAP = re.compile(
    r"^(?:\s|,|-|\b(?:on|at|in|the|around|about|from|after|or|and|to|by|"
    r"ish|any|a|an|some|sometime|preferably|ideally)\b)*$",
    re.IGNORECASE,
)

# A service name counts only after one of these words (or at the start / after punctuation):
# "a laser facial" is not the clinic's facial, so it gets the service question with buttons.
WORDS_BEFORE_A_SERVICE = {
    "a",
    "an",
    "the",
    "one",
    "1",
    "single",
    "my",
    "for",
    "book",
    "booking",
    "this",
    "that",
    "your",
    "in",
    "me",
    "us",
    "of",
    "with",
    "on",
    "to",
    "try",
    "do",
    "get",
    "have",
    "want",
    "like",
    "please",
    "and",
    "or",
    "just",
    "another",
    "some",
    "is",
    "about",
    "into",
}


class ServiceNames:
    """The service names from booking.yml, matched as whole words, longest first."""

    def __init__(self, services: Sequence[Service]) -> None:
        names: List[Tuple[str, str]] = []
        for service in services:
            for name in [service.id, service.title, *service.words]:
                name = " ".join(name.lower().replace("/", " ").split())
                if name:
                    names.append((name, service.id))
        names.sort(key=lambda pair: -len(pair[0]))
        # Title words that two or more services share ("membership"): a message holding one
        # that the found service's title lacks names a kind, not that service ("the membership
        # with the 4-D facial" is a membership, so which one is asked).
        titles = {
            service.id: set(re.findall(r"[a-z]+", service.title.lower())) for service in services
        }
        counts: Dict[str, int] = {}
        for words in titles.values():
            for word in words:
                counts[word] = counts.get(word, 0) + 1
        self._shared = {
            service_id: {w for w, n in counts.items() if n > 1 and w not in words and len(w) > 3}
            for service_id, words in titles.items()
        }
        self._patterns = [
            (re.compile(r"(?<![a-z0-9])" + re.escape(name) + r"(?![a-z0-9])"), service_id)
            for name, service_id in names
        ]

    @classmethod
    def from_yaml(cls, path: Path) -> ServiceNames:
        """The services of booking.yml as the booking form reads them
        (``clinic_content.booking``); raises ``ContentLoadError`` (a ValueError) naming the file,
        the line and the problem."""
        return cls(load_booking(path).services)

    def find(self, text: str) -> Optional[Tuple[int, int, str]]:
        """(start, end, service id) of the longest service name in the text, if any."""
        lowered = text.lower().replace("/", " ")
        for pattern, service_id in self._patterns:
            for match in pattern.finditer(lowered):
                # the words before it in the same clause ("...then? Forever Young" starts anew)
                clause = re.split(r"[,.;:!?]", lowered[: match.start()])[-1]
                before = re.findall(r"[\w'-]+", clause)
                if not before or before[-1] in WORDS_BEFORE_A_SERVICE:
                    if set(re.findall(r"[a-z]+", lowered)) & self._shared.get(service_id, set()):
                        return None  # "the membership with the 4-D facial": which one?
                    return match.start(), match.end(), service_id
        return None


NO_SERVICES = ServiceNames([])  # until booking.yml first loads: days / times only


NEGATED_PIECE = re.compile(r"\b(?:not|no|isn'?t|can'?t\s+do|cannot\s+do)\s+$", re.IGNORECASE)


def find_day(text: str) -> Optional[Tuple[int, int]]:
    """(start, end) of the first day / time expression, neighbouring pieces joined."""
    span: Optional[Tuple[int, int]] = None
    for match in TIME_PIECES.finditer(text):
        start, end = match.start(), match.end()
        if NEGATED_PIECE.search(text[:start]):
            continue  # "not today, in two weeks"
        while start < end and text[start].isspace():
            start += 1
        if span is None:
            span = (start, end)
        elif TIME_GAP.match(text[span[1] : start]):
            span = (span[0], end)
        else:
            break
    return span


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class BookingEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Extracts the booking service (from booking.yml) and the preferred day / time."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # the staff-editable services file; relative to the directory Rasa starts in
            "services_path": DEFAULT_SERVICES_PATH,
            # re-read it when it changes (one `stat` per batch of messages)
            "reload_on_change": True,
        }

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> BookingEntityExtractor:
        """Creates the component (see parent class for full docstring)."""
        return cls(config)

    def __init__(self, config: Dict[str, Any]) -> None:
        """Loads the services; without them only days / times are extracted (with a warning)."""
        self._config = {**self.get_default_config(), **config}
        self._path = Path(self._config["services_path"])
        self._services: ValueFromFiles[ServiceNames] = ValueFromFiles(
            self._path, lambda: ServiceNames.from_yaml(self._path), errors=(ValueError,)
        )
        reload = self._services.refresh()
        if reload is not None and reload.error is not None:
            logger.warning("%s -- no service entities until the file is fixed.", reload.error)

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends ``service`` / ``day`` entities where the message names them."""
        self._reload_if_changed()
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            entities = self.add_extractor_name(self.entities(text))
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    def entities(self, text: str) -> List[Dict[str, Any]]:
        """The entities of one text (no extractor name)."""
        found = []
        names = self._services.value if self._services.loaded else NO_SERVICES
        service = names.find(text)
        if service:
            found.append(_entity(ENTITY_SERVICE, service[0], service[1], service[2]))
        day = find_day(text)
        if day:
            found.append(_entity(ENTITY_DAY, day[0], day[1], text[day[0] : day[1]]))
        return found

    def _reload_if_changed(self) -> None:
        if not self._config["reload_on_change"]:
            return
        reload = self._services.refresh()  # an outcome once per version of the file
        if reload is None:
            return
        if reload.error is not None:
            logger.error("%s -- keeping the last good services.", reload.error)
        else:
            logger.info("Reloaded booking services from %s.", self._path)


def _entity(kind: str, start: int, end: int, value: str) -> Dict[str, Any]:
    return {
        ENTITY_ATTRIBUTE_TYPE: kind,
        ENTITY_ATTRIBUTE_START: start,
        ENTITY_ATTRIBUTE_END: end,
        ENTITY_ATTRIBUTE_VALUE: value,
    }
