"""Rasa NLU component: the separate questions of a message, as ``question_part`` entities.

Add it to ``config.yml`` after the intent classifier::

    - name: clinic_nlu.question_parts.QuestionPartExtractor

Rasa's classifier gives a message one intent (or one of the few trained multi-intents). This
component splits the message into clauses (sentence ends and question marks always; "and",
"also", "plus", "as well as", commas and a new question word in a run-on sentence only when
both sides read as separate questions), classifies each clause with its own small model
(trained in ``train()`` on the single-intent NLU examples: word and character n-gram TF-IDF,
logistic regression) and appends one entity per clause::

    {"entity": "question_part", "value": "ask_price", "start": 17, "end": 35,
     "confidence": 0.93, "extractor": "QuestionPartExtractor"}

only when at least two *different* confident topical parts are found (greetings, thanks and
out-of-scope clauses are not topical: the classifier and the rules handle those; a disclosure
clause counts, as ``inform_condition``, where the contraindication detector, which runs earlier,
found a condition). Messages with a single question get no entity, so nothing changes for them.
docs/nlu.md records how the thresholds were chosen (measured, not tuned on the test sets).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    INTENT,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

ENTITY_QUESTION_PART = "question_part"
DISCLOSURE_INTENT = "inform_condition"
HEALTH_ENTITIES = {"condition", "uncovered_condition", "urgent_symptom"}
# The clause model is persisted as plain data, never pickle: NumPy arrays (``.npz``, read with
# ``allow_pickle=False``) and JSON (vocabularies, settings). Loading it takes ~0.015 s of CPU,
# against ~1 s for the skops file it replaces (docs/benchmarks-levers.md, lever 13).
ARRAYS_FILE = "question_parts.npz"
META_FILE = "question_parts.json"
FORMAT = 1
# Models trained before that stored a skops file; still loaded (one parse, lever 13).
MODEL_FILE = "question_parts.skops"
# skops refuses to load types it does not know; these are the only extra ones a fitted
# TfidfVectorizer + LogisticRegression pipeline holds.
TRUSTED_TYPES = {"scipy.sparse._csr.csr_matrix"}
# The vectorizer settings written beside the model and checked on load: a model is loaded only
# into the same pipeline it was trained as (``QuestionSplitter.new_pipeline``).
VECTORIZER_SETTINGS = ("analyzer", "binary", "lowercase", "max_df", "max_features", "min_df",
                       "ngram_range", "norm", "smooth_idf", "strip_accents", "sublinear_tf",
                       "token_pattern", "use_idf")

# Always a clause boundary: question and exclamation marks, semicolons, a full stop before a
# space or the end, line breaks.
STRONG_BOUNDARY = re.compile(r"[?!;]+|\.(?=\s|$)|\n+")
# A boundary only when both sides read as separate questions.
CONNECTOR = re.compile(
    r"(?:,\s*)?(?:\b(?:and also|and then|and|also|plus|as well as|n)\b|&)|,", re.IGNORECASE)
# In a run-on sentence ("is it painful what does it cost") a new question starts with a
# question word that does not continue the clause before it ("tell me what", "is that how").
QUESTION_WORD = re.compile(
    r"\b(?:what|whats|what's|wat|how|hows|how's|who|whos|who's|where|wheres|where's|when|"
    r"why)\b", re.IGNORECASE)  # not "which": mid-sentence it mostly starts a relative clause
CONTINUES_INTO_QUESTION_WORD = {
    "is", "was", "that", "this", "me", "us", "know", "explain", "wonder", "wondering",
    "understand", "see", "tell", "ask", "asking", "about", "on", "of", "for", "to", "exactly",
    "sure", "idea", "out", "curious", "or", "but", "and", "matter", "depends", "regardless",
    "say", "said", "mean", "from", "in", "at", "by", "no", "not", "learn", "show", "guess",
}
# Words a clause that stands on its own may start with (after fillers such as "also").
CLAUSE_STARTS = {
    "what", "whats", "what's", "wat", "how", "hows", "how's", "is", "isn't", "are", "aren't",
    "does", "dose", "doesn't", "do", "did", "can", "could", "will", "would", "should", "who",
    "whos", "who's", "where", "wheres", "where's", "when", "which", "why", "any", "i", "i'm",
    "im", "i'd", "id", "i've", "ive", "my", "it", "it's", "its", "you", "your", "u", "there",
    "they", "we", "he", "she", "tell", "give", "explain", "let", "please", "whereabouts",
}
FILLERS = {"also", "and", "so", "then", "plus", "but", "oh", "ok", "okay", "n", "&"}
WORD = re.compile(r"[\w'&]+")


@dataclass
class Part:
    """One clause of a message and what it asks."""

    start: int
    end: int
    intent: str
    confidence: float


class QuestionSplitter:
    """Splits a text into clauses and labels each with a trained scikit-learn pipeline.

    Pure logic (no Rasa objects): ``parts(text)`` returns the topical parts in message order.
    """

    def __init__(self, pipeline: Any, *, threshold: float, strong_threshold: float,
                 ignored_intents: Iterable[str], max_parts: int = 3) -> None:
        self.pipeline = pipeline
        self.threshold = threshold
        self.strong_threshold = strong_threshold
        self.ignored = set(ignored_intents)
        self.max_parts = max_parts
        self._cache: Dict[str, Tuple[str, float]] = {}

    # ------------------------------------------------------------------ training

    @staticmethod
    def new_pipeline(c: float = 10.0) -> Any:
        """A word 1-2-gram + char_wb 2-5-gram TF-IDF, one-vs-rest logistic regression (unfitted)."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline

        features = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ])
        return Pipeline([("features", features),
                         ("classifier", LogisticRegression(C=c, solver="liblinear"))])

    @staticmethod
    def fit(examples: Sequence[Tuple[str, str]], c: float = 10.0) -> Any:
        """``new_pipeline`` fitted on (text, intent) examples (~1 s)."""
        pipeline = QuestionSplitter.new_pipeline(c)
        pipeline.fit([text for text, _ in examples], [intent for _, intent in examples])
        return pipeline

    # ----------------------------------------------------------------- splitting

    def classify(self, texts: Sequence[str]) -> List[Tuple[str, float]]:
        """(intent, probability) for each text, batched and cached."""
        todo = sorted({t for t in texts if t not in self._cache})
        if todo:
            probabilities = self.pipeline.predict_proba(todo)
            classes = self.pipeline.classes_
            for text, row in zip(todo, probabilities):
                best = int(row.argmax())
                self._cache[text] = (str(classes[best]), float(row[best]))
        if len(self._cache) > 5000:  # a bound, not a tuning knob
            self._cache = {t: self._cache[t] for t in texts}
        return [self._cache[t] for t in texts]

    def parts(self, text: str, disclosures: Sequence[Tuple[int, int]] = ()) -> List[Part]:
        """The topical parts of a message, in order; empty unless two different ones are found.

        A clause labelled ``inform_condition`` counts only where the contraindication detector
        found a condition (``disclosures``: its entity spans), so "I'm 68, will it work" is one
        question, and "I have epilepsy, also how long is a session" two parts.
        """
        segments = [span for span in _strong_segments(text) if _words(text[span[0]:span[1]])]
        found: List[Part] = []
        for start, end in segments:
            found += self._split(text, start, end, strong=len(segments) > 1, depth=0)
        merged: List[Part] = []
        for part in found:
            if merged and merged[-1].intent == part.intent:
                merged[-1] = Part(merged[-1].start, part.end, part.intent,
                                  max(merged[-1].confidence, part.confidence))
            else:
                merged.append(part)
        topical = [p for p in merged if p.intent not in self.ignored and (
            p.intent != DISCLOSURE_INTENT
            or any(s < p.end and p.start < e for s, e in disclosures))]
        seen: Set[str] = set()
        unique = [p for p in topical if not (p.intent in seen or seen.add(p.intent))]
        return unique[: self.max_parts] if len(unique) >= 2 else []

    def _split(self, text: str, start: int, end: int, strong: bool, depth: int) -> List[Part]:
        """The best split of one segment at a weak boundary (recursively), else the segment."""
        start, end = _trim(text, start, end)
        candidates = _weak_boundaries(text, start, end) if depth < 2 else []
        spans = [(start, end)]
        for left_end, right_start in candidates:
            spans += [_trim(text, start, left_end), _trim(text, right_start, end)]
        labels = dict(zip(spans, self.classify([_clause(text, s, e) for s, e in spans])))
        best: Optional[Tuple[float, int, int]] = None
        for left_end, right_start in candidates:
            left, right = labels[_trim(text, start, left_end)], labels[_trim(text, right_start, end)]
            if left[0] == right[0] or min(left[1], right[1]) < self.threshold:
                continue
            if best is None or min(left[1], right[1]) > best[0]:
                best = (min(left[1], right[1]), left_end, right_start)
        if best is not None:
            _, left_end, right_start = best
            return (self._split(text, start, left_end, True, depth + 1)
                    + self._split(text, right_start, end, True, depth + 1))
        intent, confidence = labels[(start, end)]
        needed = self.strong_threshold if strong else self.threshold
        return [Part(start, end, intent, confidence)] if confidence >= needed else []


