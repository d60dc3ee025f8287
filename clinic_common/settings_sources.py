"""Operator settings from a file's section, each overridable by an environment variable.

The rule the website channel (``credentials.yml``) and request delivery (``endpoints.yml``)
share: a setting the section does not know is an error naming the file and the known ones; a
non-empty environment variable wins over the file; and every value keeps the place it came
from, so a parser's error can name the key or variable to fix.
"""

from typing import Any, Collection, Dict, Mapping, Tuple, Type


def settings_with_sources(
    section: Mapping[str, Any],
    file: str,
    section_name: str,
    overrides: Mapping[str, str],
    environ: Mapping[str, str],
    error: Type[Exception],
    *,
    read_elsewhere: Collection[str] = (),
    skip_none: bool = False,
) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """The raw value of each setting given, and where it came from.

    Args:
        section: The settings as written in the file (setting name -> value).
        file: The file, as shown in messages (``credentials.yml``, a path).
        section_name: The key the settings are under in that file.
        overrides: Setting name -> the environment variable that overrides it.
        environ: The environment to read.
        error: Raised for a setting nobody knows.
        read_elsewhere: Settings of the section another reader takes: neither returned nor
            unknown.
        skip_none: Leave out settings written without a value (their defaults apply).

    Returns:
        ``(values, sources)``, both by setting name; a source reads ``file: section.key`` or
        ``environment variable NAME``.
    """
    values: Dict[str, Any] = {}
    sources: Dict[str, str] = {}
    for key, value in section.items():
        if key in read_elsewhere:
            continue
        if key not in overrides:
            known = ", ".join(sorted([*overrides, *read_elsewhere]))
            raise error(f"{file}: unknown setting '{section_name}.{key}' (known: {known})")
        if value is None and skip_none:
            continue
        values[key] = value
        sources[key] = f"{file}: {section_name}.{key}"
    for key, variable in overrides.items():
        value = environ.get(variable, "").strip()
        if value:
            values[key] = value
            sources[key] = f"environment variable {variable}"
    return values, sources
