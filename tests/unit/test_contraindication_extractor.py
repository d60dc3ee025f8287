"""Tests for the Rasa component clinic_nlu.contraindication_extractor."""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from clinic_nlu.condition_detector import ConditionDetector, TextPipeline
from clinic_nlu.contraindication_extractor import ContraindicationExtractor
from tests.content_edit import set_value, value_at

ROOT = Path(__file__).resolve().parents[2]
RULES_PATH = ROOT / "data" / "content" / "contraindications.yml"
EXTRACTOR = "ContraindicationExtractor"


@pytest.fixture(scope="module")
def pipeline() -> TextPipeline:
    """One spaCy pipeline for the module: building it is the slow part."""
    return TextPipeline()


@pytest.fixture()
def rules_file(tmp_path: Path) -> Path:
    """A copy of the real rules that a test may edit."""
    path = tmp_path / "contraindications.yml"
    shutil.copy(RULES_PATH, path)
    return path


@pytest.fixture()
def create_extractor(
    pipeline: TextPipeline, rules_file: Path
) -> Callable[..., ContraindicationExtractor]:
    def inner(config: Optional[Dict[str, Any]] = None) -> ContraindicationExtractor:
        config = {"rules_path": str(rules_file), **(config or {})}
        detector = ConditionDetector.from_yaml(config["rules_path"], pipeline=pipeline)
        return ContraindicationExtractor(config, detector=detector)

    return inner


def entities_of(message: Message) -> List[Tuple[str, str, Optional[str]]]:
    return [(e["entity"], e["value"], e.get("role")) for e in message.get(ENTITIES, [])]


def process(extractor: ContraindicationExtractor, text: str, **data: Any) -> Message:
    message = Message(data={TEXT: text, **data})
    extractor.process([message])
    return message


def touch_later(path: Path) -> None:
    """Moves the file's modification time on, as a real later save would."""
    status = os.stat(path)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))


# ------------------------------------------------------------------- recipe


def test_registered_as_untrained_entity_extractor() -> None:
    registered = DefaultV1Recipe._from_registry(
        "clinic_nlu.contraindication_extractor.ContraindicationExtractor"
    )
    assert registered.clazz is ContraindicationExtractor
    assert registered.types == {DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR}
    assert registered.is_trainable is False


def test_default_config() -> None:
    assert ContraindicationExtractor.get_default_config() == {
        "rules_path": "data/content/contraindications.yml",
        "reload_on_change": True,
    }


def test_create_through_the_graph_api(tmp_path: Path, rules_file: Path) -> None:
    extractor = ContraindicationExtractor.create(
        {"rules_path": str(rules_file)},
        LocalModelStorage(tmp_path / "storage"),
        Resource("contraindication_extractor"),
        ExecutionContext(GraphSchema({}), "test_model"),
    )
    message = process(extractor, "I'm pregnant")
    assert entities_of(message) == [("condition", "pregnancy", "self")]


def test_create_with_broken_rules_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("conditions: [", encoding="utf-8")
    with pytest.raises(InvalidConfigException, match=r"broken\.yml:1:\d+: YAML syntax error"):
        ContraindicationExtractor.create(
            {"rules_path": str(path)},
            LocalModelStorage(tmp_path / "storage"),
            Resource("contraindication_extractor"),
            ExecutionContext(GraphSchema({}), "test_model"),
        )


# ------------------------------------------------------------------ entities


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I'm pregnant", [("condition", "pregnancy", "self")]),
        ("my mum has a pacemaker, can she do it?", [("condition", "implanted_device", "other")]),
        (
            "I have diabetes and my husband has epilepsy",
            [("condition", "diabetes", "self"), ("condition", "epilepsy", "other")],
        ),
        ("I had botox last week", [("uncovered_condition", "botox", "self")]),
        (
            "she's having a seizure",
            [("urgent_symptom", "seizure_now", None), ("condition", "epilepsy", "other")],
        ),
        (
            "I have chest pain right now",
            [("condition", "heart_problems", "self"), ("urgent_symptom", "chest_pain", None)],
        ),
        # Negated: no condition, but a retraction the planner can read ("not anymore").
        ("I'm not pregnant", [("retracted_condition", "pregnancy", None)]),
        (
            "I don't have epilepsy or diabetes",
            [("retracted_condition", "epilepsy", None), ("retracted_condition", "diabetes", None)],
        ),
        # a side effect asked about, not a disclosure: its own entity, no condition
        ("does it cause chest pain?", [("side_effect_question", "heart_problems", None)]),
        ("What is microcurrent?", []),
        # one entity per (entity, value, role), at its first mention
        ("pregnant, yes, pregnant with twins", [("condition", "pregnancy", "self")]),
    ],
)
def test_entities(
    create_extractor: Callable[..., ContraindicationExtractor],
    text: str,
    expected: List[Tuple[str, str, str]],
) -> None:
    message = process(create_extractor(), text)
    assert entities_of(message) == expected


