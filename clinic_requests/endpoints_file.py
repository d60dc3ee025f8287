"""The operator's endpoints file (``endpoints.yml``, or ``CLINIC_ENDPOINTS_PATH``) as
:mod:`clinic_requests.config` reads it: a top-level section by name, ``${VAR}`` filled from the
environment as Rasa does, the file parsed again only when it changed.
"""

import copy
import os
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ENDPOINTS_PATH = PROJECT_ROOT / "endpoints.yml"
ENV_ENDPOINTS_PATH = "CLINIC_ENDPOINTS_PATH"
ENDPOINTS_KEY = "clinic_delivery"

# Parsed endpoints files: resolved path -> ((mtime, ctime, size, inode), content). The action
# server reads database_url() for every unanswered question; parsing the YAML each time made
# the visitor wait. An edited or replaced file has another version and is parsed again.
_parsed_files: Dict[Path, Tuple[Tuple[int, int, int, int], Any]] = {}


class ConfigError(ValueError):
    """A delivery setting is missing its file, malformed or out of range."""


def endpoints_file(endpoints_path: Optional[Path], env: Mapping[str, str]) -> Path:
    """``endpoints_path`` if given, else ``CLINIC_ENDPOINTS_PATH``, else the project's file."""
    if endpoints_path is not None:
        return Path(endpoints_path)
    env_path = env.get(ENV_ENDPOINTS_PATH, "").strip()
    return Path(env_path) if env_path else DEFAULT_ENDPOINTS_PATH


def expand(value: str, env: Mapping[str, str], source: str) -> str:
    """Fill ``${VAR}`` from ``env`` (an unset variable is an error, as in Rasa)."""

    def fill(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{source}: uses ${{{name}}}, which is not set")
        return env[name]

    return re.sub(r"\$\{([^}]+)\}", fill, value)


def read_section(path: Path) -> Dict[str, Any]:
    """Return the ``clinic_delivery`` mapping of an endpoints file, or ``{}``."""
    return read_mapping(path, ENDPOINTS_KEY)


def read_mapping(path: Path, key: str) -> Dict[str, Any]:
    """Return the mapping under top-level ``key`` of an endpoints file, or ``{}``.

    The mapping is the caller's own copy: changing it changes nothing cached.
    """
    try:
        content = _parsed_yaml(path)
    except FileNotFoundError:
        return {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from error
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    section = content.get(key)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: '{key}' must be a mapping of settings")
    return copy.deepcopy(section)


def _parsed_yaml(path: Path) -> Any:
    """The parsed file, parsed again only when the file changed (never cached: errors).

    Shared by every caller: treat it as read-only (:func:`read_mapping` hands out copies).
    """
    with open(path, encoding="utf-8") as handle:
        status = os.fstat(handle.fileno())  # the file read below, even if replaced meanwhile
        version = (status.st_mtime_ns, status.st_ctime_ns, status.st_size, status.st_ino)
        resolved = Path(path).resolve()
        cached = _parsed_files.get(resolved)  # dict get/set are atomic: no lock needed
        if cached is not None and cached[0] == version:
            return cached[1]
        content = yaml.safe_load(handle)
    _parsed_files[resolved] = (version, content)
    return content
