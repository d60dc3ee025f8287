"""Start-up imports that serving does not need (clinic_runtime/lazy_tensorflow.py,
clinic_runtime/skops_fast_types.py), checked in fresh processes:

- lazy_imports: loading our model and answering leaves dask and apscheduler (rasa.core.jobs)
  unloaded; their first real use (a reminder, a dask graph run as in training) loads them;
- skops_fast_types: skops' trusted-type lists are exactly the ones skops computes itself, and
  the faster ``whichmodule`` answers like skops' on awkward ``sys.modules`` entries.
"""

from pathlib import Path

import pytest

from tests.fresh_process import run_fresh

PROJECT_DIR = Path(__file__).resolve().parents[2]
MODEL = PROJECT_DIR / "models" / "clinic-assistant.tar.gz"


# Whether a package's code has run: a LazyLoader module not yet used does not count.
LOADED = """
import sys, types
def loaded(name):
    return sorted(m for m, module in list(sys.modules.items())
                  if (m == name or m.startswith(name + ".")) and type(module) is types.ModuleType)
"""


# --- lazy_imports ----------------------------------------------------------------------------
@pytest.mark.needs_model
def test_serving_our_model_imports_neither_dask_nor_apscheduler():
    out = run_fresh(
        LOADED
        + f"""
import asyncio, json
from datetime import datetime, timedelta
import clinic_runtime
clinic_runtime.install()
import rasa.__main__, rasa.core.run, rasa.server  # what `rasa run` imports
from rasa.core.agent import Agent
agent = Agent.load({str(MODEL)!r})
parsed = asyncio.run(agent.parse_message("I'm pregnant, can I still have the facial?"))
asyncio.run(agent.handle_text("hello", sender_id="t"))  # policies too (no action server)
asyncio.run(agent.handle_text("does it hurt?", sender_id="t"))
serving = {{name: loaded(name) for name in ("dask", "apscheduler", "rasa.core.jobs", "tensorflow")}}

async def reminder():  # Rasa's reminder path: the first use of rasa.core.jobs loads it
    from rasa.core import jobs
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.shared.core.events import ReminderScheduled
    tracker = await agent.tracker_store.retrieve("t")
    event = ReminderScheduled("greet", datetime.now() + timedelta(hours=1), name="r1")
    await agent.processor._schedule_reminders([event], tracker, CollectingOutputChannel())
    scheduler = await jobs.scheduler()
    ids = [job.id for job in scheduler.get_jobs()]
    jobs.kill_scheduler()
    return ids, type(scheduler).__name__
ids, scheduler = asyncio.run(reminder())
print(json.dumps({{"serving": serving, "intent": parsed["intent"]["name"],
                   "runner": type(agent.processor.graph_runner).__name__,
                   "reminder_ids": ids, "scheduler": scheduler,
                   "apscheduler_after": bool(loaded("apscheduler"))}}))
"""
    )
    assert out["serving"] == {
        "dask": [],
        "apscheduler": [],
        "rasa.core.jobs": [],
        "tensorflow": [],
    }, "a start-up import came back while serving"
    assert out["intent"] and out["runner"] == "SequentialGraphRunner"
    assert out["reminder_ids"] == ["r1"] and out["scheduler"] == "AsyncIOScheduler"
    assert out["apscheduler_after"] is True


def test_dask_loads_on_first_use_as_in_training():
    """Training runs its graph with DaskGraphRunner: ``dask.get`` loads dask and works."""
    out = run_fresh(
        LOADED
        + """
import json
from types import SimpleNamespace
import clinic_runtime
clinic_runtime.install()
import rasa.core.processor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.training.graph_trainer import GraphTrainer  # what `rasa train` runs
before = loaded("dask")
runner = DaskGraphRunner.__new__(DaskGraphRunner)
needs = {"a": ["__in__"], "b": ["a"]}
schema = SimpleNamespace(target_names=["b"],
    nodes={n: SimpleNamespace(needs=dict(enumerate(d))) for n, d in needs.items()})
schema.minimal_graph_schema = lambda targets: schema
runner._graph_schema, runner._execution_context = schema, None
runner._instantiated_nodes = {n: (lambda n: lambda *inputs: (n, [v for _, v in inputs]))(n)
                              for n in needs}
result = runner.run(inputs={"__in__": 1})
print(json.dumps({"before": before, "after": "dask" in loaded("dask"), "result": result}))
"""
    )
    assert out == {"before": [], "after": True, "result": {"b": [[1]]}}


