"""Shared by the fuzz tests: the count of inputs tried, and the hypothesis settings.

Each test calls ``tried(name)`` once per example hypothesis runs (explicit examples and
shrinking included); ``conftest.py`` writes the counts to ``test-artifacts/fuzz-counts.json``
when the session ends.
"""

import os
from collections import Counter

from hypothesis import settings

# Registered in tests/fuzz/conftest.py. "fuzz-ci" (the default) is fixed and reproducible;
# CLINIC_FUZZ_PROFILE=fuzz-deep runs ten times as many random examples (not for CI).
PROFILE = os.environ.get("CLINIC_FUZZ_PROFILE", "fuzz-ci")
SCALE = {"fuzz-ci": 1, "fuzz-deep": 10}

COUNTS: Counter = Counter()


def tried(name: str) -> None:
    """Count one input given to the code under test."""
    COUNTS[name] += 1


def fuzz_settings(max_examples: int) -> settings:
    """The profile's settings with this test's fixed number of examples."""
    return settings(
        settings.get_profile(PROFILE), max_examples=max_examples * SCALE.get(PROFILE, 1)
    )
