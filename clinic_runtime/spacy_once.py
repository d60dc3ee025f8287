"""Load the spaCy pipeline once per model load, not once per graph node that names SpacyNLP.

Rasa 3.6's prediction graph has two SpacyNLP nodes: ``provide_SpacyNLP0`` (gives the loaded
pipeline to the nodes that need it) and ``run_SpacyNLP0`` (makes the ``Doc`` of each message).
Both are built with ``SpacyNLP.create``, which calls ``spacy.load`` -- so the same pipeline is
loaded twice (the log says "Trying to load SpaCy model" twice). The second copy is never used:
``SpacyNLP.process`` parses with the pipeline it is *given* by ``provide_SpacyNLP0``, not its
own. Measured (docs/benchmarks-levers.md): ~0.4-0.9 s of start-up and one pipeline's memory.

``SpacyNLP.load_model`` is memoized here: a second call with the same model name, while the
first result is still alive (weak reference: a replaced model is not kept), returns that same
``SpacyModel``. For a model given as a directory the key includes the directory's files' sizes
and modification times, so a pipeline rebuilt on disk is loaded afresh.
"""

import os
import weakref
from typing import Any, Optional, Tuple

_LOADED: "weakref.WeakValueDictionary[Tuple[Any, ...], Any]" = weakref.WeakValueDictionary()


def _fingerprint(name: str) -> Optional[Tuple[Any, ...]]:
    if not name or not os.path.isdir(name):
        return None
    entries = []
    for root, _dirs, files in os.walk(name):
        for file in files:
            stat = os.stat(os.path.join(root, file))
            entries.append(
                (os.path.relpath(os.path.join(root, file), name), stat.st_size, stat.st_mtime_ns)
            )
    return (os.path.realpath(name), tuple(sorted(entries)))


def install() -> None:
    """Memoize ``SpacyNLP.load_model`` (idempotent)."""
    from rasa.nlu.utils.spacy_utils import SpacyNLP

    original = SpacyNLP.__dict__["load_model"].__func__
    if getattr(original, "_clinic_spacy_once", False):
        return

    def load_model(spacy_model_name: str) -> Any:
        key = (spacy_model_name, _fingerprint(spacy_model_name))
        model = _LOADED.get(key)
        if model is None:
            model = original(spacy_model_name)
            _LOADED[key] = model
        return model

    load_model._clinic_spacy_once = True  # type: ignore[attr-defined]
    load_model._clinic_original = original  # type: ignore[attr-defined]
    load_model.__doc__ = original.__doc__
    SpacyNLP.load_model = staticmethod(load_model)
