"""Fixtures shared by the integration tests."""

from typing import Any, Callable, Iterator, List

import pytest

from tests.webhook_receiver import Receiver


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Start stand-in booking systems; every one is stopped after the test."""
    started: List[Receiver] = []

    def start(port: int, **options: Any) -> Receiver:
        receiver = Receiver(port=port, **options).start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