def test_entity_fields(create_extractor: Callable[..., ContraindicationExtractor]) -> None:
    text = "Hi, I have epilepsy lol"
    message = process(create_extractor(), text)
    assert message.get(ENTITIES) == [
        {
            "entity": "condition",
            "start": 11,
            "end": 19,
            "value": "epilepsy",
            "role": "self",
            "extractor": EXTRACTOR,
        }
    ]
    assert text[11:19] == "epilepsy"


def test_runs_whatever_the_intent(
    create_extractor: Callable[..., ContraindicationExtractor],
) -> None:
    message = process(
        create_extractor(),
        "I have epilepsy lol",
        **{INTENT: {"name": "greet", "confidence": 0.97}},
    )
    assert entities_of(message) == [("condition", "epilepsy", "self")]
    assert message.get(INTENT)["name"] == "greet"


def test_existing_entities_are_kept(
    create_extractor: Callable[..., ContraindicationExtractor],
) -> None:
    earlier = {"entity": "day", "value": "friday", "start": 24, "end": 30, "extractor": "DIET"}
    message = process(
        create_extractor(), "I'm pregnant, can I book friday?", **{ENTITIES: [earlier]}
    )
    assert message.get(ENTITIES)[0] == earlier
    assert entities_of(message) == [("day", "friday", None), ("condition", "pregnancy", "self")]


def test_messages_without_text_are_left_alone(
    create_extractor: Callable[..., ContraindicationExtractor],
) -> None:
    empty = Message(data={TEXT: ""})
    no_text = Message(data={INTENT: {"name": "greet"}})
    create_extractor().process([empty, no_text])
    assert empty.get(ENTITIES) is None
    assert no_text.get(ENTITIES) is None


def test_processes_a_batch(create_extractor: Callable[..., ContraindicationExtractor]) -> None:
    messages = [Message(data={TEXT: t}) for t in ("I'm pregnant", "hello", "I have MS")]
    assert create_extractor().process(messages) is messages
    assert [entities_of(m) for m in messages] == [
        [("condition", "pregnancy", "self")],
        [],
        [("condition", "multiple_sclerosis", "self")],
    ]


# -------------------------------------------------------------------- reload


def test_reloads_when_the_rules_file_changes(
    create_extractor: Callable[..., ContraindicationExtractor], rules_file: Path
) -> None:
    extractor = create_extractor()
    assert entities_of(process(extractor, "I have zorblax syndrome")) == []

    terms = ("conditions", "epilepsy", "terms")  # by id: whatever terms staff keep
    set_value(rules_file, terms, [*value_at(rules_file, terms), "zorblax syndrome"])
    touch_later(rules_file)

    message = process(extractor, "I have zorblax syndrome")
    assert entities_of(message) == [("condition", "epilepsy", "self")]


def test_broken_file_keeps_the_last_good_rules(
    create_extractor: Callable[..., ContraindicationExtractor],
    rules_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    extractor = create_extractor()
    good_text = rules_file.read_text(encoding="utf-8")
    broken_text = re.sub(r"^conditions:\n", "conditions: [\n", good_text, count=1, flags=re.M)
    assert broken_text != good_text
    rules_file.write_text(broken_text, encoding="utf-8")
    touch_later(rules_file)

    with caplog.at_level(logging.ERROR):
        first = process(extractor, "I'm pregnant")
        second = process(extractor, "I have asthma")
    assert entities_of(first) == [("condition", "pregnancy", "self")]
    assert entities_of(second) == [("condition", "asthma", "self")]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, "a broken version is reported once, not per message"
    assert str(rules_file) in errors[0].getMessage()
    assert "keeping the last good rules" in errors[0].getMessage()

    # fixing the file is picked up again
    rules_file.write_text(good_text, encoding="utf-8")
    terms = ("conditions", "epilepsy", "terms")
    set_value(rules_file, terms, [*value_at(rules_file, terms), "zorblax"])
    touch_later(rules_file)
    assert entities_of(process(extractor, "I have zorblax")) == [("condition", "epilepsy", "self")]


def test_deleted_file_keeps_the_last_good_rules(
    create_extractor: Callable[..., ContraindicationExtractor],
    rules_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    extractor = create_extractor()
    rules_file.unlink()
    with caplog.at_level(logging.ERROR):
        message = process(extractor, "I have a pacemaker")
    assert entities_of(message) == [("condition", "implanted_device", "self")]
    assert "the file is missing" in caplog.text and str(rules_file) in caplog.text


def test_reload_can_be_switched_off(
    create_extractor: Callable[..., ContraindicationExtractor], rules_file: Path
) -> None:
    extractor = create_extractor({"reload_on_change": False})
    before = extractor.detector
    rules_file.write_text("broken: [", encoding="utf-8")
    touch_later(rules_file)
    process(extractor, "I'm pregnant")
    assert extractor.detector is before
