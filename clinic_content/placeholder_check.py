"""`make check`'s placeholder rules for every text of a content file.

Each text is checked against its declaration (``clinic_content.placeholder_names``): a ``{name}`` it
may not use, a ``{name}`` it must keep, and curly brackets that are not around a placeholder
(``str.format`` used to crash on those; the renderer now shows them, but visitors should not
see them). Problems come back as ``(line, message)`` so each loader reports them its own way.
"""

import re
from typing import Any, Iterator, List, Optional, Tuple

from clinic_content.placeholder_names import NOT_MESSAGES, Names, declared
from clinic_content.placeholders import PLACEHOLDER, closest

Problem = Tuple[Optional[int], str]
# Per text: enough to fix it, not thousands of lines for a pasted "}}}}}}" or "{a}{b}{c}...".
MAX_PROBLEMS = 5
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def shown(names: Tuple[str, ...]) -> str:
    """ "{a}, {b}", or "no placeholders (...)" when there are none."""
    return (
        ", ".join(f"{{{name}}}" for name in names) or "no placeholders (words in {curly brackets})"
    )


def text_problems(text: str, key: str, names: Names) -> List[str]:
    """What is wrong with the placeholders and curly brackets of one message."""
    problems = []
    for name in dict.fromkeys(PLACEHOLDER.findall(text)):
        if name not in names.may:
            close = closest(name, names.may)  # what the renderer fills it as meanwhile
            hint = f" Did you mean {{{close}}}?" if close else ""
            problems.append(
                f"{key} uses the unknown placeholder '{{{name}}}'; it may use"
                f" {shown(names.may)}.{hint}"
            )
    for name in names.must:
        if f"{{{name}}}" not in text:
            problems.append(f"{key} must contain {{{name}}}: {names.why}")
    return (problems + _brace_problems(text, key, names))[:MAX_PROBLEMS]


def _brace_problems(text: str, key: str, names: Names) -> List[str]:
    """Curly brackets outside a ``{name}``: unmatched, or around something else."""
    # Placeholders blanked out (same length, so positions still point into ``text``).
    masked = PLACEHOLDER.sub(lambda match: " " * len(match.group(0)), text)
    problems: List[str] = []
    opened: List[int] = []
    for position, character in enumerate(masked):
        if len(problems) >= MAX_PROBLEMS:
            break
        if character == "{":
            opened.append(position)
        elif character == "}" and not opened:
            problems.append(
                f"{key} has a '}}' without a '{{' before it (near"
                f" '{_near(text, position)}'). {_only_for(names)}"
            )
        elif character == "}":
            start = opened.pop()
            if not opened:
                inside = text[start + 1 : position].strip()
                fix = (
                    f" (write it without spaces: {{{inside}}})"
                    if _IDENTIFIER.fullmatch(inside) and inside != text[start + 1 : position]
                    else "; use round brackets for other text"
                )
                problems.append(
                    f"{key} has '{text[start : position + 1]}' in curly brackets, which"
                    f" is not a placeholder{fix}. {_only_for(names)}"
                )
    for position in opened[:1]:
        problems.append(
            f"{key} has a '{{' without a '}}' after it (near"
            f" '{_near(text, position)}'). {_only_for(names)}"
        )
    return problems


def _near(text: str, position: int) -> str:
    return " ".join(text[max(0, position - 20) : position + 20].split())


def _only_for(names: Names) -> str:
    if names.may:
        return f"Curly brackets are only for its placeholders: {shown(names.may)}"
    return "This message takes no placeholders, so it should have no curly brackets"


def file_problems(data: Any, file_name: str) -> List[Problem]:
    """Every placeholder problem of one loaded content file (``LineDict``s give the lines)."""
    problems: List[Problem] = []
    for pattern, key, text, line in _texts(data):
        for problem in text_problems(text, key, declared(file_name, pattern)):
            problems.append((line, problem))
    return problems


def _texts(data: Any) -> Iterator[Tuple[str, str, str, Optional[int]]]:
    """(declared key pattern, key as shown, text, line) for every text in ``data``.

    Walks with its own stack (no recursion limit) and visits each block once: YAML aliases share
    blocks, and an "alias bomb" walked naively would take minutes.
    """
    stack: List[Tuple[Any, str, str, Optional[int]]] = [(data, "", "", getattr(data, "line", None))]
    seen = set()
    while stack:
        node, pattern, key, line = stack.pop()
        if isinstance(node, str):
            if pattern:
                yield pattern, key, node, line
            continue
        if not isinstance(node, (dict, list)) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            children = [
                (
                    value,
                    _join(pattern, str(name)),
                    _join(key, str(name)),
                    node.key_line(name) if hasattr(node, "key_line") else line,
                )
                for name, value in node.items()
                if name not in NOT_MESSAGES
            ]
        else:
            children = [
                (item, f"{pattern}[]", f"{key}[{number}]", getattr(item, "line", line))
                for number, item in enumerate(node, start=1)
            ]
        stack.extend(reversed(children))  # report in file order


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
