"""Two per-message chores of Rasa 3.6 done without building objects nobody looks at.

1. Debug-log copies. ``rasa.core.processor`` and ``rasa.core.policies.rule_policy`` pass
   ``copy.deepcopy(...)`` of events, entities and states to ``structlogger.debug(...)`` several
   times per message. Python evaluates the copy before structlog drops the debug entry, so with
   logging at INFO (how the assistant runs) every copy is thrown away unread. Here the ``copy``
   name in those two modules points at a stand-in whose ``deepcopy`` copies only when the
   module's logger is enabled for DEBUG (``rasa run --debug``: the log is exactly as before);
   otherwise it hands the value to the dropped log call as it is. The unit test checks, in
   Rasa's source, that every ``copy.`` use in those modules is inside a ``structlogger.debug``
   call, so a future Rasa that copies for real fails the test instead of changing behaviour.
2. ``Domain.is_empty`` (asked on every parse, ``_check_for_unseen_features``) builds a whole
   new empty Domain to compare against. The empty domain's dict is the same every time; it is
   built once here.

Measured: ~3% of the Rasa server's CPU per message together (docs/benchmarks-levers.md).
"""

import copy
import functools
import logging
import sys
import types
from typing import Any, Dict

MODULES_WITH_DEBUG_COPIES = ("rasa.core.processor", "rasa.core.policies.rule_policy")


def _copy_for_debug_log(module_name: str) -> types.SimpleNamespace:
    """A stand-in for the ``copy`` module, used only in debug-log arguments of ``module_name``."""
    logger = logging.getLogger(module_name)  # the logger structlog's level filter asks

    def deepcopy(value: Any, memo: Any = None) -> Any:
        if logger.isEnabledFor(logging.DEBUG):
            return copy.deepcopy(value, memo)
        return value  # the debug entry is dropped unread

    return types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy, Error=copy.Error)


@functools.lru_cache(maxsize=1)
def _empty_domain_dict() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.empty().as_dict()


def _is_empty(self: Any) -> bool:
    """Same answer as Rasa's ``Domain.is_empty`` (its dict equals the empty domain's)."""
    return self.as_dict() == _empty_domain_dict()


def install() -> None:
    """Apply both changes (idempotent)."""
    import rasa.core.policies.rule_policy  # noqa: F401
    import rasa.core.processor  # noqa: F401
    from rasa.shared.core.domain import Domain

    for name in MODULES_WITH_DEBUG_COPIES:
        module: Any = sys.modules[name]
        if getattr(module, "copy", None) is copy:
            module.copy = _copy_for_debug_log(name)
    if Domain.is_empty is not _is_empty:
        Domain.is_empty = _is_empty
