"""Read, check and put back the Rasa attributes a change replaces (by their dotted names).

Values are read from the owner's own ``__dict__``: the raw ``staticmethod`` / ``classmethod``
objects, and ``MISSING`` for a name the owner only inherits (``Event.__init_subclass__``), so
that putting a snapshot back restores Rasa's objects themselves, or deletes what we added.
"""

import importlib
import types
from typing import Any, Dict, Iterable, Tuple

from clinic_runtime.registry import module_of

MISSING = object()  # the owner had no attribute of that name of its own
Snapshot = Dict[str, Any]


def owner_and_attribute(dotted: str) -> Tuple[Any, str]:
    """The object that holds ``dotted``'s last part (importing its module), and that part."""
    module_name = module_of(dotted)
    owner: Any = importlib.import_module(module_name)
    path = dotted[len(module_name) + 1 :].split(".")
    for part in path[:-1]:
        owner = getattr(owner, part)
    return owner, path[-1]


def raw_value(dotted: str) -> Any:
    owner, attribute = owner_and_attribute(dotted)
    return vars(owner).get(attribute, MISSING)


def snapshot(names: Iterable[str]) -> Snapshot:
    """The current raw value of each name (imports the modules that hold them)."""
    return {name: raw_value(name) for name in names}


def restore(saved: Snapshot) -> None:
    """Put every name of ``saved`` back as it was (deleting those that were not there)."""
    for name, value in reversed(list(saved.items())):
        owner, attribute = owner_and_attribute(name)
        if value is MISSING:
            if attribute in vars(owner):
                delattr(owner, attribute)
        else:
            setattr(owner, attribute, value)


def defined_in(value: Any, module_name: str) -> bool:
    """Whether ``value`` (a raw attribute value) is code from ``module_name``."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, types.SimpleNamespace):  # a stand-in module (bookkeeping's ``copy``)
        return any(defined_in(item, module_name) for item in vars(value).values())
    return getattr(value, "__module__", None) == module_name
