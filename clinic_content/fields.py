"""What every content loader checks the same way: field specs, required keys, lists, links,
placeholders, and the reading of a file with line numbers."""

import datetime
import difflib
import re
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar

from clinic_content.errors import ContentError, ContentLoadError
from clinic_content.placeholder_check import file_problems
from clinic_content.yaml_lines import LineDict, YamlFileError, load_yaml_file

# Field specs: name -> (accepted Python types, required?). Unknown fields are errors, because
# a typo such as 'txet' would otherwise be ignored silently.
FieldSpec = Dict[str, Tuple[Tuple[type, ...], bool]]
Model = TypeVar("Model")

LINK_PATTERN = re.compile(r"\b(?:https?://|mailto:|tel:)[^\s)>\]]*", re.IGNORECASE)
VALID_LINK = re.compile(
    r"^(https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?(/[^\s]*)?"
    r"|mailto:[^@\s]+@[^@\s]+\.[A-Za-z]{2,}|tel:\+?[0-9 ()-]{5,})$",
    re.IGNORECASE,
)


def key_line(mapping: Any, key: Any) -> Optional[int]:
    """The line of ``key`` in a block read with line numbers (``yaml_lines``), else None."""
    return mapping.key_line(key) if isinstance(mapping, LineDict) else None


def line_of(mapping: Any) -> Optional[int]:
    """The line a block read with line numbers starts on, else None."""
    return mapping.line if isinstance(mapping, LineDict) else None


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` Did you mean 'text'?`` for a close choice, else nothing."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def _type_names(types: Sequence[type]) -> str:
    names = {
        str: "text",
        list: "a list",
        dict: "a block of fields",
        datetime.date: "a date",
        bool: "true/false",
        int: "a number",
    }
    return " or ".join(names.get(t, t.__name__) for t in types)


def check_fields(
    mapping: Any,
    spec: FieldSpec,
    path: Path,
    what: str,
    errors: List[ContentError],
    parent_line: Optional[int] = None,
) -> bool:
    """Check one mapping against a field spec; append errors. Returns False if unusable."""
    if not isinstance(mapping, dict):
        errors.append(
            ContentError(
                path, parent_line, f"{what} should be a block of fields ('name: value' lines)"
            )
        )
        return False
    line = getattr(mapping, "line", parent_line)

    def line_of(name: str) -> Optional[int]:
        return mapping.key_line(name) if isinstance(mapping, LineDict) else line

    usable = True
    for name in mapping:
        if name not in spec:
            errors.append(
                ContentError(
                    path,
                    line_of(name),
                    f"unknown field '{name}' in {what}.{suggest(name, spec)}"
                    f" Allowed fields: {', '.join(spec)}.",
                )
            )
    for name, (types, required) in spec.items():
        if name not in mapping or mapping[name] is None:
            if required:
                errors.append(ContentError(path, line, f"'{name}' is missing for {what}"))
                usable = False
            continue
        if not isinstance(mapping[name], types):
            errors.append(
                ContentError(
                    path, line_of(name), f"'{name}' of {what} should be {_type_names(types)}"
                )
            )
            usable = False
        elif isinstance(mapping[name], str) and not mapping[name].strip() and required:
            errors.append(ContentError(path, line_of(name), f"'{name}' of {what} is empty"))
            usable = False
    return usable


def check_links(
    text: str, path: Path, line: Optional[int], what: str, errors: List[ContentError]
) -> None:
    """Every link written in a text must be a well-formed http(s), mailto or tel link."""
    for match in LINK_PATTERN.finditer(text):
        link = match.group(0).rstrip(".,;:!?")
        if not VALID_LINK.match(link):
            errors.append(ContentError(path, line, f"the link '{link}' in {what} looks broken"))


def require_keys(
    data: Any, path: Path, keys: Iterable[str], errors: List[ContentError], what: str
) -> None:
    """Each of ``keys`` is in the block ``data`` and not empty."""
    if not isinstance(data, dict):
        errors.append(ContentError(path, 1, f"{what} should be a block of 'name: value' lines"))
        return
    for key in keys:
        if key not in data or data[key] in (None, ""):
            errors.append(
                ContentError(path, getattr(data, "line", 1), f"'{key}' is missing in {what}")
            )


def entries(
    data: Dict[str, Any], key: str, path: Path, errors: List[ContentError], what: str
) -> List[Any]:
    """The list under ``key``; anything else is reported (a number or text is not a list)."""
    value = data.get(key)
    if value in (None, ""):
        return []  # reported as missing by require_keys
    if not isinstance(value, list):
        errors.append(ContentError(path, key_line(data, key), f"'{key}' should be {what}"))
        return []
    return value


def check_placeholders(
    data: Any, path: Path, errors: List[ContentError], file_name: Optional[str] = None
) -> None:
    """Placeholders each text may / must use, and stray curly brackets (placeholder_check);
    ``file_name``: the content file it is (``contraindications.yml``), when not ``path``'s name."""
    for line, problem in file_problems(data, file_name or path.name):
        errors.append(ContentError(path, line, problem))


def read_yaml(path: Path, errors: List[ContentError], optional: bool = False) -> Any:
    """Load one YAML file, turning syntax errors into ``ContentError``s."""
    if optional and not path.exists():
        return None
    try:
        return load_yaml_file(path)
    except YamlFileError as error:
        errors.append(ContentError(error.path, error.line, error.problem, error.column))
        return None


def read_file(
    path: Path,
    parse: Callable[[Any, Path, List[ContentError]], Model],
    errors: List[ContentError],
    file_name: Optional[str] = None,
) -> Optional[Model]:
    """One content file read, its placeholders checked and parsed: the steps every loader takes
    (``store.load_content`` for all the files at once); appends every problem to ``errors``.
    None when the file cannot be read as YAML (that one problem is reported, nothing more).
    ``file_name``: which content file it is, when ``path`` is named otherwise."""
    before = len(errors)
    data = read_yaml(path, errors)
    if data is None and len(errors) > before:
        return None
    check_placeholders(data, path, errors, file_name)
    return parse(data, path, errors)


def load_file(
    path: Path, parse: Callable[[Any, Path, List[ContentError]], Model], file_name: str
) -> Model:
    """One content file on its own (:func:`read_file`), e.g. ``file_name`` ``booking.yml``
    wherever the NLU's configuration points.

    Raises:
        ContentLoadError: listing every problem of the file.
    """
    errors: List[ContentError] = []
    model = read_file(Path(path), parse, errors, file_name)
    if errors or model is None:
        raise ContentLoadError(errors)
    return model
