"""The fuzz suite's hypothesis profiles and its count of inputs tried.

The "fuzz-ci" profile is fixed so that every run tries the same inputs: derandomized (the
examples come from a fixed seed), no deadline (a 1 MB body on a busy 2-core machine is slow,
not wrong), no example database (nothing is written to the checkout). Each test sets its own
``max_examples`` through ``support.fuzz_settings``.
"""

import json
from pathlib import Path
from typing import Any, Dict

from hypothesis import HealthCheck, settings

from tests.fuzz.support import COUNTS

PROJECT_DIR = Path(__file__).resolve().parents[2]
COUNTS_FILE = PROJECT_DIR / "test-artifacts" / "fuzz-counts.json"

_COMMON: Dict[str, Any] = dict(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)
settings.register_profile("fuzz-ci", derandomize=True, **_COMMON)
settings.register_profile("fuzz-deep", derandomize=False, **_COMMON)


def pytest_sessionfinish(session, exitstatus):
    """Write ``{"<test>": <inputs tried>, ..., "total": N}`` for the tests that ran."""
    if not COUNTS:
        return
    counts = dict(sorted(COUNTS.items()))
    counts["total"] = sum(COUNTS.values())
    COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    COUNTS_FILE.write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
