"""`make check` (scripts/check.py) as staff run it: passes on the repository, and names the
file and line of each kind of broken edit."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
CONTENT = PROJECT_DIR / "data" / "content"


def run_check(content_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/check.py", "--content-dir", str(content_dir), *extra],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_passes_on_the_repository():
    result = run_check(CONTENT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all good" in result.stdout


BROKEN = [
    (
        "answers.yml",
        "    text: >-\n      A microcurrent facial",
        "    txet: >-\n      A microcurrent facial",
        "answers.yml:",
        "unknown field 'txet'",
    ),
    (
        "answers.yml",
        "intents: [ask_history]",
        "intents: [ask_histroy]",
        "answers.yml:",
        "which no training data defines",
    ),
    (
        "answers.yml",
        "  - id: history\n",
        "  - id: what_is_microcurrent\n",
        "answers.yml:",
        "is used twice",
    ),
    (
        "contact.yml",
        "  email: null",
        '  email: "not-an-email"',
        "contact.yml:",
        "does not look right",
    ),
    ("booking.yml", "  ask_name:", "  ask_nmae:", "booking.yml:", "unknown prompt 'ask_nmae'"),
    ("contraindications.yml", "\nconditions:", "\nconditons:", "contraindications.yml", ""),
    (
        "answers.yml",
        "answers:\n",
        "answers:\n  - id: [broken\n",
        "answers.yml:",
        "YAML syntax error",
    ),
    (
        "email.yml",
        "(ref {reference})",
        "(ref {referense})",
        "email.yml:18",
        "unknown placeholder '{referense}'",
    ),
]


@pytest.mark.parametrize("name, old, new, where, problem", BROKEN)
def test_check_names_file_line_and_problem(tmp_path, name, old, new, where, problem):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    path = content / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    result = run_check(content, "--skip-rasa")
    assert result.returncode == 1, result.stdout
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    assert any(where in line and problem in line for line in errors), result.stdout
