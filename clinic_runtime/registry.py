"""Every change clinic_runtime makes to Rasa, one record each, in the order they are applied.

A record says what a change replaces in Rasa, which Rasa it was written for, what it saves
(figures copied from docs/benchmarks-levers.md, section given; none invented), which test
checks it, and whether it fixes a real Rasa defect rather than only speeding Rasa up.
``install()`` (clinic_runtime/installer.py) applies the records in this order and checks each
one took effect; docs/benchmarks-levers.md shows them as a table
(``python -m clinic_runtime.registry_table`` prints it).

Dotted names: Rasa's module names are lower case and its classes capitalised, so a name's
module is everything before its first capitalised part (all but the last part when none is):
``rasa.core.policies.rule_policy.RulePolicy._predict`` lives in
``rasa.core.policies.rule_policy``. tests/unit/test_runtime_registry.py checks every name.

Nothing here imports Rasa: ``lazy_tensorflow`` must be installed before ``rasa.core`` is.
"""

from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple

# The Rasa these changes were written and tested against (3.6.21 when this was written).
WRITTEN_FOR = "3.6.x"
DOC = "docs/benchmarks-levers.md"


@dataclass(frozen=True)
class Change:
    """One change to Rasa's behaviour (see the module docstring)."""

    name: str  # also its CLINIC_RUNTIME_SKIP switch
    module: str  # whose install() applies it
    summary: str  # what it does, one line
    targets: Tuple[str, ...]  # the Rasa attributes it replaces (dotted)
    saves: str  # one line, with the figure and section of DOC
    test: str  # path::test name
    private_names: Tuple[str, ...] = ()  # ``_names`` it replaces, calls, reads or mirrors
    fixes_defect: Optional[str] = None  # the Rasa defect it fixes, if it is not only speed
    marks: Tuple[str, ...] = ()  # attributes of ours it adds to Rasa's classes (undone too)
    rasa_version: str = WRITTEN_FOR


RULE_POLICY = "rasa.core.policies.rule_policy.RulePolicy"
COUNT_VECTORS = (
    "rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer.CountVectorsFeaturizer"
)
LOGISTIC_REGRESSION = (
    "rasa.nlu.classifiers.logistic_regression_classifier.LogisticRegressionClassifier"
)
MESSAGE = "rasa.shared.nlu.training_data.message.Message"
TRACKER_FEATURIZER = "rasa.core.featurizers.tracker_featurizers.TrackerFeaturizer"