def _clause(text: str, start: int, end: int) -> str:
    return " ".join(text[start:end].lower().split())


def _words(text: str) -> List[str]:
    return WORD.findall(text.lower())


def _trim(text: str, start: int, end: int) -> Tuple[int, int]:
    """The span without surrounding spaces, punctuation and connector words."""
    while True:
        while start < end and not (text[start].isalnum() or text[start] == "&"):
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        match = re.match(r"(?:and|also|plus|so|then|n|&)\b", text[start:end], re.IGNORECASE)
        if not match or start + match.end() >= end:
            return start, end
        start += match.end()


def _strong_segments(text: str) -> List[Tuple[int, int]]:
    segments, start = [], 0
    for match in STRONG_BOUNDARY.finditer(text):
        segments.append((start, match.start()))
        start = match.end()
    segments.append((start, len(text)))
    return segments


def _stands_alone(words: List[str]) -> bool:
    """Whether a clause reads as a question or statement of its own ("is it painful")."""
    while words and words[0] in FILLERS:
        words = words[1:]
    return len(words) >= 2 and words[0] in CLAUSE_STARTS


def _weak_boundaries(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    """(left end, right start) of each place the segment may hold two questions."""
    boundaries = set()
    for match in CONNECTOR.finditer(text, start, end):
        boundaries.add((match.start(), match.end()))
    for match in QUESTION_WORD.finditer(text, start, end):
        before = _words(text[start:match.start()])
        if before and before[-1] not in CONTINUES_INTO_QUESTION_WORD:
            boundaries.add((match.start(), match.start()))
    kept = []
    for left_end, right_start in sorted(boundaries):
        left, right = _words(text[start:left_end]), _words(text[right_start:end])
        if len(left) >= 2 and _stands_alone(right):
            kept.append((left_end, right_start))
    return kept


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True
)
class QuestionPartExtractor(GraphComponent, EntityExtractorMixin):
    """Finds the separate questions of a message and adds them as ``question_part`` entities."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The component's default config (see parent class for full docstring)."""
        return {
            # a clause split at "and" / "also" / a run-on question word counts only when both
            # sides reach this probability and differ (docs/nlu.md: measured on held-out singles
            # and synthetic pairs, not on the multi-part test sets)
            "threshold": 0.4,
            # a clause ended by "?" / "." needs this probability to count
            "strong_threshold": 0.4,
            # not questions to answer: the classifier and the rules handle these. A disclosure
            # clause ("I have epilepsy") counts as a part, so the question beside it is found;
            # the reply planner answers the disclosure from the detector's entities, safety first
            "ignored_intents": ["greet", "goodbye", "thank", "affirm", "deny", "cancel",
                                "out_of_scope", "nlu_fallback"],
            # at most this many parts are emitted per message
            "max_parts": 3,
            # inverse regularisation of the clause classifier's logistic regression
            "C": 10.0,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        """Any extra python dependencies required for this component to run."""
        return ["sklearn", "skops"]  # skops: only to load models trained before format 1

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage,
                 resource: Resource, pipeline: Any = None) -> None:
        """Creates the component; ``pipeline`` is the trained clause classifier, if any."""
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._splitter = self._splitter_for(pipeline) if pipeline is not None else None

    def _splitter_for(self, pipeline: Any) -> QuestionSplitter:
        return QuestionSplitter(pipeline, threshold=self._config["threshold"],
                                strong_threshold=self._config["strong_threshold"],
                                ignored_intents=self._config["ignored_intents"],
                                max_parts=self._config["max_parts"])

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> QuestionPartExtractor:
        """Creates an untrained component (see parent class for full docstring)."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Trains the clause classifier on the single-intent examples and persists it."""
        examples = [(m.get(TEXT), m.get(INTENT)) for m in training_data.intent_examples
                    if m.get(TEXT) and m.get(INTENT) and "+" not in m.get(INTENT)]
        if len({intent for _, intent in examples}) < 2:
            logger.warning("%s: fewer than two intents to learn; no question parts will be found.",
                           self.__class__.__name__)
            return self._resource
        pipeline = QuestionSplitter.fit(examples, c=self._config["C"])
        self._splitter = self._splitter_for(pipeline)
        self.persist()
        return self._resource

    def persist(self) -> None:
        """Writes the clause classifier to the model storage (NumPy arrays + JSON, no pickle)."""
        with self._model_storage.write_to(self._resource) as model_dir:
            save_pipeline(self._splitter.pipeline, model_dir)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> QuestionPartExtractor:
        """Loads the trained clause classifier (see parent class for full docstring)."""
        try:
            with model_storage.read_from(resource) as model_dir:
                pipeline = load_pipeline(model_dir)
        except (ValueError, FileNotFoundError) as error:
            logger.warning("%s could not load its model (%s); no question parts will be found.",
                           cls.__name__, error)
            pipeline = None
        return cls(config, model_storage, resource, pipeline)

    def process(self, messages: List[Message]) -> List[Message]:
        """Appends a ``question_part`` entity per question when a message asks several."""
        if self._splitter is None:
            return messages
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text.strip():
                continue
            disclosures = [(e.get(ENTITY_ATTRIBUTE_START, 0), e.get(ENTITY_ATTRIBUTE_END, len(text)))
                           for e in message.get(ENTITIES, [])
                           if e.get(ENTITY_ATTRIBUTE_TYPE) in HEALTH_ENTITIES]
            found = self._splitter.parts(text, disclosures)
            entities = self.add_extractor_name([_as_entity(p) for p in found])
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages


