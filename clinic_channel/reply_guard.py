"""The last safety check on every reply that leaves the website channel.

The actions already keep reassurance out of what they say while a visitor has disclosed a
condition; this is the second, independent layer the safety promise asks for: whatever produced a
reply (an action, a form, a Rasa default, a future change), it passes here before the visitor
sees it. The disclosure is read from the conversation's slots in the tracker store (condition
categories only) and the phrases from data/content/contraindications.yml. With our cached SQL
tracker store the slots come from the turn this process just saved, used only while the
database still holds exactly what that save wrote; otherwise the conversation is read again.
"""

import logging
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

DISCLOSURE_SLOTS = ("conditions", "uncovered_conditions")


def _slot_source(store: Any) -> Any:
    """The innermost store offering ``saved_slots`` (ours, under Rasa's wrappers), or None."""
    for _ in range(4):  # FailSafeTrackerStore / our strict wrapper keep it in _tracker_store
        if store is None:
            return None
        if callable(getattr(type(store), "saved_slots", None)):
            return store
        store = getattr(store, "_tracker_store", None)
    return None


async def active_disclosure(agent: Any, sender: str) -> bool:
    """True when the conversation has a condition on record."""
    if agent is None or getattr(agent, "tracker_store", None) is None:
        return False
    # Cheap path: the slots this process saved at the end of the turn, checked against the
    # database (one indexed query; clinic_runtime.tracker_store.CachedSQLTrackerStore).
    source = _slot_source(agent.tracker_store)
    if source is not None:
        slots = await source.saved_slots(sender)
        if slots is not None:
            return any(slots.get(slot) for slot in DISCLOSURE_SLOTS)
    tracker = await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return False
    return any(tracker.get_slot(slot) for slot in DISCLOSURE_SLOTS)


def guard_messages(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Remove reassuring sentences from every text (see actions.safety.guard)."""
    # Imported here: the channel module must load even where the content is not needed.
    from actions import safety
    from clinic_content.store import get_store

    content = get_store().get()
    for message in messages:
        text: Optional[str] = message.get("text")
        if text:
            message["text"] = safety.guard(text, content)
    return messages


async def guard_replies(
    agent: Any, sender: str, messages: List[Dict[str, Any]]
) -> List[Dict[str, Any]]:
    """The replies, guarded when the visitor disclosed a condition; never raises."""
    if not messages:
        return messages
    try:
        if await active_disclosure(agent, sender):
            return guard_messages(messages)
    except Exception:  # a broken check must not silence the bot; the actions' guard still ran
        logger.exception("website channel: the reply guard failed for %s", sender)
    return messages
