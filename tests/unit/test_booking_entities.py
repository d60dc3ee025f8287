"""Tests for clinic_nlu.booking_entities: services from booking.yml, days and times."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from clinic_nlu.booking_entities import BookingEntityExtractor, find_day
from tests.content_edit import set_value, value_at

ROOT = Path(__file__).resolve().parents[2]
BOOKING = ROOT / "data" / "content" / "booking.yml"


@pytest.fixture()
def services_file(tmp_path: Path) -> Path:
    path = tmp_path / "booking.yml"
    shutil.copy(BOOKING, path)
    return path


@pytest.fixture()
def extractor(services_file) -> BookingEntityExtractor:
    return BookingEntityExtractor({"services_path": str(services_file)})


def entities(extractor, text):
    message = Message({TEXT: text})
    extractor.process([message])
    return {e["entity"]: e["value"] for e in message.get(ENTITIES, [])}


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "I'd like to book a 4-D facial on Friday afternoon",
            {"service": "4d_facial_single", "day": "Friday afternoon"},
        ),
        (
            "book the Forever Young membership next week",
            {"service": "forever_young_membership", "day": "next week"},
        ),
        (
            "can I book clearskin for 12 March at 3pm",
            {"service": "clear_skin_membership", "day": "12 March at 3pm"},
        ),
        ("book me in on 3/12 in the morning", {"day": "3/12 in the morning"}),
        ("tomorrow evening please", {"day": "tomorrow evening"}),
        ("next tuesday at 10:30", {"day": "next tuesday at 10:30"}),
        ("book a laser facial", {}),  # not one of the clinic's services
        ("may I book a session", {}),  # "may" is no month here
        ("does sun damage matter", {}),
    ],
)
def test_services_and_days(extractor, text, expected):
    assert entities(extractor, text) == expected


def test_spans_point_at_the_text(extractor):
    text = "I'd like to book a 4-D facial on Friday afternoon"
    message = Message({TEXT: text})
    extractor.process([message])
    spans = {e["entity"]: text[e["start"] : e["end"]] for e in message.get(ENTITIES)}
    assert spans == {"service": "4-D facial", "day": "Friday afternoon"}
    assert all(e["extractor"] == "BookingEntityExtractor" for e in message.get(ENTITIES))


def test_a_new_synonym_in_booking_yml_works_without_retraining(extractor, services_file):
    assert entities(extractor, "book the glow package") == {}
    words = ("services", "clear_skin_membership", "words")  # by id: whatever words staff keep
    set_value(services_file, words, ["glow package", *value_at(services_file, words)])
    stamp = os.stat(services_file)
    os.utime(services_file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000))
    assert entities(extractor, "book the glow package") == {"service": "clear_skin_membership"}


def test_a_broken_edit_keeps_the_last_good_services(extractor, services_file, caplog):
    services_file.write_text("services: [oops")
    stamp = os.stat(services_file)
    os.utime(services_file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000))
    assert entities(extractor, "book forever young") == {"service": "forever_young_membership"}
    assert "keeping the last good services" in caplog.text


def test_a_missing_file_warns_and_still_finds_days(tmp_path, caplog):
    extractor = BookingEntityExtractor({"services_path": str(tmp_path / "none.yml")})
    assert entities(extractor, "book a 4d facial friday") == {"day": "friday"}
    assert "no service entities" in caplog.text


def test_first_day_expression_only():
    text = "friday works, or maybe monday"
    start, end = find_day(text)
    assert text[start:end] == "friday"