def save_pipeline(pipeline: Any, directory: Path) -> None:
    """Writes a fitted ``QuestionSplitter.new_pipeline()`` as ``ARRAYS_FILE`` + ``META_FILE``.

    Arrays: each vectorizer's idf, the classifier's classes, coefficients, intercept. JSON: the
    settings (checked on load), each vectorizer's vocabulary in column order.
    """
    import numpy as np

    features, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    arrays: Dict[str, Any] = {"classes": np.asarray(classifier.classes_, dtype=str),
                              "coef": classifier.coef_, "intercept": classifier.intercept_,
                              "n_iter": classifier.n_iter_}
    vectorizers = []
    for name, vectorizer in features.transformer_list:
        vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        if [vectorizer.vocabulary_[t] for t in vocabulary] != list(range(len(vocabulary))):
            raise ValueError(f"{name}: vocabulary indices are not 0..n-1")
        arrays[f"idf_{name}"] = vectorizer.idf_
        vectorizers.append({"name": name, "settings": _settings(vectorizer),
                            "vocabulary": vocabulary,
                            "stop_words": sorted(getattr(vectorizer, "stop_words_", ()) or ())})
    meta = {"format": FORMAT, "C": classifier.C, "classifier": _classifier_settings(classifier),
            "vectorizers": vectorizers}
    with open(directory / ARRAYS_FILE, "wb") as file:
        np.savez(file, **arrays)
    (directory / META_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def load_pipeline(directory: Path) -> Any:
    """The pipeline ``save_pipeline`` wrote (or an older model's skops file); no pickle.

    ``ValueError`` when the files do not describe a ``QuestionSplitter.new_pipeline()``.
    """
    if not (directory / META_FILE).exists() and (directory / MODEL_FILE).exists():
        return _load_skops(directory / MODEL_FILE)
    try:
        return _load_plain(directory)
    except (KeyError, TypeError, AttributeError) as error:  # a field missing or of another kind
        raise ValueError(f"{META_FILE} / {ARRAYS_FILE}: {error!r}") from error


def _load_plain(directory: Path) -> Any:
    import numpy as np

    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"{META_FILE}: format {meta.get('format')!r}, expected {FORMAT}")
    pipeline = QuestionSplitter.new_pipeline(float(meta["C"]))
    features, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    if meta["classifier"] != _classifier_settings(classifier):
        raise ValueError(f"{META_FILE}: classifier settings differ from this code's")
    stored = {v["name"]: v for v in meta["vectorizers"]}
    if sorted(stored) != sorted(name for name, _ in features.transformer_list):
        raise ValueError(f"{META_FILE}: vectorizers {sorted(stored)} differ from this code's")
    with np.load(directory / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    n_features = 0
    for name, vectorizer in features.transformer_list:
        entry = stored[name]
        if entry["settings"] != _settings(vectorizer):
            raise ValueError(f"{META_FILE}: {name} settings differ from this code's")
        vocabulary = entry["vocabulary"]
        idf = arrays[f"idf_{name}"]
        if idf.shape != (len(vocabulary),) or len(set(vocabulary)) != len(vocabulary):
            raise ValueError(f"{ARRAYS_FILE}: {name} idf/vocabulary mismatch")
        vectorizer.vocabulary_ = {term: index for index, term in enumerate(vocabulary)}
        vectorizer.fixed_vocabulary_ = False
        vectorizer.stop_words_ = set(entry["stop_words"])
        vectorizer.idf_ = idf  # scikit-learn's setter: a fitted TfidfTransformer with this idf
        n_features += len(vocabulary)
    coef, intercept, classes = arrays["coef"], arrays["intercept"], arrays["classes"]
    if coef.ndim != 2 or coef.shape[1] != n_features or intercept.shape != (coef.shape[0],) \
            or len(classes) < 2 or coef.shape[0] != (1 if len(classes) == 2 else len(classes)) \
            or classes.dtype.kind != "U":
        raise ValueError(f"{ARRAYS_FILE}: classifier shapes do not fit")
    classifier.classes_ = classes
    classifier.coef_, classifier.intercept_ = coef, intercept
    classifier.n_iter_ = arrays["n_iter"]
    classifier.n_features_in_ = n_features
    return pipeline


def _settings(vectorizer: Any) -> Dict[str, Any]:
    params = vectorizer.get_params()
    return {key: list(params[key]) if isinstance(params[key], tuple) else params[key]
            for key in VECTORIZER_SETTINGS}


def _classifier_settings(classifier: Any) -> Dict[str, Any]:
    params = classifier.get_params()
    return {key: params[key] for key in ("penalty", "fit_intercept", "intercept_scaling",
                                         "multi_class", "solver", "class_weight", "C")}


def _load_skops(path: Path) -> Any:
    """An older model's skops file, parsed once: ``load`` itself refuses untrusted types."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.load(path, trusted=sorted(TRUSTED_TYPES))
    except UntrustedTypesFoundException as error:
        raise ValueError(f"unexpected types in {path.name}: {error}") from error


def _as_entity(part: Part) -> Dict[Text, Any]:
    return {
        ENTITY_ATTRIBUTE_TYPE: ENTITY_QUESTION_PART,
        ENTITY_ATTRIBUTE_VALUE: part.intent,
        ENTITY_ATTRIBUTE_START: part.start,
        ENTITY_ATTRIBUTE_END: part.end,
        ENTITY_ATTRIBUTE_CONFIDENCE: round(part.confidence, 3),
    }
