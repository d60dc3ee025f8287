"""How we start Rasa: `python -m clinic_runtime run ...` is `rasa run ...` with documented speed-ups.

Every change to Rasa's behaviour lives here, is listed in ``install()``, and is tested in
tests/unit/test_clinic_runtime.py. Measured effects are in docs/benchmarks.md.
"""

from clinic_runtime.fast_validation import install as install_fast_validation


def install() -> None:
    """Apply every runtime change (idempotent)."""
    install_fast_validation()