def test_skip_lazy_imports_imports_them_as_rasa_does():
    out = run_fresh(
        LOADED
        + """
import json
import clinic_runtime
clinic_runtime.install()
import rasa.core.processor, rasa.core.agent
print(json.dumps({"dask": "dask" in loaded("dask"),
                  "apscheduler": bool(loaded("apscheduler"))}))
""",
        skip="lazy_imports",
    )
    assert out == {"dask": True, "apscheduler": True}


# --- skops_fast_types ------------------------------------------------------------------------
LISTS = """
import json, sys
import clinic_runtime
clinic_runtime.install()
from clinic_runtime import skops_fast_types
import skops.io._trusted_types as trusted
import skops.io._utils as utils
NAMES = ("PRIMITIVE_TYPE_NAMES", "SKLEARN_ESTIMATOR_TYPE_NAMES", "SCIPY_UFUNC_TYPE_NAMES",
         "NUMPY_UFUNC_TYPE_NAMES", "NUMPY_DTYPE_TYPE_NAMES")
lists = {name: list(getattr(trusted, name)) for name in NAMES}
"""


def test_trusted_type_lists_equal_skops_own():
    """Same lists, same order: fast import vs skops unchanged (another process) vs a reload."""
    fast = run_fresh(
        LISTS
        + """
restored = not getattr(utils.whichmodule, "_clinic_fast", False)
import importlib
importlib.reload(trusted)  # skops' own computation, in this process
reloaded = {name: list(getattr(trusted, name)) for name in NAMES}
print(json.dumps({"result": skops_fast_types.last_result, "restored": restored,
                  "lists": lists, "reloaded": reloaded}))
"""
    )
    stock = run_fresh(
        LISTS
        + """
print(json.dumps({"result": skops_fast_types.last_result, "lists": lists}))
""",
        skip="skops_fast_types",
    )
    assert fast["result"] == "fast", "the fast path was not used: " + str(fast["result"])
    assert stock["result"] is None
    assert fast["restored"] is True
    assert all(fast["lists"][name] for name in fast["lists"])
    assert len(fast["lists"]["SCIPY_UFUNC_TYPE_NAMES"]) > 200
    assert len(fast["lists"]["NUMPY_UFUNC_TYPE_NAMES"]) > 50
    assert fast["lists"] == stock["lists"]
    assert fast["lists"] == fast["reloaded"]


def test_fast_whichmodule_answers_like_skops_on_every_public_object():
    out = run_fresh("""
import json, sys
import numpy as np, scipy, scipy.special, sklearn.linear_model
import skops.io._utils as utils
from clinic_runtime.skops_fast_types import make_whichmodule
fast = make_whichmodule(utils.whichmodule, utils._getattribute)
checked, different = 0, []
for module in (np, scipy.special, np.linalg, sklearn.linear_model, json, sys):
    for attr in dir(module):
        obj = getattr(module, attr)
        name = getattr(obj, "__name__", attr)
        for probe in {name, attr}:
            if not isinstance(probe, str):
                continue
            expected = utils.whichmodule(obj, probe)
            checked += 1
            if fast(obj, probe) != expected:
                different.append([module.__name__, attr, probe])
print(json.dumps({"checked": checked, "different": different}))
""")
    assert out["checked"] > 1000
    assert out["different"] == []


