"""Serve our model without importing TensorFlow, which none of its components uses.

Rasa 3.6 imports TensorFlow while loading any model, even one without a TensorFlow component
like ours (config.yml: spaCy, count vectors, logistic regression, RulePolicy). Measured
(docs/benchmarks-levers.md): about 2,200 TensorFlow/Keras modules, ~0.4 GB of resident memory
and several seconds of cold start. It comes in by two routes, both cut here:

1. Module imports: ``rasa.core.policies.policy`` -> ... -> ``rasa.nlu.extractors.extractor``
   does ``import rasa.utils.train_utils``, whose first lines import
   ``rasa.utils.tensorflow.callback`` (``import tensorflow``). Nothing in train_utils is used
   until a TensorFlow component trains or predicts, so ``rasa.utils.train_utils`` is loaded
   with the standard library's ``importlib.util.LazyLoader``: the module object exists at once,
   its code runs (and imports TensorFlow) on the first attribute access.
2. The model's *training* graph: ``ModelMetadata.from_dict`` resolves the class of every
   training node, including ``DefaultV1RecipeValidator``, which imports DIETClassifier and
   TEDPolicy (TensorFlow). Serving uses only the prediction graph, so the training graph is
   resolved on first use of its ``nodes`` (e.g. ``rasa train --finetune``), not on load.
3. spaCy: ``thinc.compat`` (imported with spaCy) probes ``import tensorflow`` to offer thinc's
   TensorFlow wrapper layers. No Rasa component uses those (Rasa's TensorFlow components use
   TensorFlow directly, not through thinc), so thinc is imported once with TensorFlow hidden;
   it then records "no TensorFlow" for its own wrappers only. TensorFlow stays importable for
   everything else.

Worst case is stock behaviour, never a wrong answer: anything that touches an attribute of the
lazy ``rasa.utils.train_utils`` simply runs it (and imports TensorFlow) then. One such toucher
is known and handled: ``skops.io`` (how Rasa stores the logistic-regression classifier) scans
every module in ``sys.modules`` with ``getattr`` when it is first imported, so it is imported
here first, before the lazy module exists. The unit test asserts that loading our model leaves
TensorFlow unimported, so a new toucher shows up as a failing test, not as a silent regression.

A model that does need TensorFlow (DIETClassifier, TEDPolicy, ...) is unaffected: its
*prediction* graph names those classes, loading them imports TensorFlow as usual and the model
is served normally (tests/unit/test_clinic_runtime.py checks both cases in fresh processes).
"""

import copy
import dataclasses
import importlib.util
import sys
from typing import Any, Dict, Optional, Text

# Modules loaded lazily (their code runs on first attribute access).
LAZY_MODULES = frozenset({"rasa.utils.train_utils"})


class _LazyModuleFinder:
    """A meta-path finder that wraps the normal loader of LAZY_MODULES in a LazyLoader."""

    def find_spec(self, name: Text, path: Any = None, target: Any = None) -> Any:
        if name not in LAZY_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


_FINDER = _LazyModuleFinder()


def _train_schema_on_demand_class() -> Any:
    from rasa.engine.graph import GraphSchema

    class TrainSchemaOnDemand(GraphSchema):
        """A model's training graph whose node classes are imported on first use."""

        def __init__(self, serialized: Dict[Text, Any]) -> None:  # no super(): nodes is lazy
            self._serialized = copy.deepcopy(serialized)  # from_dict rewrites it in place
            self._nodes: Optional[Dict[Text, Any]] = None

        @property  # type: ignore[override]
        def nodes(self) -> Dict[Text, Any]:
            if self._nodes is None:
                self._nodes = GraphSchema.from_dict(self._serialized).nodes
            return self._nodes

        @nodes.setter
        def nodes(self, value: Dict[Text, Any]) -> None:
            self._nodes = value

    return TrainSchemaOnDemand


def _import_thinc_without_tensorflow() -> None:
    """Import thinc (spaCy's backend) while ``import tensorflow`` fails, then undo that."""
    if "thinc.compat" in sys.modules or "tensorflow" in sys.modules:
        return
    if importlib.util.find_spec("thinc") is None:
        return
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # -> ImportError
    try:
        import thinc.compat  # noqa: F401
    finally:
        if sys.modules.get("tensorflow", 0) is None:
            del sys.modules["tensorflow"]


def _import_module_scanners() -> None:
    """Import modules that ``getattr`` every module in sys.modules on import (see above)."""
    for name in ("skops.io",):
        if name not in sys.modules and importlib.util.find_spec(name.split(".")[0]) is not None:
            importlib.import_module(name)


def install() -> None:
    """Install the three changes (idempotent). Must run before ``rasa.core`` is imported."""
    _import_thinc_without_tensorflow()
    _import_module_scanners()
    if _FINDER not in sys.meta_path:
        already = [name for name in LAZY_MODULES if name in sys.modules]
        if not already:  # too late for a module already imported: leave things as they are
            sys.meta_path.insert(0, _FINDER)

    from rasa.engine.storage.storage import ModelMetadata

    if getattr(ModelMetadata.from_dict, "_clinic_lazy_train_schema", False):
        return
    original = ModelMetadata.from_dict.__func__
    schema_class = _train_schema_on_demand_class()

    def from_dict(cls: Any, serialized: Dict[Text, Any]) -> Any:
        metadata = original(cls, {**serialized, "train_schema": {"nodes": {}}})
        return dataclasses.replace(metadata,
                                   train_schema=schema_class(serialized["train_schema"]))

    from_dict._clinic_lazy_train_schema = True  # type: ignore[attr-defined]
    from_dict.__doc__ = original.__doc__
    ModelMetadata.from_dict = classmethod(from_dict)  # type: ignore[assignment]


def tensorflow_imported() -> bool:
    """Whether TensorFlow has been imported in this process."""
    return "tensorflow" in sys.modules
