"""Store the intent classifier's weights in the memory order its prediction reads them.

``LogisticRegressionClassifier`` predicts with scikit-learn's ``LogisticRegression``, whose
``decision_function`` computes ``X @ coef_.T`` (X: one sparse row of ~16,000 count features;
coef_: intents x features, C order). ``coef_.T`` is then a Fortran-ordered view, and SciPy's
sparse-times-dense product first copies it into C order: the whole weight matrix (~5 MB) is
copied for every message. Measured: 0.36 ms per product, against 0.007 ms when ``coef_`` is kept
in Fortran order (so that ``coef_.T`` is already C-contiguous), with bit-identical results
(the same kernel sums the same numbers in the same order). Py-spy had put this product at ~6% of
the Rasa server's busy CPU (docs/benchmarks-levers.md).

On the classifier's first prediction ``coef_`` is replaced by an equal Fortran-ordered array.
Nothing else changes: same values, same shape, same dtype, same classes and intercept.

The same goes for the matrix the classifier is given (``_create_X``). Rasa builds it with
``Message.get_sparse_features``, which also stacks the *sequence* features (one row per token,
never used here) and deep-copies the first block, then ``hstack``s the sentence row with an
empty dense block, all through SciPy's general block-matrix code. Measured ~13% of the parse
under cProfile. ``sentence_matrix`` stacks the same sentence blocks, in Rasa's order, straight
into CSR with Rasa's dtype; a message with dense text features (none in our pipeline) goes
through Rasa's own code. Tests: the matrices are equal to Rasa's on 946 held-out texts, and
every parse (intents, confidences) is identical to stock Rasa's.
"""

from typing import Any, List


def fortran_coef(clf: Any) -> Any:
    """``clf`` with ``coef_`` in Fortran order, when it has a 2-D NumPy ``coef_``."""
    import numpy as np

    coef = getattr(clf, "coef_", None)
    if isinstance(coef, np.ndarray) and coef.ndim == 2 and not coef.flags["F_CONTIGUOUS"]:
        clf.coef_ = np.asfortranarray(coef)
    return clf


def sentence_matrix(messages: Any) -> Any:
    """Rasa's ``_create_X`` matrix, or None when a message needs Rasa's general code."""
    import numpy as np
    import scipy.sparse
    from rasa.shared.nlu.constants import TEXT

    rows = []
    for message in messages:
        _, sentence = message._filter_sparse_features(TEXT, [])
        _, dense = message._filter_dense_features(TEXT, [])
        if dense or not sentence:
            return None
        blocks = [feature.features for feature in sentence]
        # Rasa's hstack includes an empty dense block built from a list (float64): same dtype.
        dtype = np.result_type(*(block.dtype for block in blocks), np.float64)
        row = one_row_csr(blocks, dtype)
        rows.append(
            row if row is not None else scipy.sparse.hstack(blocks, format="csr", dtype=dtype)
        )
    if len(rows) == 1:  # one message (every prediction): the stack of one row is that row
        return rows[0]
    return scipy.sparse.vstack(rows, format="csr") if rows else None


def one_row_csr(blocks: List[Any], dtype: Any) -> Any:
    """``hstack(blocks, format="csr", dtype=dtype)`` for 1-row COO blocks, built directly.

    SciPy's general block code took ~0.17 ms for the two count-vector rows of a message. For
    one row, COO -> CSR keeps the entries in block order, so the result is the blocks' data
    and shifted column indices laid end to end: the same arrays, in the same order (the
    classifier's product then sums the same numbers in the same order). None when a block is
    not a 1-row COO matrix or the sizes need 64-bit indices: then SciPy's hstack is used.
    """
    import numpy as np
    import scipy.sparse

    if not all(scipy.sparse.isspmatrix_coo(block) and block.shape[0] == 1 for block in blocks):
        return None
    width = sum(block.shape[1] for block in blocks)
    if width >= 2**31 - 1 or sum(block.nnz for block in blocks) >= 2**31 - 1:
        return None
    offsets = np.cumsum([0] + [block.shape[1] for block in blocks[:-1]])
    indices = np.concatenate(
        [
            block.col.astype(np.int32) + np.int32(offset)
            for block, offset in zip(blocks, offsets, strict=False)
        ]
    )
    data = np.concatenate([block.data for block in blocks]).astype(dtype, copy=False)
    indptr = np.array([0, len(indices)], dtype=np.int32)
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=(1, width))


def install() -> None:
    """Wrap ``LogisticRegressionClassifier.process`` (idempotent)."""
    from rasa.nlu.classifiers.logistic_regression_classifier import (
        LogisticRegressionClassifier,
    )
    from rasa.shared.nlu.training_data.message import Message

    original = LogisticRegressionClassifier.process
    if getattr(original, "_clinic_fortran_coef", False):
        return  # installed already (both changes)

    # No annotation on self: Rasa's graph validation checks this signature when training.
    def process(self, messages: List[Message]) -> List[Message]:
        # On first use, not on load: converting while the model loads made glibc keep ~30 MB
        # more resident (its mmap threshold rises; measured RSS 350 -> 384 MB after load).
        clf = getattr(self, "clf", None)
        if clf is not None and not getattr(clf, "_clinic_fortran_coef", False):
            fortran_coef(clf)
            clf._clinic_fortran_coef = True
        return original(self, messages)

    process._clinic_fortran_coef = True  # type: ignore[attr-defined]
    process.__doc__ = original.__doc__
    LogisticRegressionClassifier.process = process

    original_create_x = LogisticRegressionClassifier._create_X

    def create_x(self: Any, messages: Any) -> Any:
        matrix = sentence_matrix(messages)
        return original_create_x(self, messages) if matrix is None else matrix

    create_x.__doc__ = original_create_x.__doc__
    create_x._clinic_original = original_create_x  # type: ignore[attr-defined]
    LogisticRegressionClassifier._create_X = create_x
