"""A problem in a content file, said as ``file:line: what is wrong``."""

from pathlib import Path
from typing import List, Optional

from clinic_content.paths import PROJECT_DIR


class ContentError(ValueError):
    """One problem in one content file."""

    def __init__(self, path: Path, line: Optional[int], message: str, column: Optional[int] = None):
        self.path = Path(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(self.describe())

    def describe(self) -> str:
        """``data/content/answers.yml:42: 'text' is missing for answer 'history'``."""
        try:
            shown = self.path.resolve().relative_to(PROJECT_DIR)
        except ValueError:
            shown = self.path
        where = f"{shown}:{self.line}" if self.line else f"{shown}"
        if self.line and self.column:
            where += f":{self.column}"
        return f"{where}: {self.message}"


class ContentLoadError(ValueError):
    """All the problems found while loading content, one per line."""

    def __init__(self, errors: List[ContentError]):
        self.errors = errors
        super().__init__("\n".join(error.describe() for error in errors))
