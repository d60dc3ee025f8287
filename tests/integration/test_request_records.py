"""The records kept beside each request -- per-channel delivery and staff's "handled" mark --
on SQLite and PostgreSQL, and that the retention purge deletes them with their request."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

from clinic_requests.channel_log import ChannelLog
from clinic_requests.handled_requests import HandledRequests
from clinic_requests.outbox import Outbox
from clinic_requests.retention import purge
from tests.pg_fixture import StorageBackend


def test_records_are_kept_per_request_and_purged_with_it(
    storage_backend: StorageBackend, tmp_path: Path
) -> None:
    outbox = Outbox(storage_backend.target(tmp_path, "outbox.db"))
    old, waiting = outbox.add("booking", {"name": "Old"}), outbox.add("handoff", {"name": "W"})
    channels, handled = ChannelLog(outbox.url), HandledRequests(outbox.url)
    for request in (old, waiting):
        channels.record(request.id, "email", delivered=False, note="SMTP 451 busy")
        channels.record(request.id, "webhook", delivered=True)
        handled.mark(request.id, "  Maria   at the desk ")
    channels.record(old.id, "email", delivered=True)
    outbox.claim(old.id, "test", 60)
    outbox.mark_delivered(old.id)

    email = [c for c in channels.states([old.id])[old.id] if c.channel == "email"][0]
    assert (email.attempts, email.delivered, email.last_error) == (2, True, None)
    assert channels.delivered_channels(old.id) == {"email", "webhook"}
    assert handled.marks([old.id])[old.id].handled_by == "Maria at the desk"
    assert channels.delivered_channels(waiting.id) == {"webhook"}
    assert handled.unmark(waiting.id) and not handled.unmark(waiting.id)
    handled.mark(waiting.id, "Tom")

    # Delivered requests older than the cutoff go, with their records; a pending one stays.
    result = purge(
        datetime.now(timezone.utc) + timedelta(seconds=1),
        tracker_url=None,
        outbox=outbox.url,
        unanswered_store=None,
    )
    assert result.requests == 1 and not result.errors
    assert channels.states([old.id])[old.id] == []
    assert [c.channel for c in channels.states([waiting.id])[waiting.id]] == ["email", "webhook"]
    assert list(handled.marks()) == [waiting.id]
