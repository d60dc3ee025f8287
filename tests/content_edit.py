"""Edit a copy of a staff-editable YAML file by its structure, not by its wording.

Tests that break a content file on purpose used to find the place by a piece of the staff's
text ("As you mentioned {conditions}"), so a staff edit of that sentence broke the test. These
helpers find the place by keys instead -- a mapping key, or a list item by its ``id`` -- and
change only that value's lines, in place, the way a person editing the file would: comments,
layout and the line numbers of everything above stay as they were.

A place is a tuple of steps from the top of the file, e.g. ``("prompts", "ask_name")`` or
``("answers", "what_is_microcurrent", "text")`` (a step into a list picks the item whose
``id`` is that step). Lists of words staff keep (a service's ``words``, a condition's ``terms``)
are changed as lists -- ``set_value(path, place, value_at(path, place) + ["new"])`` -- so a test
does not depend on which words are in them or how they are laid out.
"""

import json
from pathlib import Path
from typing import Any, List, Sequence, Tuple

from clinic_content.yaml_lines import LineDict, load_yaml_file

Place = Sequence[str]


def set_text(path: Path, place: Place, text: str) -> None:
    """Make the value at ``place`` the given text (one double-quoted line); add it if absent."""
    set_value(path, place, text)


def value_at(path: Path, place: Place) -> Any:
    """The value at ``place`` as the file has it now (e.g. a list of words, to extend it)."""
    _lines, parent, key = _open(path, place)
    return parent[key]


def set_value(path: Path, place: Place, value: Any) -> None:
    """Make the value at ``place`` the given text, number or list (written on one line, in
    JSON, which YAML reads as it is); add the key if absent."""
    lines, parent, key = _open(path, place)
    quoted = json.dumps(value, ensure_ascii=False)  # JSON is YAML: "text", ["a", "b"]
    if key in parent:
        start, end = _block(lines, parent.key_line(key), key)
        lines[start:end] = [lines[start][: _column(lines[start], key)] + f"{key}: {quoted}"]
    else:  # a new key, right after the block's first key and at its indentation
        first = next(iter(parent))
        start, end = _block(lines, parent.key_line(first), first)
        lines[end:end] = [" " * _column(lines[start], first) + f"{key}: {quoted}"]
    _save(path, lines)


def replace_in(path: Path, place: Place, old: str, new: str) -> None:
    """Replace the first ``old`` within the value at ``place`` (which must contain it).

    Use it for what staff cannot remove without `make check` refusing the file -- a required
    placeholder such as ``{reference}`` -- never for their wording.
    """
    lines, parent, key = _open(path, place)
    start, end = _block(lines, parent.key_line(key), key)
    block = "\n".join(lines[start:end])
    assert old in block, f"{old!r} not in {'.'.join(place)} of {path.name}"
    lines[start:end] = block.replace(old, new, 1).split("\n")
    _save(path, lines)


def rename_key(path: Path, place: Place, new_name: str) -> None:
    """Rename the key at ``place`` (its value stays), e.g. to a misspelt one."""
    lines, parent, key = _open(path, place)
    index = parent.key_line(key) - 1
    column = _column(lines[index], key)
    lines[index] = lines[index][:column] + new_name + lines[index][column + len(key) :]
    _save(path, lines)


def line_of_key(path: Path, place: Place) -> int:
    """The (1-based) line where the key at ``place`` is written."""
    _lines, parent, key = _open(path, place)
    return parent.key_line(key)


def _open(path: Path, place: Place) -> Tuple[List[str], LineDict, str]:
    node: Any = load_yaml_file(path)
    for step in place[:-1]:
        if isinstance(node, list):
            node = next(item for item in node if isinstance(item, dict) and item.get("id") == step)
        else:
            node = node[step]
    assert isinstance(node, LineDict), f"{'.'.join(place)}: not inside a block of {path.name}"
    return path.read_text(encoding="utf-8").split("\n"), node, place[-1]


def _column(line: str, key: str) -> int:
    """Where ``key:`` starts on its line (after any indentation and a list item's ``- ``)."""
    stripped = line.lstrip(" -")
    assert stripped.startswith(f"{key}:"), f"{key!r} is not the key of {line!r}"
    return len(line) - len(stripped)


def _block(lines: List[str], key_line: int, key: str) -> Tuple[int, int]:
    """[start, end) of the lines holding ``key`` and its value (trailing blank lines left out)."""
    start = key_line - 1
    column = _column(lines[start], key)
    # A block list may be written at its key's own indentation ("words:" then "- a" below it).
    value = lines[start][column + len(key) + 1 :]
    block_value = not value.split(" #", 1)[0].strip()
    end = start + 1
    while end < len(lines):
        indent = len(lines[end]) - len(lines[end].lstrip(" "))
        if not (
            not lines[end].strip()
            or indent > column
            or (block_value and indent == column and lines[end].lstrip(" ").startswith("- "))
        ):
            break
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


def _save(path: Path, lines: List[str]) -> None:
    path.write_text("\n".join(lines), encoding="utf-8")
