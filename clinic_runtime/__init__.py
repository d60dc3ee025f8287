"""How we start Rasa: `python -m clinic_runtime run ...` is `rasa run ...` with documented changes:
speed-ups, and one safety change (a tracker store outage is never silent).

Every change to Rasa's behaviour lives here, is listed in ``install()``, and is tested in
tests/unit/test_clinic_runtime.py. Measured effects are in docs/benchmarks-levers.md.

Nothing from Rasa is imported at the top of this package: ``lazy_tensorflow`` must be installed
before ``rasa.core`` is first imported, so each change is imported inside ``install()``.
"""


import os

CHANGES = ("lazy_tensorflow", "fast_validation", "strict_tracker_store")


def install() -> None:
    """Apply every runtime change (idempotent), in this order.

    ``CLINIC_RUNTIME_SKIP=name,name`` leaves the named changes out: only for measuring a
    change against stock Rasa (scripts/bench_ab.py), never needed to run the assistant.
    """
    skip = {name.strip() for name in os.environ.get("CLINIC_RUNTIME_SKIP", "").split(",")}
    # 1. Before anything imports rasa.core: keep TensorFlow out of a model that does not use it.
    if "lazy_tensorflow" not in skip:
        from clinic_runtime import lazy_tensorflow

        lazy_tensorflow.install()
    # 2. Action-server replies validated by a schema compiled once.
    if "fast_validation" not in skip:
        from clinic_runtime import fast_validation

        fast_validation.install()
    # 3. Not for speed, for safety: a tracker store outage fails the message ("please try
    # again") instead of Rasa's silent fallback to an empty in-memory conversation, which
    # would forget a disclosed condition (clinic_runtime/strict_tracker_store.py).
    if "strict_tracker_store" not in skip:
        from clinic_runtime import strict_tracker_store

        strict_tracker_store.install()
