"""Tests for clinic_nlu.question_parts: clause splitting, the component's train/persist/load."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from clinic_nlu.question_parts import QuestionPartExtractor
from clinic_nlu.question_splitter import QuestionSplitter, _strong_segments, _weak_boundaries

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def training_data():
    """The real NLU training data (multi-intent examples included: train() must skip them)."""
    return load_data(str(ROOT / "data" / "nlu"))


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> LocalModelStorage:
    return LocalModelStorage(tmp_path_factory.mktemp("storage"))


@pytest.fixture(scope="module")
def trained(training_data, storage) -> QuestionPartExtractor:
    """A component trained on the real data (about 2 s)."""
    context = ExecutionContext(GraphSchema({}), "test")
    component = QuestionPartExtractor.create({}, storage, Resource("question_parts"), context)
    component.train(training_data)
    return component


def parts(component: QuestionPartExtractor, text: str) -> List[str]:
    message = Message({TEXT: text})
    component.process([message])
    return [e["value"] for e in message.get(ENTITIES, []) if e["entity"] == "question_part"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("what is it and how much does it cost?", ["ask_what_is", "ask_price"]),
        ("does it hurt? also how long is a session", ["ask_experience", "ask_session_length"]),
        (
            "How does it work? Is it safe? How many sessions do I need?",
            ["ask_how_it_works", "ask_safety", "ask_number_of_sessions"],
        ),
        ("is it painful what does a session cost", ["ask_experience", "ask_price"]),
    ],
)
def test_two_or_three_questions_give_one_part_each_in_order(trained, text, expected):
    assert parts(trained, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "is it safe for face and neck?",
        "is it suitable for men and women",
        "what's the difference between microcurrent and a facelift",
        "how much is it",
        "Hi there. How much does the 4-D facial cost?",  # a greeting is not a question to answer
        "write me a poem and tell me a joke",  # out of scope: nothing to split
    ],
)
def test_single_questions_get_no_parts(trained, text):
    assert parts(trained, text) == []


def test_parts_carry_the_clause_span_and_confidence(trained):
    text = "does it hurt? also how long is a session"
    message = Message({TEXT: text})
    trained.process([message])
    first, second = [e for e in message.get(ENTITIES) if e["entity"] == "question_part"]
    assert text[first["start"] : first["end"]] == "does it hurt"
    assert text[second["start"] : second["end"]] == "how long is a session"
    assert 0.4 <= first["confidence"] <= 1.0
    assert first["extractor"] == "QuestionPartExtractor"


def test_existing_entities_are_kept(trained):
    message = Message({TEXT: "what is it and how much is it", ENTITIES: [{"entity": "condition"}]})
    trained.process([message])
    assert message.get(ENTITIES)[0] == {"entity": "condition"}
    assert len(message.get(ENTITIES)) == 3


def test_persist_and_load_round_trip(trained, storage):
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = QuestionPartExtractor.load({}, storage, Resource("question_parts"), context)
    assert parts(loaded, "what is it and how much does it cost?") == ["ask_what_is", "ask_price"]


def test_missing_model_warns_and_finds_nothing(tmp_path, caplog):
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = QuestionPartExtractor.load({}, LocalModelStorage(tmp_path), Resource("none"), context)
    assert parts(loaded, "what is it and how much does it cost?") == []
    assert "could not load" in caplog.text


def test_multi_intent_examples_are_not_trained_on(trained):
    assert not [c for c in trained._splitter.pipeline.classes_ if "+" in c]


def test_sentence_ends_always_split():
    text = "Is it safe? It is new. ok"
    assert [text[s:e] for s, e in _strong_segments(text)] == ["Is it safe", " It is new", " ok"]


@pytest.mark.parametrize(
    "text, splits_at",
    [
        ("does it hurt and is it safe", ["and"]),
        ("is it safe for face and neck", []),  # "neck" is no question of its own
        ("can you tell me what it is", []),  # "tell me what" continues the clause
        ("is it painful what does it cost", ["what"]),  # a run-on: a new question word
    ],
)
def test_weak_boundaries_need_a_clause_on_the_right(text, splits_at):
    found = [
        text[right:].split()[0] if left == right else text[left:right].strip()
        for left, right in _weak_boundaries(text, 0, len(text))
    ]
    assert found == splits_at


def test_splitter_caps_the_parts(trained):
    splitter = QuestionSplitter(
        trained._splitter.pipeline,
        threshold=0.4,
        strong_threshold=0.4,
        ignored_intents=[],
        max_parts=2,
    )
    found = splitter.parts("How does it work? Is it safe? How many sessions do I need?")
    assert len(found) == 2


def test_a_disclosure_clause_counts_only_where_the_detector_found_a_condition(trained):
    text = "I have epilepsy, also how long is a session?"
    detected = Message(
        {
            TEXT: text,
            ENTITIES: [{"entity": "condition", "value": "epilepsy", "start": 7, "end": 15}],
        }
    )
    trained.process([detected])
    assert [e["value"] for e in detected.get(ENTITIES) if e["entity"] == "question_part"] == [
        "inform_condition",
        "ask_session_length",
    ]
    assert parts(trained, "I'm 68, will it still work on my skin") == []


# ------------------------------------------------------- persistence (plain data, no pickle)


def _texts_to_compare() -> List[str]:
    import yaml

    texts = []
    for name in ("multi_part.yml", "multi_part_fresh.yml"):
        texts += [
            entry["text"] for entry in yaml.safe_load((ROOT / "tests/nlu" / name).read_text())
        ]
    for name in ("heldout.yml", "heldout_fresh.yml"):
        texts += [m.get(TEXT) for m in load_data(str(ROOT / "tests/nlu" / name)).training_examples]
    return texts


def test_persisted_model_is_numpy_and_json_and_predicts_bit_identically(trained, storage):
    import numpy as np

    with storage.read_from(Resource("question_parts")) as model_dir:
        assert sorted(p.name for p in model_dir.iterdir()) == [
            "question_parts.json",
            "question_parts.npz",
        ]
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = QuestionPartExtractor.load({}, storage, Resource("question_parts"), context)
    texts = _texts_to_compare()
    assert len(texts) > 900
    original, reloaded = trained._splitter.pipeline, loaded._splitter.pipeline
    assert list(reloaded.classes_) == list(original.classes_)
    assert np.array_equal(reloaded.predict_proba(texts), original.predict_proba(texts))
    assert all(trained._splitter.parts(t) == loaded._splitter.parts(t) for t in texts)


def test_a_pickled_array_in_the_model_is_refused(trained, tmp_path, caplog):
    import numpy as np

    from clinic_nlu.question_model_files import ARRAYS_FILE, load_pipeline, save_pipeline

    save_pipeline(trained._splitter.pipeline, tmp_path)
    with np.load(tmp_path / ARRAYS_FILE) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["coef"] = np.array([object()], dtype=object)  # would need pickle to read
    np.savez(tmp_path / ARRAYS_FILE, **arrays)
    with pytest.raises(ValueError):
        load_pipeline(tmp_path)


def test_a_model_with_other_settings_is_not_loaded(trained, tmp_path):
    import json

    from clinic_nlu.question_model_files import META_FILE, load_pipeline, save_pipeline

    save_pipeline(trained._splitter.pipeline, tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    meta["vectorizers"][1]["settings"]["ngram_range"] = [1, 3]
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="settings differ"):
        load_pipeline(tmp_path)


def test_an_older_skops_model_still_loads_with_one_parse(trained, tmp_path, monkeypatch):
    import numpy as np
    import skops.io as sio

    from clinic_nlu.question_model_files import MODEL_FILE, load_pipeline

    sio.dump(trained._splitter.pipeline, tmp_path / MODEL_FILE)
    monkeypatch.setattr(
        sio, "get_untrusted_types", lambda **_: pytest.fail("the file is parsed a second time")
    )
    loaded = load_pipeline(tmp_path)
    texts = _texts_to_compare()[:200]
    assert np.array_equal(
        loaded.predict_proba(texts), trained._splitter.pipeline.predict_proba(texts)
    )


def test_an_older_skops_model_with_untrusted_types_is_refused(tmp_path):
    import skops.io as sio

    from clinic_nlu.question_model_files import MODEL_FILE, load_pipeline
    from clinic_nlu.question_splitter import Part

    sio.dump({"x": Part(0, 1, "greet", 0.5)}, tmp_path / MODEL_FILE)
    with pytest.raises(ValueError, match="unexpected types"):
        load_pipeline(tmp_path)


def test_a_model_missing_a_field_is_refused_not_crashing(trained, tmp_path):
    import json

    from clinic_nlu.question_model_files import META_FILE, load_pipeline, save_pipeline

    save_pipeline(trained._splitter.pipeline, tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    del meta["vectorizers"][0]["vocabulary"]
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ValueError):
        load_pipeline(tmp_path)
