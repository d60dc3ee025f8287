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

Two more start-up imports that serving our model never uses go through the same LazyLoader
(``STARTUP_LAZY_MODULES``; ``CLINIC_RUNTIME_SKIP=lazy_imports`` leaves them out):

* ``dask`` (~0.2 s): imported only by ``rasa.engine.runner.dask`` (``import dask``) for
  ``dask.get`` in ``DaskGraphRunner.run``. Serving runs the graph with
  ``clinic_runtime.sequential_graph``; training (and serving without that change) calls
  ``dask.get``, which loads dask then.
* ``rasa.core.jobs`` (~0.2 s, apscheduler): imported by the processor and the agent
  (``from rasa.core import jobs``), used only as ``await jobs.scheduler()`` to schedule a
  reminder or model-server pulling; the first such call loads it.

Caveat of ``LazyLoader`` on Python 3.10: a second ``import dask`` statement loads the module
(the import system reads ``__spec__``); ``from rasa.core import jobs`` does not. Only Rasa's
one ``import dask`` exists today; tests/unit/test_startup_imports.py asserts that loading our
model and answering leaves dask and apscheduler unloaded.

``skops.io`` is imported with ``clinic_runtime.skops_fast_types`` (its trusted-type lists
computed faster, identical; ``CLINIC_RUNTIME_SKIP=skops_fast_types`` imports it as before).
"""

import copy
import dataclasses
import importlib.util
import os
import sys
from typing import Any, Callable, Dict, FrozenSet, Optional, Set

# Modules loaded lazily (their code runs on first attribute access).
LAZY_MODULES = frozenset({"rasa.utils.train_utils"})
# Also lazy unless CLINIC_RUNTIME_SKIP names "lazy_imports" (see the module docstring).
STARTUP_LAZY_MODULES = frozenset({"dask", "rasa.core.jobs"})


def _skipped() -> Set[str]:
    # Our own switches (clinic_runtime/__init__.py reads the same variable for its changes).
    return {name.strip() for name in os.environ.get("CLINIC_RUNTIME_SKIP", "").split(",")}


def spec_with_wrapped_loader(
    this_finder: Any, name: str, path: Any, target: Any, wrap: Callable[[Any], Any]
) -> Any:
    """The spec the other meta-path finders give for ``name``, its loader wrapped by ``wrap``."""
    for finder in sys.meta_path:
        if finder is this_finder or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(name, path, target)
        if spec is not None:
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = wrap(spec.loader)
            return spec
    return None


class _LazyModuleFinder:
    """A meta-path finder that wraps the normal loader of ``names`` in a LazyLoader."""

    names: FrozenSet[str] = LAZY_MODULES

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.names:
            return None
        return spec_with_wrapped_loader(self, name, path, target, importlib.util.LazyLoader)


_FINDER = _LazyModuleFinder()


def _train_schema_on_demand_class() -> Any:
    from rasa.engine.graph import GraphSchema

    class TrainSchemaOnDemand(GraphSchema):
        """A model's training graph whose node classes are imported on first use."""

        def __init__(self, serialized: Dict[str, Any]) -> None:  # no super(): nodes is lazy
            self._serialized = copy.deepcopy(serialized)  # from_dict rewrites it in place
            self._nodes: Optional[Dict[str, Any]] = None

        @property
        def nodes(self) -> Dict[str, Any]:
            if self._nodes is None:
                self._nodes = GraphSchema.from_dict(self._serialized).nodes
            return self._nodes

        @nodes.setter
        def nodes(self, value: Dict[str, Any]) -> None:
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


def _import_module_scanners(skip: Set[str]) -> None:
    """Import modules that ``getattr`` every module in sys.modules on import (see above)."""
    for name in ("skops.io",):
        if name not in sys.modules and importlib.util.find_spec(name.split(".")[0]) is not None:
            if name == "skops.io" and "skops_fast_types" not in skip:
                from clinic_runtime import skops_fast_types

                skops_fast_types.import_skops_io()
            else:
                importlib.import_module(name)


def install() -> None:
    """Install the changes above (idempotent). Must run before ``rasa.core`` is imported."""
    skip = _skipped()
    _import_thinc_without_tensorflow()
    _import_module_scanners(skip)
    if _FINDER not in sys.meta_path:
        names: Set[str] = set()
        if not any(name in sys.modules for name in LAZY_MODULES):
            names |= LAZY_MODULES  # too late for a module already imported: leave it as it is
        if "lazy_imports" not in skip:
            names |= {name for name in STARTUP_LAZY_MODULES if name not in sys.modules}
        if names:
            _FINDER.names = frozenset(names)
            sys.meta_path.insert(0, _FINDER)

    from rasa.engine.storage.storage import ModelMetadata

    if getattr(ModelMetadata.from_dict, "_clinic_lazy_train_schema", False):
        return
    original = ModelMetadata.from_dict.__func__
    schema_class = _train_schema_on_demand_class()

    def from_dict(cls: Any, serialized: Dict[str, Any]) -> Any:
        metadata = original(cls, {**serialized, "train_schema": {"nodes": {}}})
        return dataclasses.replace(metadata, train_schema=schema_class(serialized["train_schema"]))

    from_dict._clinic_lazy_train_schema = True  # type: ignore[attr-defined]
    from_dict.__doc__ = original.__doc__
    ModelMetadata.from_dict = classmethod(from_dict)


def undo() -> None:
    """Take the finder off ``sys.meta_path`` (for clinic_runtime.uninstall; the attribute it
    replaced is put back there). Modules already loaded lazily stay as they are."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def tensorflow_imported() -> bool:
    """Whether TensorFlow has been imported in this process."""
    return "tensorflow" in sys.modules
