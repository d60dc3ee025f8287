"""Run the model's prediction graph in plain Python, in topological order, instead of dask.

Rasa 3.6 runs every message's graph (NLU: 12 nodes; dialogue: 4) through ``dask.get``: per
call it rebuilds the minimal schema of the targets, turns it into a dask graph, lets dask order,
"cull" and execute the tasks, and wraps each result. The graph is small, fixed after the model is
loaded and always run in one thread, so none of dask's work changes the outcome. Measured
(py-spy, concurrency 8, docs/benchmarks-levers.md): dask's own share was ~6% of the Rasa server's
busy CPU.

``SequentialGraphRunner`` is ``DaskGraphRunner`` with only ``run`` replaced:

* the same nodes (instantiated by Rasa's own constructor, so loading is unchanged), the same
  schema, the same targets (defaults: the schema's targets) and the same minimal sub-graph;
* each node is called exactly as dask calls it: ``node(*results of its needs)`` in the order of
  ``needs``, every node once, dependencies first. A need that is neither a node nor an input is
  passed as the literal string, as dask does;
* inputs are added as Rasa adds them (``(name, value)``), with the same clash check;
* errors: a ``RuntimeError`` becomes ``GraphRunError`` as in Rasa; others propagate unchanged.

The order (and the minimal sub-graph) is computed once per set of targets and kept.
Tests: tests/unit/test_sequential_graph.py (identical results to DaskGraphRunner on the
held-out NLU messages and on dialogue turns of our model).
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner


class SequentialGraphRunner(DaskGraphRunner):
    """``DaskGraphRunner`` whose ``run`` calls the nodes directly (see the module docstring)."""

    def _plan(self, targets: Sequence[str]) -> List[Tuple[str, Tuple[str, ...]]]:
        plans: Dict[Tuple[str, ...], Any] = self.__dict__.setdefault("_clinic_plans", {})
        key = tuple(targets)
        plan = plans.get(key)
        if plan is None:
            schema = self._graph_schema.minimal_graph_schema(list(targets))
            plan, done, visiting = [], set(), set()

            def visit(name: str) -> None:
                if name in done or name not in schema.nodes:
                    return
                if name in visiting:
                    raise GraphRunError(f"The graph has a cycle at node '{name}'.")
                visiting.add(name)
                needs = tuple(schema.nodes[name].needs.values())
                for need in needs:
                    visit(need)
                visiting.discard(name)
                done.add(name)
                plan.append((name, needs))

            for name in schema.nodes:  # schema order: deterministic
                visit(name)
            plans[key] = plan
        return plan

    def run(
        self,
        inputs: Optional[Dict[str, Any]] = None,
        targets: Optional[List[str]] = None,
    ) -> Dict[str, Any]:
        """Runs the graph (same contract as ``DaskGraphRunner.run``)."""
        run_targets = targets if targets else self._graph_schema.target_names
        plan = self._plan(run_targets)
        results: Dict[str, Any] = {}
        if inputs:
            planned = {name for name, _ in plan}
            for input_name, input_value in inputs.items():
                if isinstance(input_value, str) and input_value in planned:
                    raise GraphRunError(
                        f"Input value '{input_value}' clashes with a node name. Make sure "
                        f"that none of the input names passed to the `run` method are the "
                        f"same as node names in the graph schema."
                    )
                results[input_name] = (input_name, input_value)
        nodes = self._instantiated_nodes
        try:
            for name, needs in plan:
                results[name] = nodes[name](*[results.get(need, need) for need in needs])
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(results.get(target, target) for target in run_targets)


def install() -> None:
    """Make the processor (which loads the prediction graph) use ``SequentialGraphRunner``."""
    import rasa.core.processor

    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner
