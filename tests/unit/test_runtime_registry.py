"""clinic_runtime's registry and installer: what is applied, checked, logged and undone.

- the registry is true: every test it names exists, every Rasa name it lists is real, every
  figure cites a section of docs/benchmarks-levers.md, and the doc's table is the registry's;
- another Rasa major.minor: nothing applied, one WARNING;
- this Rasa: all 12 applied, one INFO line naming them; a change that does not take effect
  (or raises) is put back and logged as an ERROR;
- ``uninstall()`` puts Rasa's own objects back;
- ``python -m clinic_runtime`` shows the INFO line before Rasa has configured logging.
"""

import ast
import importlib
import inspect
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

import clinic_runtime
from clinic_runtime import installer, patching, registry, registry_table, startup_log
from clinic_runtime.registry import REGISTRY, module_of
from tests.fresh_process import run_fresh

PROJECT_DIR = Path(__file__).resolve().parents[2]
LEVERS_DOC = PROJECT_DIR / "docs" / "benchmarks-levers.md"
# A few of Rasa's objects that the changes replace (the raw values in their owners' dicts).
SAMPLE_TARGETS = (
    "rasa.core.actions.action.RemoteAction._validate_action_result",
    "rasa.core.agent.FailSafeTrackerStore",
    "rasa.nlu.utils.spacy_utils.SpacyNLP.load_model",
    "rasa.core.processor.copy",
    "rasa.core.policies.rule_policy.RulePolicy._predict",
    "rasa.shared.core.events.Event.__init_subclass__",
    "rasa.engine.storage.storage.ModelMetadata.from_dict",
)


def clinic_records(caplog, level):
    return [
        record
        for record in caplog.records
        if record.name == "clinic_runtime" and record.levelno == level
    ]


# --- the registry is true ------------------------------------------------------------------
def test_the_registry_lists_the_changes_in_install_order():
    assert tuple(change.name for change in REGISTRY) == clinic_runtime.CHANGES
    assert len(REGISTRY) == 12 and len(set(clinic_runtime.CHANGES)) == 12
    assert REGISTRY[0].name == "lazy_tensorflow", "it must come before rasa.core is imported"
    for change in REGISTRY:
        assert change.module == f"clinic_runtime.{change.name}"
        assert callable(importlib.import_module(change.module).install)
        assert change.targets and change.rasa_version == registry.WRITTEN_FOR


