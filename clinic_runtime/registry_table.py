"""The registry as the Markdown section in docs/benchmarks-levers.md (copied from here).

``python -m clinic_runtime.registry_table`` prints it; tests/unit/test_runtime_registry.py
fails when the doc's copy differs, so the doc says what the code does.
"""

from typing import List

from clinic_runtime.registry import (
    REGISTRY,
    WRITTEN_FOR,
    module_of,
    rasa_modules_touched,
    rasa_private_names,
)

BEGIN = "<!-- registry table: python -m clinic_runtime.registry_table -->"
END = "<!-- end of registry table -->"


def _code(names: List[str]) -> str:
    return "<br>".join(f"`{name}`" for name in names) or "-"


def _short(name: str) -> str:
    """``Class.attribute`` (or ``module.attribute``) without the package path."""
    module = module_of(name)
    rest = name[len(module) + 1 :]
    return rest if "." in rest else f"{module.rsplit('.', 1)[-1]}.{rest}"


def markdown() -> str:
    """The section: figures, then one row per change in the order they are applied."""
    private = rasa_private_names()
    private_modules = {module_of(name) for name in private}
    targets = {target for change in REGISTRY for target in change.targets}
    lines = [
        BEGIN,
        f"{len(REGISTRY)} changes, {len(private)} Rasa private names in "
        f"{len(private_modules)} Rasa modules (names starting with `_` that a change replaces, "
        f"calls, reads or mirrors). The changes replace {len(targets)} Rasa attributes; "
        f"{len(rasa_modules_touched())} Rasa modules are touched in all. Written for Rasa "
        f"{WRITTEN_FOR}: on another Rasa major.minor `install()` applies none of them. "
        "Figures: the sections of this file named in the table.",
        "",
        "| # | change | replaces in Rasa | Rasa private names | saves | Rasa defect fixed | test |",
        "|---:|---|---|---|---|---|---|",
    ]
    for number, change in enumerate(REGISTRY, 1):
        rasa_private = [name for name in change.private_names if name.startswith("rasa.")]
        lines.append(
            f"| {number} | `{change.name}`: {change.summary} | {_code(list(change.targets))} "
            f"| {len(rasa_private)}: {_code([_short(name) for name in rasa_private])} "
            f"| {change.saves} | {change.fixes_defect or '-'} "
            f"| `{change.test.replace('tests/unit/', '')}` |"
        )
    lines.append(END)
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
