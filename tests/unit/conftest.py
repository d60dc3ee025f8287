"""Fixtures the stranger-trial test files share: the content, the condition detector, and a
place of their own for the unanswered questions their answers record."""

import pytest

from clinic_content.store import get_store
from clinic_nlu.condition_detector import ConditionDetector

RULES = "data/content/contraindications.yml"


@pytest.fixture(scope="module")
def content():
    return get_store().get()


@pytest.fixture(scope="module")
def detector():
    return ConditionDetector.from_yaml(RULES)


@pytest.fixture
def quiet_unanswered(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_UNANSWERED_PATH", str(tmp_path / "unanswered.db"))
