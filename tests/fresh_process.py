"""Run a snippet of Python in a fresh interpreter (for tests of start-up and import-time
behaviour, which the test process itself has already gone through) and read its last stdout line
as JSON."""

import json
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]


def run_fresh(code: str, skip: str = "", timeout: int = 600) -> dict:
    """``code``'s last printed line, parsed as JSON; ``skip`` sets CLINIC_RUNTIME_SKIP."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            "PATH": "/usr/bin:/bin",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "RASA_TELEMETRY_ENABLED": "false",
            "HOME": str(Path.home()),
            "CLINIC_RUNTIME_SKIP": skip,
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