@pytest.mark.parametrize("change", REGISTRY, ids=lambda change: change.name)
def test_every_registered_test_exists(change):
    path, name = change.test.split("::")
    tree = ast.parse((PROJECT_DIR / path).read_text())
    defined = {
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    assert name in defined, f"{change.name}: {change.test} does not exist"


def test_the_changes_written_for_this_rasa_are_for_the_installed_one():
    assert registry.supports(installer.rasa_version())
    assert registry.supports("3.6.0") and registry.supports("3.6.21")
    assert not registry.supports("3.7.0") and not registry.supports("4.6.1")


@pytest.mark.parametrize("change", REGISTRY, ids=lambda change: change.name)
def test_every_target_is_an_attribute_rasa_has(change):
    for target in change.targets:
        module = importlib.import_module(module_of(target))
        assert module.__name__.startswith("rasa."), target
        owner, attribute = patching.owner_and_attribute(target)
        assert hasattr(owner, attribute), target


def _in_source(owner, attribute):
    """``attribute`` is set or used in the source of ``owner`` or its bases (instance ones)."""
    return inspect.isclass(owner) and any(
        attribute in inspect.getsource(cls)
        for cls in owner.__mro__
        if cls.__module__.startswith("rasa.")
    )


@pytest.mark.parametrize("change", REGISTRY, ids=lambda change: change.name)
def test_every_private_name_is_one_rasa_has(change):
    for name in change.private_names:
        owner, attribute = patching.owner_and_attribute(name)
        assert any(
            part.startswith("_") and not part.startswith("__") for part in name.split(".")
        ), f"{name} is not private"
        assert hasattr(owner, attribute) or _in_source(owner, attribute), name
    private_targets = {
        target
        for target in change.targets
        if target.rsplit(".", 1)[-1].startswith("_") and not target.endswith("__")
    }
    assert private_targets <= set(change.private_names), "a replaced private name is unlisted"


def test_every_figure_cites_a_section_of_the_levers_doc():
    sections = set(re.findall(r"^## (\d+)\. ", LEVERS_DOC.read_text(), re.MULTILINE))
    for change in REGISTRY:
        if change.saves.startswith("not measured separately"):
            continue
        assert registry.DOC in change.saves, change.name
        cited = re.findall(r"§(\d+)", change.saves)
        assert cited and set(cited) <= sections, (change.name, cited)


def test_the_defects_fixed_are_the_known_ones():
    fixes = {change.name for change in REGISTRY if change.fixes_defect}
    assert fixes == {"fast_validation", "keepalive_actions", "strict_tracker_store"}


def test_the_doc_shows_the_registry_as_it_is():
    text = LEVERS_DOC.read_text()
    assert registry_table.BEGIN in text and registry_table.END in text
    shown = text[
        text.index(registry_table.BEGIN) : text.index(registry_table.END) + len(registry_table.END)
    ]
    assert shown == registry_table.markdown(), (
        "docs/benchmarks-levers.md is out of date: paste `python -m clinic_runtime.registry_table`"
    )


# --- the Rasa version ----------------------------------------------------------------------
def test_another_rasa_gets_no_change_and_one_warning(monkeypatch, caplog, runtime_changes):
    from rasa.core.actions.action import RemoteAction

    monkeypatch.setattr(installer, "rasa_version", lambda: "3.7.2")
    before = {name: patching.raw_value(name) for name in SAMPLE_TARGETS}
    caplog.set_level(logging.INFO, logger="clinic_runtime")
    assert runtime_changes() == ()
    assert clinic_runtime.applied() == ()
    assert {name: patching.raw_value(name) for name in SAMPLE_TARGETS} == before
    assert RemoteAction._validate_action_result is before[SAMPLE_TARGETS[0]]
    warnings = clinic_records(caplog, logging.WARNING)
    assert len(warnings) == 1 and not clinic_records(caplog, logging.INFO)
    message = warnings[0].getMessage()
    assert "3.7.2" in message and "3.6.x" in message and "stock Rasa runs" in message


# --- applied, checked, logged ----------------------------------------------------------------
def test_this_rasa_gets_all_twelve_and_one_info_line(caplog, runtime_changes):
    caplog.set_level(logging.INFO, logger="clinic_runtime")
    assert runtime_changes() == clinic_runtime.CHANGES
    assert clinic_runtime.applied() == clinic_runtime.CHANGES
    (line,) = [record.getMessage() for record in clinic_records(caplog, logging.INFO)]
    assert "12 of 12 runtime changes applied" in line and installer.rasa_version() in line
    assert ", ".join(clinic_runtime.CHANGES) in line  # all twelve, in order
    assert "skipped (CLINIC_RUNTIME_SKIP): none" in line
    assert not clinic_records(caplog, logging.ERROR)
    for change in REGISTRY:
        assert installer.in_effect(change), change.name


def test_skipped_changes_and_parts_are_named(monkeypatch, caplog, runtime_changes):
    monkeypatch.setenv("CLINIC_RUNTIME_SKIP", "rule_index, lazy_imports,lazy_tensorflow")
    caplog.set_level(logging.INFO, logger="clinic_runtime")
    names = runtime_changes()
    assert "rule_index" not in names and "lazy_tensorflow" not in names and len(names) == 10
    (line,) = [record.getMessage() for record in clinic_records(caplog, logging.INFO)]
    assert "10 of 12" in line
    assert "skipped (CLINIC_RUNTIME_SKIP): lazy_tensorflow, rule_index" in line
    assert "parts switched off: lazy_imports" in line


def test_a_change_that_does_not_take_effect_is_logged_as_an_error(
    monkeypatch, caplog, runtime_changes
):
    from rasa.core.policies.rule_policy import RulePolicy

    from clinic_runtime import rule_index

    rasas = RulePolicy._get_possible_keys
    monkeypatch.setattr(rule_index, "install", lambda: None)  # replaces nothing
    caplog.set_level(logging.INFO, logger="clinic_runtime")
    assert runtime_changes("rule_index", "event_types") == ("event_types",)
    assert RulePolicy._get_possible_keys is rasas
    (error,) = clinic_records(caplog, logging.ERROR)
    assert "rule_index" in error.getMessage()
    assert "RulePolicy._get_possible_keys" in error.getMessage()
    (line,) = [record.getMessage() for record in clinic_records(caplog, logging.INFO)]
    assert "FAILED, Rasa's own code runs instead: rule_index" in line


def test_a_change_that_raises_halfway_is_put_back(monkeypatch, caplog, runtime_changes):
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.processor import MessageProcessor

    from clinic_runtime import tracker_replays

    rasas_predict, rasas_run_action = RulePolicy._predict, MessageProcessor._run_action

    def half_then_broken():
        tracker_replays._install_rule_states_once()
        raise RuntimeError("Rasa changed under us")

    monkeypatch.setattr(tracker_replays, "install", half_then_broken)
    caplog.set_level(logging.INFO, logger="clinic_runtime")
    assert runtime_changes("tracker_replays") == ()
    assert RulePolicy._predict is rasas_predict  # the half that was applied is put back
    assert MessageProcessor._run_action is rasas_run_action
    (error,) = clinic_records(caplog, logging.ERROR)
    assert "tracker_replays" in error.getMessage() and error.exc_info is not None


# --- undone ----------------------------------------------------------------------------------
def test_uninstall_puts_rasas_own_objects_back(runtime_changes):
    from rasa.shared.core.events import Event

    before = {name: patching.raw_value(name) for name in SAMPLE_TARGETS}
    assert before["rasa.shared.core.events.Event.__init_subclass__"] is patching.MISSING
    runtime_changes()
    for name in SAMPLE_TARGETS:
        assert patching.raw_value(name) is not before[name], f"{name} was not replaced"
    assert hasattr(Event, "_clinic_original_resolve_by_type")

    assert clinic_runtime.uninstall() == clinic_runtime.CHANGES
    for name in SAMPLE_TARGETS:
        assert patching.raw_value(name) is before[name], f"{name} is not Rasa's again"
    assert not hasattr(Event, "_clinic_original_resolve_by_type")  # our marks go as well
    from clinic_runtime import lazy_tensorflow

    assert lazy_tensorflow._FINDER not in sys.meta_path
    assert clinic_runtime.applied() == ()
    # and it can be applied again (the fixture undoes it at the end)
    assert runtime_changes() == clinic_runtime.CHANGES


# --- start-up ------------------------------------------------------------------------------
def test_reading_lazy_tensorflows_target_imports_nothing_it_keeps_out():
    """install() reads each change's targets first: lazy_tensorflow's must not import
    rasa.core, TensorFlow, thinc or a module it loads lazily."""
    out = run_fresh("""
import json, sys
from clinic_runtime import patching, registry
patching.snapshot(registry.by_name("lazy_tensorflow").targets)
print(json.dumps(sorted(name for name in ("rasa.core", "rasa.utils.train_utils", "tensorflow",
                                          "thinc", "dask", "rasa.core.jobs", "skops.io")
                        if name in sys.modules)))
""")
    assert out == []


def test_rasas_cli_log_level_is_read_from_its_options(monkeypatch):
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    level = startup_log.rasa_cli_log_level
    assert level(["run", "--port", "5005"]) == logging.INFO
    assert level(["run", "--quiet"]) == logging.WARNING
    assert level(["run", "-vv"]) == level(["run", "--debug"]) == logging.DEBUG
    monkeypatch.setenv("LOG_LEVEL", "warning")
    assert level(["run"]) == logging.WARNING and level(["run", "-v"]) == logging.INFO


def test_the_info_line_is_in_the_log_of_python_m_clinic_runtime():
    """`rasa --version` configures logging as `rasa run` does; our line comes before that."""
    result = subprocess.run(
        [sys.executable, "-m", "clinic_runtime", "--version"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "HOME": str(Path.home()),
            "RASA_TELEMETRY_ENABLED": "false",
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if "runtime changes applied" in line]
    assert len(lines) == 1, result.stderr[-3000:]
    assert re.search(r"INFO +clinic_runtime +- Rasa 3\.6\.\d+: 12 of 12 runtime changes", lines[0])
