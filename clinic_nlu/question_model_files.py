"""How the question-part classifier is stored in the model: plain data, never pickle.

NumPy arrays (``.npz``, read with ``allow_pickle=False``) and JSON (vocabularies, settings),
checked on load against the pipeline this code builds (``QuestionSplitter.new_pipeline``);
models trained before that stored a skops file, still loaded (docs/benchmarks-levers.md,
lever 13).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

from clinic_nlu.question_splitter import QuestionSplitter

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
VECTORIZER_SETTINGS = (
    "analyzer",
    "binary",
    "lowercase",
    "max_df",
    "max_features",
    "min_df",
    "ngram_range",
    "norm",
    "smooth_idf",
    "strip_accents",
    "sublinear_tf",
    "token_pattern",
    "use_idf",
)


def save_pipeline(pipeline: Any, directory: Path) -> None:
    """Writes a fitted ``QuestionSplitter.new_pipeline()`` as ``ARRAYS_FILE`` + ``META_FILE``.

    Arrays: each vectorizer's idf, the classifier's classes, coefficients, intercept. JSON: the
    settings (checked on load), each vectorizer's vocabulary in column order.
    """
    import numpy as np

    features, classifier = pipeline.named_steps["features"], pipeline.named_steps["classifier"]
    arrays: Dict[str, Any] = {
        "classes": np.asarray(classifier.classes_, dtype=str),
        "coef": classifier.coef_,
        "intercept": classifier.intercept_,
        "n_iter": classifier.n_iter_,
    }
    vectorizers = []
    for name, vectorizer in features.transformer_list:
        vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        if [vectorizer.vocabulary_[t] for t in vocabulary] != list(range(len(vocabulary))):
            raise ValueError(f"{name}: vocabulary indices are not 0..n-1")
        arrays[f"idf_{name}"] = vectorizer.idf_
        vectorizers.append(
            {
                "name": name,
                "settings": _settings(vectorizer),
                "vocabulary": vocabulary,
                "stop_words": sorted(getattr(vectorizer, "stop_words_", ()) or ()),
            }
        )
    meta = {
        "format": FORMAT,
        "C": classifier.C,
        "classifier": _classifier_settings(classifier),
        "vectorizers": vectorizers,
    }
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
    if (
        coef.ndim != 2
        or coef.shape[1] != n_features
        or intercept.shape != (coef.shape[0],)
        or len(classes) < 2
        or coef.shape[0] != (1 if len(classes) == 2 else len(classes))
        or classes.dtype.kind != "U"
    ):
        raise ValueError(f"{ARRAYS_FILE}: classifier shapes do not fit")
    classifier.classes_ = classes
    classifier.coef_, classifier.intercept_ = coef, intercept
    classifier.n_iter_ = arrays["n_iter"]
    classifier.n_features_in_ = n_features
    return pipeline


def _settings(vectorizer: Any) -> Dict[str, Any]:
    params = vectorizer.get_params()
    return {
        key: list(params[key]) if isinstance(params[key], tuple) else params[key]
        for key in VECTORIZER_SETTINGS
    }


def _classifier_settings(classifier: Any) -> Dict[str, Any]:
    params = classifier.get_params()
    return {
        key: params[key]
        for key in (
            "penalty",
            "fit_intercept",
            "intercept_scaling",
            "multi_class",
            "solver",
            "class_weight",
            "C",
        )
    }


def _load_skops(path: Path) -> Any:
    """An older model's skops file, parsed once: ``load`` itself refuses untrusted types."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.load(path, trusted=sorted(TRUSTED_TYPES))
    except UntrustedTypesFoundException as error:
        raise ValueError(f"unexpected types in {path.name}: {error}") from error