REGISTRY: Tuple[Change, ...] = (
    # First: it must be in place before anything imports rasa.core.
    Change(
        name="lazy_tensorflow",
        module="clinic_runtime.lazy_tensorflow",
        summary="TensorFlow kept out of a model that does not use it (rasa.utils.train_utils, "
        "dask and rasa.core.jobs loaded on first use, the training graph resolved on "
        "first use); skops' trusted-type lists computed faster",
        targets=("rasa.engine.storage.storage.ModelMetadata.from_dict",),
        saves="RSS after the first answer -345 to -380 MB (0.48x), model load about -4.5 s "
        f"({DOC} §3); cold start 4.31 -> 3.75 s, medians (§15)",
        test="tests/unit/test_clinic_runtime.py::"
        "test_our_model_loads_and_answers_without_tensorflow",
        # skops' (not Rasa's): replaced only while skops.io._trusted_types is first imported.
        private_names=("skops.io._utils.whichmodule", "skops.io._utils._getattribute"),
    ),
    Change(
        name="fast_validation",
        module="clinic_runtime.fast_validation",
        summary="action-server replies validated by a schema compiled once; valid ones by a "
        "fast check that dispatches the events' oneOf on the event name",
        targets=("rasa.core.actions.action.RemoteAction._validate_action_result",),
        saves="a reply's validation 1.34 ms -> 2 us of CPU; about 1.5-2.5 ms less Rasa CPU "
        f"per message ({DOC} §16; schema compiled once: §1)",
        test="tests/unit/test_fast_validation.py::"
        "test_generated_replies_get_the_same_decision_and_error_as_rasa",
        private_names=("rasa.core.actions.action.RemoteAction._validate_action_result",),
        fixes_defect="Rasa re-checks its constant response schema against the JSON-Schema "
        "meta-schema on every action-server reply",
    ),
    Change(
        name="strict_tracker_store",
        module="clinic_runtime.strict_tracker_store",
        summary="a tracker store outage fails the message (the visitor is asked to try "
        "again) instead of continuing in memory",
        targets=("rasa.core.agent.FailSafeTrackerStore",),
        saves="not measured separately (a safety change, not a speed-up)",
        test="tests/unit/test_strict_tracker_store.py::"
        "test_saving_during_an_outage_fails_instead_of_keeping_it_in_memory",
        private_names=("rasa.core.agent.Agent._create_tracker_store",),
        fixes_defect="Rasa silently falls back to an empty in-memory conversation when the "
        "tracker store fails, forgetting a disclosed condition",
    ),
    Change(
        name="spacy_once",
        module="clinic_runtime.spacy_once",
        summary="the spaCy pipeline loaded once per model, not once per SpacyNLP graph node",
        targets=("rasa.nlu.utils.spacy_utils.SpacyNLP.load_model",),
        saves=f"start-up -0.4 to -0.9 s; RSS after the first answer 390 -> 377 MB ({DOC} §8)",
        test="tests/unit/test_runtime_levers.py::test_levers_give_identical_parses_and_dialogue",
    ),
    Change(
        name="sklearn_layout",
        module="clinic_runtime.sklearn_layout",
        summary="the intent classifier's weights kept in Fortran order; its one-row input "
        "built from the sentence features only",
        targets=(f"{LOGISTIC_REGRESSION}.process", f"{LOGISTIC_REGRESSION}._create_X"),
        saves=f"`X @ coef_.T` 0.36 -> 0.007 ms per message ({DOC} §9); `_create_X` 0.41-0.45 -> "
        "0.19 s per 300 messages (§18)",
        test="tests/unit/test_runtime_levers.py::test_classifier_input_matrix_equals_rasas",
        private_names=(
            f"{LOGISTIC_REGRESSION}._create_X",
            f"{MESSAGE}._filter_sparse_features",
            f"{MESSAGE}._filter_dense_features",
        ),
    ),
    Change(
        name="sequential_graph",
        module="clinic_runtime.sequential_graph",
        summary="the prediction graph run in plain Python (topological order) instead of dask",
        targets=("rasa.core.processor.DaskGraphRunner",),
        saves=f"NLU parse CPU per message 3.89 -> 3.17 ms ({DOC} §10)",
        test="tests/unit/test_runtime_levers.py::test_levers_give_identical_parses_and_dialogue",
        private_names=(
            "rasa.engine.runner.dask.DaskGraphRunner._graph_schema",
            "rasa.engine.runner.dask.DaskGraphRunner._instantiated_nodes",
        ),
    ),
    Change(
        name="event_types",
        module="clinic_runtime.event_types",
        summary="an event's class found by its type name in a table, not by walking every "
        "Event subclass for each event",
        targets=(
            "rasa.shared.core.events.Event.resolve_by_type",
            "rasa.shared.core.events.Event.__init_subclass__",
        ),
        saves=f"`all_subclasses` calls 80,190 -> 0 per 300 messages, ~4% of the profile ({DOC} "
        "§17)",
        test="tests/unit/test_runtime_levers.py::"
        "test_event_types_table_gives_rasas_class_for_every_name",
        marks=("rasa.shared.core.events.Event._clinic_original_resolve_by_type",),
    ),
    Change(
        name="bookkeeping",
        module="clinic_runtime.bookkeeping",
        summary="debug-log deep copies made only when debug logging is on; the empty domain's "
        "dict built once",
        targets=(
            "rasa.core.processor.copy",
            "rasa.core.policies.rule_policy.copy",
            "rasa.shared.core.domain.Domain.is_empty",
        ),
        saves=f"~3% of the profile: 8,125 deep copies per 300 messages -> 0 at INFO ({DOC} §17)",
        test="tests/unit/test_runtime_levers.py::"
        "test_every_copy_in_the_patched_modules_is_a_debug_log_argument",
    ),
    Change(
        name="rule_index",
        module="clinic_runtime.rule_index",
        summary="RulePolicy's first pass over its rules limited to those whose last turn can match",
        targets=(f"{RULE_POLICY}._get_possible_keys",),
        saves=f"`_is_rule_applicable` calls 82,641 -> 2,025 per 300 messages ({DOC} §17)",
        test="tests/unit/test_runtime_levers.py::test_rule_index_finds_the_same_rules_as_rasa",
        private_names=(
            f"{RULE_POLICY}._get_possible_keys",
            f"{RULE_POLICY}._rule_key_to_state",
            f"{RULE_POLICY}._is_rule_applicable",
            f"{RULE_POLICY}._does_rule_match_state",
        ),
        marks=(f"{RULE_POLICY}._clinic_original_get_possible_keys",),
    ),
    Change(
        name="keepalive_actions",
        module="clinic_runtime.keepalive_actions",
        summary="calls to the action server over kept-alive connections, closed with Rasa's "
        "clean-up",
        targets=("rasa.utils.endpoints.EndpointConfig.session", "rasa.core.run.close_resources"),
        saves=f"TCP connections opened per message ~2.4 -> ~0; CPU within the A/B's noise ({DOC} "
        "§20)",
        test="tests/unit/test_keepalive_actions.py::"
        "test_calls_share_one_connection_and_answer_as_before",
        fixes_defect="Rasa opens a new HTTP session (a new TCP connection, a socket left in "
        "TIME_WAIT) for every custom-action call",
    ),
    Change(
        name="lazy_sequence_features",
        module="clinic_runtime.lazy_sequence_features",
        summary="count-vector sequence features (unused by our classifier) computed only if "
        "something reads them",
        targets=(f"{COUNT_VECTORS}.process",),
        saves=f"the two featurizers 0.58 -> 0.40 ms per message ({DOC} §24)",
        test="tests/unit/test_runtime_levers.py::"
        "test_count_vector_features_equal_rasas_and_sequence_ones_stay_unread",
        private_names=(
            f"{COUNT_VECTORS}._get_processed_message_tokens_by_attribute",
            f"{COUNT_VECTORS}._attributes",
            f"{COUNT_VECTORS}._create_features",
            "rasa.nlu.featurizers.featurizer.Featurizer._identifier",
            "rasa.shared.nlu.training_data.features.Features._cached_fingerprint",
        ),
    ),
    Change(
        name="tracker_replays",
        module="clinic_runtime.tracker_replays",
        summary="RulePolicy's states computed once per prediction; no tracker copy for "
        "actions that only read it",
        targets=(
            f"{RULE_POLICY}._predict",
            f"{TRACKER_FEATURIZER}._create_states",
            "rasa.core.processor.MessageProcessor._run_action",
        ),
        saves=f"state replays 305 -> 222 on 231 rule turns, tracker copies 16 -> 9 in 7 "
        f"messages; time not measured separately ({DOC} §27)",
        test="tests/unit/test_runtime_levers.py::"
        "test_rule_predictions_equal_rasas_with_fewer_state_replays",
        private_names=(
            f"{RULE_POLICY}._predict",
            f"{TRACKER_FEATURIZER}._create_states",
            "rasa.core.processor.MessageProcessor._run_action",
            "rasa.core.policies.policy.Policy._prediction_states",
            f"{TRACKER_FEATURIZER}._choose_last_user_input",
        ),
    ),
)

