"""How we start Rasa: `python -m clinic_runtime run ...` is `rasa run ...` with documented changes.

Speed-ups (docs/benchmarks.md) and one safety change: a tracker store outage fails the
message ("please try again") instead of Rasa's silent fallback to an empty conversation
(clinic_runtime/strict_tracker_store.py). Every change to Rasa's behaviour lives here, is
listed in ``install()``, and is tested in tests/unit/test_clinic_runtime.py (and
tests/unit/test_strict_tracker_store.py). Measured effects are in docs/benchmarks.md.
"""

from clinic_runtime.fast_validation import install as install_fast_validation
from clinic_runtime.strict_tracker_store import install as install_strict_tracker_store


def install() -> None:
    """Apply every runtime change (idempotent)."""
    install_fast_validation()
    install_strict_tracker_store()
