"""A tracker store outage is an error the visitor sees, never a silent new conversation.

Rasa wraps every tracker store in ``FailSafeTrackerStore``: when the database fails,
``retrieve`` returns None (the processor starts a fresh, empty conversation) and ``save``
writes to this process's memory instead. For this assistant that would forget a condition
the visitor disclosed (the safety promise) and drop the turn from the database (the
nothing-lost promise), with nobody noticing. Rasa's wrapper takes an error callback; ours
raises, so the message fails, the website channel answers "please try again", and once the
database is back the next message finds the whole conversation again.
"""

import logging
from typing import Callable, Optional

from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore

logger = logging.getLogger(__name__)


class TrackerStoreUnavailable(RuntimeError):
    """The conversation could not be read or saved; the message is not processed."""


def refuse_fallback(error: Exception) -> None:
    """The error callback: log once per failure, then fail the message."""
    logger.error("Tracker store unavailable, the visitor is asked to try again: %s", error)
    raise TrackerStoreUnavailable(str(error)) from error


class StrictTrackerStore(FailSafeTrackerStore):
    """``FailSafeTrackerStore`` whose errors fail the message instead of falling back."""

    def __init__(
        self,
        tracker_store: TrackerStore,
        on_tracker_store_error: Optional[Callable[[Exception], None]] = None,
        fallback_tracker_store: Optional[TrackerStore] = None,
    ) -> None:
        """Same arguments as Rasa's; the error callback defaults to :func:`refuse_fallback`."""
        super().__init__(
            tracker_store, on_tracker_store_error or refuse_fallback, fallback_tracker_store
        )


def install() -> None:
    """Make the Rasa agent wrap its tracker store in :class:`StrictTrackerStore`."""
    import rasa.core.agent as agent_module

    agent_module.FailSafeTrackerStore = StrictTrackerStore


def installed() -> bool:
    """Whether :func:`install` has run in this process."""
    import rasa.core.agent as agent_module

    return agent_module.FailSafeTrackerStore is StrictTrackerStore