CHANGES: Tuple[str, ...] = tuple(change.name for change in REGISTRY)


def by_name(name: str) -> Change:
    """The record called ``name`` (KeyError if there is none)."""
    for change in REGISTRY:
        if change.name == name:
            return change
    raise KeyError(name)


def module_of(dotted: str) -> str:
    """The module part of a dotted name (see the module docstring)."""
    parts = dotted.split(".")
    for index, part in enumerate(parts):
        if part[:1].isupper():
            return ".".join(parts[:index])
    return ".".join(parts[:-1])


def rasa_private_names() -> FrozenSet[str]:
    """Rasa's private (``_``) names that the changes replace, call, read or mirror."""
    return frozenset(
        name for change in REGISTRY for name in change.private_names if name.startswith("rasa.")
    )


def rasa_modules_touched() -> FrozenSet[str]:
    """The Rasa modules whose names the changes replace or depend on."""
    names = {name for change in REGISTRY for name in change.targets} | rasa_private_names()
    return frozenset(module_of(name) for name in names)


def supports(rasa_version: str) -> bool:
    """Whether every change was written for ``rasa_version``'s major.minor (3.6.x: any 3.6)."""

    def major_minor(version: str) -> Tuple[str, ...]:
        return tuple(version.split(".")[:2])

    return all(major_minor(change.rasa_version) == major_minor(rasa_version) for change in REGISTRY)
