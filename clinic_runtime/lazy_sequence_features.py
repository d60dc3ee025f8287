"""Count-vector *sequence* features computed when something reads them, not on every message.

``CountVectorsFeaturizer.process`` makes two matrices per message attribute: the sequence
features (one row per token, ``vectorizer.transform(tokens)``) and the sentence features (one
row, ``vectorizer.transform([" ".join(tokens)])``). Our pipeline's only reader of these
features, ``LogisticRegressionClassifier``, uses the sentence row alone (Rasa's ``_create_X``
and ``sklearn_layout.sentence_matrix``), so the sequence transform, its index sort and its COO
conversion are done for nothing on every parse: two featurizers, about 0.2 ms of the ~1.6 ms
parse (docs/benchmarks-levers.md, sections 23 and 24).

Here the sequence features are still added to the message, in Rasa's order, with Rasa's type,
attribute and origin, but as ``LazySequenceFeatures``: the matrix is computed by Rasa's own
steps the first time ``.features`` is read (a component that uses sequence features, such as
DIET, gets exactly Rasa's matrix). ``is_sparse``/``is_dense`` answer without computing it,
because ``CountVectorizer.transform`` always returns a SciPy sparse matrix. Pickling or
copying one gives a plain ``Features`` with the computed matrix. Sentence features are
computed as before.
"""

from typing import Any, Callable, List, Optional

from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
from rasa.shared.nlu.training_data.features import Features

_INSTALLED = "_clinic_lazy_sequence"


def install() -> None:
    """Replace ``CountVectorsFeaturizer.process`` (idempotent)."""
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
        CountVectorsFeaturizer,
    )

    if getattr(CountVectorsFeaturizer.process, _INSTALLED, False):
        return
    original = CountVectorsFeaturizer.process

    # No annotation on self: Rasa's graph validation checks this signature when training.
    def process(self, messages: List[Any]) -> List[Any]:
        if self.vectorizers is None:
            return original(self, messages)  # Rasa logs its "not trained" error
        for message in messages:
            for attribute in self._attributes:
                _add_features(self, message, attribute)
        return messages

    setattr(process, _INSTALLED, True)
    process.__wrapped_original__ = original  # type: ignore[attr-defined]  # for the tests
    process.__doc__ = original.__doc__
    CountVectorsFeaturizer.process = process


def _add_features(featurizer: Any, message: Any, attribute: str) -> None:
    """What Rasa's ``_create_features`` + ``add_features_to_message`` add, sequence deferred."""
    tokens = featurizer._get_processed_message_tokens_by_attribute(message, attribute)
    vectorizer = featurizer.vectorizers.get(attribute)
    if not vectorizer or not tokens:
        return  # Rasa adds no features either
    origin = featurizer._identifier
    message.add_features(
        LazySequenceFeatures(lambda: _transformed(vectorizer, tokens), attribute, origin)
    )
    if attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
        sentence = _transformed(vectorizer, [" ".join(tokens)])
        message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, attribute, origin))


def _transformed(vectorizer: Any, documents: List[str]) -> Any:
    """Rasa's steps: transform, sort the indices, COO."""
    matrix = vectorizer.transform(documents)
    matrix.sort_indices()
    return matrix.tocoo()


class LazySequenceFeatures(Features):
    """Sparse sequence features whose matrix is computed on first read."""

    def __init__(self, compute: Callable[[], Any], attribute: str, origin: Any) -> None:
        # Not Features.__init__: it reads the matrix to check its type.
        self._compute: Optional[Callable[[], Any]] = compute
        self._matrix: Any = None
        self.type = FEATURE_TYPE_SEQUENCE
        self.origin = origin
        self.attribute = attribute
        self._cached_fingerprint = None

    @property
    def features(self) -> Any:
        if self._compute is not None:
            self._matrix, self._compute = self._compute(), None
        return self._matrix

    @features.setter
    def features(self, value: Any) -> None:  # e.g. Features.combine_with_features
        self._matrix, self._compute = value, None

    def is_sparse(self) -> bool:
        # CountVectorizer.transform always returns a SciPy sparse matrix.
        return True if self._compute is not None else super().is_sparse()

    def __reduce__(self) -> Any:
        # Pickled or copied: a plain Features holding the computed matrix.
        return (Features, (self.features, self.type, self.attribute, self.origin))
