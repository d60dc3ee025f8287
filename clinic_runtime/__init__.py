"""How we start Rasa: `python -m clinic_runtime run ...` is `rasa run ...` with documented changes:
speed-ups, and one safety change (a tracker store outage is never silent).

Every change to Rasa's behaviour lives here, is listed in ``install()``, and is tested in
tests/unit/test_clinic_runtime.py. Measured effects are in docs/benchmarks-levers.md.

Nothing from Rasa is imported at the top of this package: ``lazy_tensorflow`` must be installed
before ``rasa.core`` is first imported, so each change is imported inside ``install()``.
"""


import os

CHANGES = ("lazy_tensorflow", "fast_validation", "strict_tracker_store", "spacy_once",
           "sklearn_layout", "sequential_graph", "event_types",
           "bookkeeping", "rule_index", "keepalive_actions", "lazy_sequence_features",
           "tracker_replays")


def install() -> None:
    """Apply every runtime change (idempotent), in this order.

    ``CLINIC_RUNTIME_SKIP=name,name`` leaves the named changes out: only for measuring a
    change against stock Rasa (scripts/bench_ab.py), never needed to run the assistant.
    ``saved_slots`` there makes the cached tracker store (endpoints.yml) forget the slots it
    saved, so the website channel's reply guard reads the conversation again, as before.
    """
    skip = {name.strip() for name in os.environ.get("CLINIC_RUNTIME_SKIP", "").split(",")}
    # 1. Before anything imports rasa.core: keep TensorFlow out of a model that does not use it.
    if "lazy_tensorflow" not in skip:
        from clinic_runtime import lazy_tensorflow

        lazy_tensorflow.install()
    # 2. Action-server replies validated by a schema compiled once, valid ones by a fast check
    # that dispatches the events' oneOf on the event name (anything else: jsonschema, as Rasa).
    if "fast_validation" not in skip:
        from clinic_runtime import fast_validation

        fast_validation.install()
    # 3. Not for speed, for safety: a tracker store outage fails the message ("please try
    # again") instead of Rasa's silent fallback to an empty in-memory conversation, which
    # would forget a disclosed condition (clinic_runtime/strict_tracker_store.py).
    if "strict_tracker_store" not in skip:
        from clinic_runtime import strict_tracker_store

        strict_tracker_store.install()
    # 4. The spaCy pipeline loaded once per model, not once per SpacyNLP graph node.
    if "spacy_once" not in skip:
        from clinic_runtime import spacy_once

        spacy_once.install()
    # 5. The intent classifier's weights kept in the order its prediction reads them.
    if "sklearn_layout" not in skip:
        from clinic_runtime import sklearn_layout

        sklearn_layout.install()
    # 6. The prediction graph run in plain Python (topological order) instead of dask.
    if "sequential_graph" not in skip:
        from clinic_runtime import sequential_graph

        sequential_graph.install()
    # 7. An event's class found by its type name in a table, not by walking every Event
    # subclass for each event read (clinic_runtime/event_types.py).
    if "event_types" not in skip:
        from clinic_runtime import event_types

        event_types.install()
    # 8. Debug-log copies made only when debug logging is on, and the empty domain's dict built
    # once instead of on every parse (clinic_runtime/bookkeeping.py).
    if "bookkeeping" not in skip:
        from clinic_runtime import bookkeeping

        bookkeeping.install()
    # 9. RulePolicy's first pass over its rules limited to those whose last turn can match
    # (clinic_runtime/rule_index.py).
    if "rule_index" not in skip:
        from clinic_runtime import rule_index

        rule_index.install()
    # 10. Calls to the action server over kept-alive connections, not a new connection per
    # custom action (clinic_runtime/keepalive_actions.py).
    if "keepalive_actions" not in skip:
        from clinic_runtime import keepalive_actions

        keepalive_actions.install()
    # 11. Count-vector sequence features (one row per token, unused by our classifier)
    # computed only if something reads them (clinic_runtime/lazy_sequence_features.py).
    if "lazy_sequence_features" not in skip:
        from clinic_runtime import lazy_sequence_features

        lazy_sequence_features.install()
    # 12. RulePolicy's states computed once per prediction (not once for the text pass and
    # again for the intent pass), and no tracker copy for actions that only read it
    # (clinic_runtime/tracker_replays.py).
    if "tracker_replays" not in skip:
        from clinic_runtime import tracker_replays

        tracker_replays.install()
