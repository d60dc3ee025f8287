"""The last safety check on every reply that leaves the website channel.

The actions already keep reassurance out of what they say while a visitor has disclosed a
condition; this is the second, independent layer the safety promise asks for: whatever produced a
reply (an action, a form, a Rasa default, a future change), it passes here before the visitor
sees it. The disclosure is read from the conversation's slots in the tracker store (condition
categories only) and the phrases from data/content/contraindications.yml.
"""

import logging
from typing import Any, Dict, List, Optional, Text

logger = logging.getLogger(__name__)

DISCLOSURE_SLOTS = ("conditions", "uncovered_conditions")


async def active_disclosure(agent: Any, sender: Text) -> bool:
    """True when the conversation has a condition on record."""
    if agent is None or getattr(agent, "tracker_store", None) is None:
        return False
    tracker = await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return False
    return any(tracker.get_slot(slot) for slot in DISCLOSURE_SLOTS)


def guard_messages(messages: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """Remove reassuring sentences from every text (see actions.safety.guard)."""
    # Imported here: the channel module must load even where the content is not needed.
    from actions import safety
    from actions.content import get_store

    content = get_store().get()
    for message in messages:
        text: Optional[str] = message.get("text")
        if text:
            message["text"] = safety.guard(text, content)
    return messages


async def guard_replies(agent: Any, sender: Text,
                        messages: List[Dict[Text, Any]]) -> List[Dict[Text, Any]]:
    """The replies, guarded when the visitor disclosed a condition; never raises."""
    if not messages:
        return messages
    try:
        if await active_disclosure(agent, sender):
            return guard_messages(messages)
    except Exception:  # a broken check must not silence the bot; the actions' guard still ran
        logger.exception("website channel: the reply guard failed for %s", sender)
    return messages
