"""Rasa's own checks: `rasa data validate` and the conversation tests (`rasa test` stories)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODEL = PROJECT_DIR / "models" / "clinic-assistant.tar.gz"
ARTIFACTS = PROJECT_DIR / "test-artifacts" / "rasa-test"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=PROJECT_DIR,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_rasa_data_validate_passes():
    result = rasa(
        "data",
        "validate",
        "--domain",
        "domain.yml",
        "--data",
        "data/nlu",
        "data/rules",
        "--fail-on-warnings",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_conversation_stories_pass():
    if not MODEL.exists():
        pytest.fail("No trained model: run `make model` (make test does it first).")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    result = rasa(
        "test",
        "core",
        "--model",
        str(MODEL),
        "--stories",
        "tests/stories",
        "--out",
        str(ARTIFACTS),
        "--fail-on-prediction-errors",
    )
    failed = ARTIFACTS / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, (details or result.stdout[-3000:]) + result.stderr[-2000:]
