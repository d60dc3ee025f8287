"""The content's health for the staff page: answers past their review date, and `make check`.

`make check` (``scripts/check.py``: every staff-editable file plus ``rasa data validate``) runs
as a subprocess with a timeout, in the background: it takes some 20 s. It runs again whenever
the files it checks changed since its last run (or when staff ask), one run at a time.
"""

import datetime
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from clinic_content.errors import ContentLoadError
from clinic_content.store import domain_intents, load_content

PROJECT_DIR = Path(__file__).resolve().parents[1]
CHECK_SCRIPT = PROJECT_DIR / "scripts" / "check.py"
CHECK_TIMEOUT_SECONDS = 300.0
# What `make check` reads: a change to any of these makes the last result stale.
CHECKED_PATHS = ("data/nlu", "data/rules", "domain.yml", "config.yml")


@dataclass(frozen=True)
class OverdueAnswer:
    """An answer whose ``review_by`` date has passed."""

    id: str
    review_by: datetime.date
    line: int


@dataclass(frozen=True)
class CheckResult:
    """One finished run of `make check`."""

    passed: bool
    errors: Tuple[str, ...]
    warnings: Tuple[str, ...]
    output: Tuple[str, ...]  # the check's own lines ([check] ..., ERROR ..., WARNING ...)
    finished: datetime.datetime  # UTC
    seconds: float


def overdue_answers(
    content_dir: Path, today: Optional[datetime.date] = None
) -> Tuple[List[OverdueAnswer], List[str]]:
    """Answers past their review date, oldest date first; and the content's errors, if broken."""
    today = today or datetime.date.today()
    try:
        content = load_content(content_dir, domain_intents(), today)
    except ContentLoadError as error:
        return [], [problem.describe() for problem in error.errors]
    overdue = [
        OverdueAnswer(answer.id, answer.review_by, answer.line)
        for answer in content.answers.values()
        if answer.review_by is not None and answer.review_by < today
    ]
    return sorted(overdue, key=lambda a: (a.review_by, a.id)), []


class CheckRunner:
    """Runs `make check` in the background when the files changed; keeps the last result."""

    def __init__(self, content_dir: Path, timeout_seconds: float = CHECK_TIMEOUT_SECONDS) -> None:
        self.content_dir = Path(content_dir)
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._result: Optional[CheckResult] = None
        self._checked_version: Optional[Tuple] = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> Tuple[Optional[CheckResult], bool]:
        """(last result, running now); starts a run if the files changed since the last one."""
        if self._files_version() != self._checked_version:
            self.start()
        with self._lock:
            return self._result, self.running

    def start(self) -> None:
        """Run the check now in the background (a no-op while a run is going)."""
        with self._lock:
            if self.running:
                return
            version = self._files_version()
            self._thread = threading.Thread(
                target=self._run, args=(version,), name="clinic-staff-check", daemon=True
            )
            self._thread.start()

    def wait(self, timeout: float) -> None:
        """Wait for the current run, if any (tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, version: Tuple) -> None:
        started = time.monotonic()
        command = [sys.executable, str(CHECK_SCRIPT), "--content-dir", str(self.content_dir)]
        try:
            completed = subprocess.run(
                command,
                cwd=PROJECT_DIR,
                capture_output=True,
                text=True,
                timeout=self.timeout_seconds,
            )
            lines = [
                line
                for line in completed.stdout.splitlines()
                if line.startswith(("[check]", "ERROR", "WARNING", "    "))
            ]
            passed = completed.returncode == 0
            if not passed and not any(line.startswith("ERROR") for line in lines):
                lines.append(
                    "ERROR the check stopped: "
                    + " ".join(completed.stderr.strip().splitlines()[-1:])
                )
        except subprocess.TimeoutExpired:
            passed, lines = (
                False,
                [f"ERROR the check took longer than {self.timeout_seconds:g} s and was stopped"],
            )
        except OSError as error:
            passed, lines = False, [f"ERROR the check could not run: {error}"]
        result = CheckResult(
            passed=passed,
            errors=tuple(line[len("ERROR ") :] for line in lines if line.startswith("ERROR ")),
            warnings=tuple(
                line[len("WARNING ") :] for line in lines if line.startswith("WARNING ")
            ),
            output=tuple(lines),
            finished=datetime.datetime.now(datetime.timezone.utc),
            seconds=time.monotonic() - started,
        )
        with self._lock:
            self._result = result
            self._checked_version = version

    def _files_version(self) -> Tuple:
        """Names, sizes and modification times of every file the check reads."""
        roots = [self.content_dir, *(PROJECT_DIR / path for path in CHECKED_PATHS)]
        found = []
        for root in roots:
            files = sorted(root.rglob("*")) if root.is_dir() else [root]
            for path in files:
                try:
                    status = path.stat()
                except OSError:
                    continue
                if path.is_file():
                    found.append((str(path), status.st_size, status.st_mtime_ns))
        return tuple(found)
