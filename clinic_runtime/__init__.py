"""How we start Rasa: `python -m clinic_runtime run ...` is `rasa run ...` with documented changes:
speed-ups, and one safety change (a tracker store outage is never silent).

Every change to Rasa's behaviour has a record in ``clinic_runtime/registry.py``: what it
replaces in Rasa, the Rasa it was written for (3.6.x), what it saves (docs/benchmarks-levers.md,
which shows the registry as a table), its test, and the Rasa defect it fixes, if any.

- ``install()`` (clinic_runtime/installer.py) applies them in the registry's order, only on the
  Rasa major.minor they were written for (otherwise none, with a WARNING: stock Rasa runs),
  checks that each took effect (an ERROR names one that did not; Rasa's own code then runs for
  that part) and logs one INFO line with what was applied and skipped.
  ``CLINIC_RUNTIME_SKIP=name,name`` leaves changes (or parts of one) out: only for measuring a
  change against stock Rasa (clinic_bench/levers_ab.py), never needed to run the assistant.
- ``applied()``: the names of the changes in effect. ``uninstall()``: Rasa's originals back
  (tests).

Nothing from Rasa is imported at the top of this package: ``lazy_tensorflow`` must be installed
before ``rasa.core`` is first imported, so each change's module is imported by ``install()``.
Not in the registry because they are not changes to Rasa's code but classes that endpoints.yml
selects: ``tracker_store.CachedSQLTrackerStore`` and ``lock_store.CrashSafeRedisLockStore``.
"""

from clinic_runtime.installer import applied, install, uninstall
from clinic_runtime.registry import CHANGES

__all__ = ["CHANGES", "applied", "install", "uninstall"]
