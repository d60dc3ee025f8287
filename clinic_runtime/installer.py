"""Apply the registry's changes to Rasa, check each took effect, say so in the log, undo them.

- Rasa version: the changes replace Rasa internals (clinic_runtime/registry.py lists them), so
  they are applied only to the Rasa major.minor they were written for; on another Rasa none is
  applied and one WARNING says that stock Rasa runs.
- Each change: its targets are read first, its module's ``install()`` runs, then every target
  must be code of that module (and the module's own ``installed()``, where it has one, True).
  A change that raises or does not take effect is put back and logged as an ERROR: the
  assistant runs on, with Rasa's own code for that part.
- One INFO line lists what was applied and what was skipped (``CLINIC_RUNTIME_SKIP``).
- ``uninstall()`` puts back what each applied change replaced (for tests). Imports a change
  made (e.g. modules loaded lazily by lazy_tensorflow) stay as they are.
"""

import importlib
import importlib.metadata
import logging
import os
import sys
from typing import Dict, List, Optional, Set, Tuple

from clinic_runtime import patching
from clinic_runtime.registry import REGISTRY, WRITTEN_FOR, Change, supports

logger = logging.getLogger("clinic_runtime")

# Changes in effect, with the raw values their targets (and marks) had before them.
_applied: Dict[str, patching.Snapshot] = {}


def rasa_version() -> Optional[str]:
    """The installed Rasa's version, read from its package metadata (Rasa is not imported)."""
    try:
        return importlib.metadata.version("rasa")
    except importlib.metadata.PackageNotFoundError:
        return None


def skip_switches() -> Set[str]:
    """The names in ``CLINIC_RUNTIME_SKIP`` (changes, or parts of one such as lazy_imports)."""
    return {
        name.strip()
        for name in os.environ.get("CLINIC_RUNTIME_SKIP", "").split(",")
        if name.strip()
    }


def install() -> Tuple[str, ...]:
    """Apply every change not skipped, in the registry's order; the names now in effect."""
    version = rasa_version()
    if version is None or not supports(version):
        logger.warning(
            "Rasa %s is installed, but clinic_runtime's changes were written for "
            "Rasa %s: none applied, stock Rasa runs.",
            version or "(not found)",
            WRITTEN_FOR,
        )
        return applied()
    switches = skip_switches()
    skipped = [change.name for change in REGISTRY if change.name in switches]
    failed = [
        change.name for change in REGISTRY if change.name not in switches and not _apply(change)
    ]
    names = applied()
    line = (
        f"Rasa {version}: {len(names)} of {len(REGISTRY)} runtime changes applied "
        f"(clinic_runtime/registry.py): {', '.join(names) or 'none'}; "
        f"skipped (CLINIC_RUNTIME_SKIP): {', '.join(skipped) or 'none'}"
    )
    parts_off = sorted(switches - {change.name for change in REGISTRY})
    if parts_off:  # finer switches inside a change, e.g. lazy_imports
        line += f"; parts switched off: {', '.join(parts_off)}"
    if failed:
        line += f"; FAILED, Rasa's own code runs instead: {', '.join(failed)}"
    logger.info("%s.", line)
    return names


def _apply(change: Change) -> bool:
    """Apply one change and check it; put it back and log an ERROR if it did not work."""
    if change.name in _applied:
        if in_effect(change):
            return True  # applied before: install() is idempotent
        del _applied[change.name]  # put back by someone else: apply it again
    before: Optional[patching.Snapshot] = None
    try:
        module = importlib.import_module(change.module)
        # Reading the targets imports their modules; lazy_tensorflow's
        # (rasa.engine.storage.storage) imports neither rasa.core nor TensorFlow (tested).
        before = patching.snapshot(change.targets + change.marks)
        module.install()
    except Exception:  # noqa: BLE001 - one broken change must not stop the assistant
        logger.exception(
            "clinic_runtime change %s failed to install; Rasa's own code runs for that part.",
            change.name,
        )
        _put_back(change, before)
        return False
    if not in_effect(change):
        logger.error(
            "clinic_runtime change %s did not take effect (%s not replaced); "
            "Rasa's own code runs for that part.",
            change.name,
            ", ".join(not_replaced(change)) or "its installed() check is False",
        )
        _put_back(change, before)
        return False
    _applied[change.name] = before
    return True


def not_replaced(change: Change) -> List[str]:
    """The targets of ``change`` that are not (or no longer) its module's code."""
    return [
        target
        for target in change.targets
        if not patching.defined_in(patching.raw_value(target), change.module)
    ]


def in_effect(change: Change) -> bool:
    """Whether every target of ``change`` is its module's code (and its own check agrees)."""
    if not_replaced(change):
        return False
    module_check = getattr(importlib.import_module(change.module), "installed", None)
    return module_check() if callable(module_check) else True


def applied() -> Tuple[str, ...]:
    """The names of the changes in effect, in the order they were applied."""
    return tuple(
        change.name for change in REGISTRY if change.name in _applied and in_effect(change)
    )


def uninstall() -> Tuple[str, ...]:
    """Put back everything the applied changes replaced (last applied first); their names."""
    undone = []
    for change in reversed(REGISTRY):
        if change.name in _applied:
            _put_back(change, _applied.pop(change.name))
            undone.append(change.name)
    return tuple(reversed(undone))


def _put_back(change: Change, before: Optional[patching.Snapshot]) -> None:
    if before is not None:
        patching.restore(before)
    # Effects other than attributes (lazy_tensorflow's import finder) have their own undo.
    undo = getattr(sys.modules.get(change.module), "undo", None)
    if callable(undo):
        undo()