def test_fast_whichmodule_on_awkward_sys_modules_entries():
    """Module hooks, module subclasses, non-modules, None, __main__, odd names: same answers and
    the same hook calls as skops' function; a module subclass's __dict__ is never read."""
    out = run_fresh(r'''
import json, sys, types
import skops.io._utils as utils
from clinic_runtime.skops_fast_types import make_whichmodule

log = []

class Watched(types.ModuleType):
    def __getattribute__(self, attr):
        log.append(("sub", object.__getattribute__(self, "__name__"), attr))
        return super().__getattribute__(attr)

def scenario(kind):
    """Fresh objects and sys.modules entries for one case; returns (obj, name, cleanup)."""
    thing = type("Thing", (), {"__module__": None})()  # like a ufunc: no __module__, so
    thing.__name__ = "thing"                            # found by scanning sys.modules
    added = []
    def add(name, module):
        sys.modules[name] = module
        added.append(name)
    def hooked(name, answer):
        module = types.ModuleType(name)
        def hook(attr):
            log.append(("hook", name, attr))
            if attr == "boom":
                raise KeyError(attr)
            if attr == "import_json_tool" and "json.tool" not in sys.modules:
                import json.tool  # a hook that imports: sys.modules grows during the scan
            if answer is not None and attr in ("thing", "boom", "import_json_tool"):
                return answer
            raise AttributeError(attr)
        module.__getattr__ = hook
        return module
    name = "thing"
    if kind == "with_module":
        thing.__module__ = "somewhere.else"
    elif kind == "plain":
        add("zz_plain", types.ModuleType("zz_plain")); sys.modules["zz_plain"].thing = thing
    elif kind == "hook_first":
        add("zz_hook", hooked("zz_hook", thing))
        add("zz_plain", types.ModuleType("zz_plain")); sys.modules["zz_plain"].thing = thing
    elif kind == "hook_not_it":
        add("zz_hook", hooked("zz_hook", object()))
        add("zz_plain", types.ModuleType("zz_plain")); sys.modules["zz_plain"].thing = thing
    elif kind == "dict_wins_over_hook":
        module = hooked("zz_hook", thing); module.thing = object(); add("zz_hook", module)
        add("zz_plain", types.ModuleType("zz_plain")); sys.modules["zz_plain"].thing = thing
    elif kind == "subclass":
        module = Watched("zz_sub"); types.ModuleType.__setattr__(module, "thing", thing)
        add("zz_sub", module)
    elif kind == "non_module":
        add("zz_class", type("Holder", (), {"thing": thing}))
    elif kind == "none_and_main":
        add("zz_none", None)
        main = types.ModuleType("__main__"); main.thing = thing
        sys.modules["__main__"], added_main = main, sys.modules.get("__main__")
        def cleanup():
            for n in added: sys.modules.pop(n, None)
            if added_main is not None: sys.modules["__main__"] = added_main
        return thing, name, cleanup
    elif kind == "not_found":
        pass
    elif kind == "raising_hook":
        add("zz_hook", hooked("zz_hook", None)); name = "boom"
    elif kind == "importing_hook":
        add("zz_hook", hooked("zz_hook", None)); name = "import_json_tool"
        add("zz_plain", types.ModuleType("zz_plain"))
        setattr(sys.modules["zz_plain"], "import_json_tool", thing)
    elif kind == "dotted":
        add("zz_plain", types.ModuleType("zz_plain"))
        sys.modules["zz_plain"].a = types.SimpleNamespace(thing=thing)
        name = "a.thing"
    elif kind == "locals":
        name = "<locals>"
    elif kind == "module_attribute":
        add("zz_plain", types.ModuleType("zz_plain")); sys.modules["zz_plain"].__doc__ = thing
        name = "__doc__"
    elif kind == "str_subclass":
        add("zz_plain", types.ModuleType("zz_plain")); sys.modules["zz_plain"].thing = thing
        name = type("S", (str,), {})("thing")
    def cleanup():
        for n in added: sys.modules.pop(n, None)
        sys.modules.pop("json.tool", None)
    return thing, name, cleanup

def run(function, kind):
    log.clear()
    obj, name, cleanup = scenario(kind)
    try:
        answer = function(obj, name)
    except Exception as error:
        answer = "raised " + type(error).__name__
    finally:
        cleanup()
    return answer, list(log)

fast = make_whichmodule(utils.whichmodule, utils._getattribute)
kinds = ["with_module", "plain", "hook_first", "hook_not_it", "dict_wins_over_hook", "subclass",
         "non_module", "none_and_main", "not_found", "raising_hook", "importing_hook", "dotted",
         "locals", "module_attribute", "str_subclass"]
results = {kind: {"skops": run(utils.whichmodule, kind), "fast": run(fast, kind)}
           for kind in kinds}
print(json.dumps(results))
''')
    for kind, both in out.items():
        assert both["fast"] == both["skops"], kind
    # the cases really exercise what they claim
    assert out["hook_first"]["skops"][0] == "zz_hook"
    assert out["hook_not_it"]["skops"][0] == "zz_plain"
    assert out["dict_wins_over_hook"]["skops"] == ["zz_plain", []]
    assert out["subclass"]["skops"][0] == "zz_sub"
    assert ["sub", "zz_sub", "__dict__"] not in out["subclass"]["fast"][1]
    assert out["non_module"]["skops"][0] == "zz_class"
    assert out["none_and_main"]["skops"][0] == "__main__"
    assert out["raising_hook"]["skops"][0] == "raised KeyError"
    assert out["importing_hook"]["skops"][0] == "zz_plain"
    assert out["dotted"]["skops"][0] == "zz_plain"
