"""YAML loading that remembers line numbers, so errors can say ``file:line``.

PyYAML's nodes carry their position but its ``safe_load`` throws it away; this loader keeps it
on the mappings it builds (``LineDict.line`` and ``LineDict.key_line(key)``).
"""

from collections.abc import Hashable
from pathlib import Path
from typing import Any, Dict, Optional

import yaml


class LineDict(dict):
    """A dict that knows the (1-based) line where it and each of its keys start."""

    line: int = 0
    key_lines: Dict[Any, int]

    def key_line(self, key: Any) -> int:
        """Line of ``key`` in the file, or the mapping's own line when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineLoader(yaml.SafeLoader):
    """SafeLoader that builds ``LineDict`` mappings and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                # "? [a, b]" or "{a: 1}: x": plain YAML refuses these too.
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "a name before ':' must be a single word or text, not a list or a block",
                    key_node.start_mark,
                )
            if key in mapping:
                # A repeated key silently overwrites the first one in plain YAML; staff
                # would never see their first edit, so it is an error here.
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key '{key}' appears twice in the same block",
                    key_node.start_mark,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping


LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, LineLoader.construct_mapping
)


class YamlFileError(ValueError):
    """A YAML file that cannot be read, with the place and a plain-words reason."""

    def __init__(self, path: Path, line: Optional[int], column: Optional[int], problem: str):
        self.path = Path(path)
        self.line = line
        self.column = column
        self.problem = problem
        where = str(path)
        if line:
            where += f":{line}"
            if column:
                where += f":{column}"
        super().__init__(f"{where}: {problem}")


def load_yaml_file(path: Path) -> Any:
    """Read one YAML file with line numbers; raise ``YamlFileError`` on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlFileError(path, None, None, "the file is missing") from None
    except UnicodeDecodeError:
        raise YamlFileError(path, None, None, "the file is not UTF-8 text") from None
    except OSError as error:  # a folder in its place, no permission, ...
        raise YamlFileError(
            path, None, None, f"the file cannot be read ({error.strerror})"
        ) from None
    try:
        return yaml.load(text, Loader=LineLoader)  # noqa: S506 - LineLoader is a SafeLoader
    except RecursionError:  # "[[[[..." thousands deep
        raise YamlFileError(path, None, None, "lists or blocks are nested too deeply") from None
    except yaml.reader.ReaderError as error:  # a control character such as NUL or BEL
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        character = error.character  # the code point (an int) when reading text
        code = f"U+{ord(character) if isinstance(character, str) else character:04X}"
        raise YamlFileError(
            path,
            line,
            column,
            f"the file contains an invisible character that is not "
            f"allowed ({code}): delete it or retype the line",
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        mark_line = mark.line + 1 if mark else None
        mark_column = mark.column + 1 if mark else None
        problem = error.problem or str(error)
        hint = (
            " (check the indentation and that text with ':' or '#' is in quotes)"
            if isinstance(error, (yaml.scanner.ScannerError, yaml.parser.ParserError))
            else ""
        )
        raise YamlFileError(
            path, mark_line, mark_column, f"YAML syntax error: {problem}{hint}"
        ) from None
