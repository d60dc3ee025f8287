"""A broken tracker store fails the message instead of starting an empty conversation."""

from typing import Optional

import pytest
from rasa.core.agent import Agent
from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from clinic_runtime.strict_tracker_store import (
    StrictTrackerStore,
    TrackerStoreUnavailable,
    installed,
)


class BrokenStore(InMemoryTrackerStore):
    """A database that is down: every read and write fails."""

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        raise ConnectionError("database is down")

    async def save(self, tracker: DialogueStateTracker) -> None:
        raise ConnectionError("database is down")


async def test_reading_a_conversation_during_an_outage_fails_the_message() -> None:
    store = StrictTrackerStore(BrokenStore(Domain.empty()))
    with pytest.raises(TrackerStoreUnavailable, match="database is down"):
        await store.retrieve("visitor")


async def test_saving_during_an_outage_fails_instead_of_keeping_it_in_memory() -> None:
    store = StrictTrackerStore(BrokenStore(Domain.empty()))
    tracker = DialogueStateTracker.from_events("visitor", [SlotSet("conditions", ["pregnancy"])])
    with pytest.raises(TrackerStoreUnavailable):
        await store.save(tracker)
    assert store._fallback_tracker_store is None  # nothing kept aside in memory


async def test_a_working_store_behaves_as_before() -> None:
    store = StrictTrackerStore(InMemoryTrackerStore(Domain.empty()))
    tracker = DialogueStateTracker.from_events("visitor", [])
    await store.save(tracker)
    assert (await store.retrieve("visitor")).sender_id == "visitor"


def test_the_runtime_makes_the_agent_use_it(runtime_changes) -> None:
    assert "strict_tracker_store" in runtime_changes()
    assert installed()
    store: TrackerStore = Agent._create_tracker_store(None, Domain.empty())
    assert isinstance(store, StrictTrackerStore)
