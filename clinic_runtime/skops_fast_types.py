"""skops' trusted-type lists computed with a faster, equivalent ``whichmodule`` (same lists).

Rasa stores the intent classifier with skops, so serving imports ``skops.io``. On import,
``skops.io._trusted_types`` builds its lists of trusted type names; for every SciPy and NumPy
ufunc (~320, none has ``__module__``) ``skops.io._utils.whichmodule`` walks ``sys.modules`` in
order and calls ``getattr(module, ufunc.__name__)`` on each module until one returns the ufunc.
Nearly all of those calls miss, and a miss raises and catches an AttributeError: ~0.3-0.6 s
of every cold start (docs/benchmarks-levers.md, sections 7 and 14).

``whichmodule`` below returns what skops' returns, by the same walk: the same ``sys.modules``
copy taken at the call, the same order, the same skipped entries (``__main__``, ``__mp_main__``,
None), the first module whose attribute ``is`` the object. Only the test on a *plain* module
is cheaper. For an object of exact type ``types.ModuleType`` and a name that is not an
attribute of ModuleType itself, ``getattr(module, name)`` is by definition (CPython's
``module_getattro``) ``module.__dict__[name]`` if present, else the module's ``__getattr__``
hook if it has one, else AttributeError: so the dict is read directly, and only a module with a
``__getattr__`` hook and no such key gets the real ``getattr``. Every other entry (a module
subclass such as a LazyLoader module, whose ``__dict__`` must not be touched because that
loads it; a class or other object put in ``sys.modules``) gets skops' own ``_getattribute``,
exactly as skops calls it, in the same order. Names skops treats specially (dotted, "<locals>")
or that are ModuleType attributes, and non-``str`` names, go to skops' own function.

The replacement is in force only while ``skops.io._trusted_types`` executes, on its first
import, and only if skops' ``whichmodule`` and ``_getattribute`` are byte for byte the code it
was checked against (``_FINGERPRINTS``: skops 0.9.0 on Python 3.10); anything else runs skops
unchanged. Nothing is cached across processes, so the trusted lists cannot be widened by a
file. Tests: tests/unit/test_startup_imports.py (every list equal to skops' own, in fresh
processes; tricky ``sys.modules`` entries compared call by call with skops' function).
"""

import hashlib
import importlib
import importlib.machinery
import sys
import types
from typing import Any, Callable, Optional

TARGET = "skops.io._trusted_types"
UTILS = "skops.io._utils"
# sha256 of (co_code, co_consts, co_names) of skops.io._utils.whichmodule and _getattribute
# (skops 0.9.0, CPython 3.10): another skops or Python leaves skops' code alone.
_FINGERPRINTS = frozenset(
    {
        (
            "2770474f781e58cc5e5106a072cfce15e0ea06f238eb948072edb88d9737857f",
            "1c1136e9fa72cc94f5d0c593ac73709a34a7681e93e44e1c737602d7d933f7c8",
        ),
    }
)
# Names found on the module type itself: getattr would not go to the module's __dict__ first.
_MODULE_TYPE_NAMES = frozenset(name for klass in types.ModuleType.__mro__ for name in vars(klass))
_MISSING = object()

# What the last import did (read by the tests): "fast", "skipped: <why>" or None (not run).
last_result: Optional[str] = None


def fingerprint(function: Callable[..., Any]) -> str:
    code = function.__code__
    return hashlib.sha256(repr((code.co_code, code.co_consts, code.co_names)).encode()).hexdigest()


def make_whichmodule(
    original: Callable[[Any, str], str], getattribute: Callable[[Any, str], Any]
) -> Callable[[Any, str], str]:
    """skops' ``whichmodule`` (``original``) with a cheaper test on plain modules."""
    module_type = types.ModuleType

    def whichmodule(obj: Any, name: str) -> str:
        if type(name) is not str or "." in name or name == "<locals>" or name in _MODULE_TYPE_NAMES:
            return original(obj, name)
        module_name = getattr(obj, "__module__", None)
        if module_name is not None:
            return module_name
        for module_name, module in sys.modules.copy().items():
            if module_name == "__main__" or module_name == "__mp_main__" or module is None:
                continue
            if type(module) is module_type:
                attributes = module.__dict__
                if type(attributes) is dict:
                    value = attributes.get(name, _MISSING)
                    if value is obj:
                        return module_name
                    if value is not _MISSING or "__getattr__" not in attributes:
                        continue
            # A __getattr__ hook, a module subclass or another object: exactly as skops does.
            try:
                if getattribute(module, name)[0] is obj:
                    return module_name
            except AttributeError:
                pass
        return "__main__"

    whichmodule.__doc__ = original.__doc__
    whichmodule._clinic_fast = True  # type: ignore[attr-defined]
    return whichmodule


def _checked_utils() -> Any:
    """skops.io._utils if its functions are the ones checked, else None (with the reason)."""
    global last_result
    utils = sys.modules.get(UTILS)
    original = getattr(utils, "whichmodule", None)
    getattribute = getattr(utils, "_getattribute", None)
    if not (
        isinstance(original, types.FunctionType) and isinstance(getattribute, types.FunctionType)
    ):
        last_result = "skipped: skops.io._utils not loaded or changed"
        return None
    if (fingerprint(original), fingerprint(getattribute)) not in _FINGERPRINTS:
        last_result = "skipped: skops' whichmodule is not the code this was checked against"
        return None
    return utils


class _PatchingLoader:
    """Runs ``skops.io._trusted_types`` with the fast ``whichmodule``, then restores skops'."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        global last_result
        # The module looks loaded by its own loader (inspect, reload).
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        utils = _checked_utils()
        if utils is None:
            self.loader.exec_module(module)
            return
        original = utils.whichmodule
        fast = make_whichmodule(original, utils._getattribute)
        utils.whichmodule = fast
        try:
            self.loader.exec_module(module)
        finally:
            if utils.whichmodule is fast:
                utils.whichmodule = original
        last_result = "fast"


class _Finder:
    """Finds ``skops.io._trusted_types`` as usual and wraps its loader."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != TARGET:
            return None
        from clinic_runtime.lazy_tensorflow import spec_with_wrapped_loader

        return spec_with_wrapped_loader(self, name, path, target, _PatchingLoader)


_FINDER = _Finder()


def import_skops_io() -> None:
    """``import skops.io``; its trusted-type lists computed with the fast ``whichmodule``."""
    global last_result
    if TARGET in sys.modules:
        last_result = "skipped: already imported"
        importlib.import_module("skops.io")
        return
    sys.meta_path.insert(0, _FINDER)
    try:
        importlib.import_module("skops.io")
    finally:
        if _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
