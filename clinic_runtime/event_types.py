"""Find an event's class by its type name from a table, not by walking the class tree each time.

Rasa 3.6's ``Event.resolve_by_type`` (used for every event read from the database or from an
action server's reply) calls ``all_subclasses(Event)``: it walks the ~60 classes below
``Event`` and runs ``inspect.isabstract`` on each, for every single event. Measured: ~4% of the
Rasa server's CPU per message (docs/benchmarks-levers.md, lever 17).

Here the same walk is done once and kept as a table ``type_name -> first class`` in the walk's
order (the class Rasa's loop would return first). The table is exact: it is emptied whenever
a new ``Event`` subclass is created anywhere (``Event.__init_subclass__``), and rebuilt on the
next lookup. Unknown names behave as in Rasa ("topic" -> None, else ``default``, else
``ValueError``).
"""

from typing import Any, Dict, Optional, Type

_table: Dict[str, Any] = {}
_ORIGINAL = "_clinic_original_resolve_by_type"


def _build() -> Dict[str, Any]:
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    table: Dict[str, Any] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def resolve_by_type(type_name: str, default: Optional[Type[Any]] = None) -> Optional[Type[Any]]:
    """Same contract as Rasa's ``Event.resolve_by_type``."""
    global _table
    table = _table or _build()
    _table = table
    cls = table.get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # as Rasa: old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def _forget_table(cls: Any, **kwargs: Any) -> None:
    """A new Event subclass was created: the next lookup walks the classes again."""
    _table.clear()
    super(_event_class(), cls).__init_subclass__(**kwargs)


def _event_class() -> Any:
    from rasa.shared.core.events import Event

    return Event


def install() -> None:
    """Point ``Event.resolve_by_type`` at the table (idempotent)."""
    Event = _event_class()
    if hasattr(Event, _ORIGINAL):
        return
    if "__init_subclass__" in vars(Event):  # Rasa does not define one; never overwrite one
        return
    setattr(Event, _ORIGINAL, Event.resolve_by_type)
    Event.__init_subclass__ = classmethod(_forget_table)
    Event.resolve_by_type = staticmethod(resolve_by_type)
    _table.clear()
