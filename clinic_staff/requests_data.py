"""The requests as the staff page lists and shows them: state, channels, handled mark, details."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from clinic_requests.channel_log import ChannelState
from clinic_requests.handled_requests import HandledMark
from clinic_requests.outbox import FAILED, STATES, OutboxRequest
from clinic_requests.request_view import RequestView, view_request
from clinic_staff.stores import Stores

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
# The list's filters: a state, or "open" = not marked handled yet.
FILTERS = ("open", *STATES, "all")


@dataclass(frozen=True)
class StaffRequest:
    """One request with everything the page shows about it."""

    request: OutboxRequest
    view: RequestView
    channels: List[ChannelState]
    handled: Optional[HandledMark]

    @property
    def state(self) -> str:
        return self.request.state

    @property
    def can_retry(self) -> bool:
        return self.request.state == FAILED

    @property
    def name(self) -> Optional[str]:
        return _text(self.request.payload.get("name"))

    @property
    def contact(self) -> Optional[str]:
        return _text(self.request.payload.get("contact"))

    @property
    def service(self) -> Optional[str]:
        return _text(self.request.payload.get("service"))

    @property
    def created_at(self) -> datetime:
        return self.request.created_at


def list_requests(stores: Stores, which: str = "open") -> List[StaffRequest]:
    """Requests newest first: ``open`` (not handled), a state, or ``all``."""
    if which not in FILTERS:
        which = "open"
    requests = stores.outbox.list(which if which in STATES else None)
    requests.reverse()
    handled = stores.handled.marks(request.id for request in requests)
    if which == "open":
        requests = [request for request in requests if request.id not in handled]
    channels = stores.channels.states(request.id for request in requests)
    labels = stores.labels()
    return [
        StaffRequest(
            request,
            view_request(
                request.id,
                request.kind,
                request.created_at,
                request.payload,
                labels,
                stores.content_dir,
            ),
            channels[request.id],
            handled.get(request.id),
        )
        for request in requests
    ]


def find_request(stores: Stores, request_id: str) -> Optional[StaffRequest]:
    """One request by its full id, or ``None``."""
    if not REQUEST_ID.match(request_id):
        return None
    request = stores.outbox.get(request_id)
    if request is None:
        return None
    labels = stores.labels()
    return StaffRequest(
        request,
        view_request(
            request.id,
            request.kind,
            request.created_at,
            request.payload,
            labels,
            stores.content_dir,
        ),
        stores.channels.states([request.id])[request.id],
        stores.handled.marks([request.id]).get(request.id),
    )


def _text(value: object) -> Optional[str]:
    return str(value) if value not in (None, "") else None
