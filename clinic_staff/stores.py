"""Where the staff page finds its data: the same stores the action server writes.

Resolved once when the server starts, from the same settings (``CLINIC_DATABASE_URL`` or the
SQLite paths, ``CLINIC_ENDPOINTS_PATH`` for Rasa's tracker store).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from clinic_content.email import EmailTemplate, EmailTemplateError, EmailTemplateStore
from clinic_content.paths import CONTENT_DIR
from clinic_requests import unanswered
from clinic_requests.channel_log import ChannelLog
from clinic_requests.config import ConfigError, tracker_store_url
from clinic_requests.handled_requests import HandledRequests
from clinic_requests.outbox import Outbox

# Labels while email.yml is broken and no correct version was read: names as they are.
BARE_LABELS = EmailTemplate(
    subject="",
    intro=(),
    kinds={},
    fields={},
    not_given="-",
    transcript_heading="",
    speakers={},
    reference_line="",
)


@dataclass
class Stores:
    """Handles on every store (nothing is opened until used)."""

    outbox: Outbox
    channels: ChannelLog
    handled: HandledRequests
    unanswered: Union[Path, str]
    tracker_url: Optional[str]
    content_dir: Path
    templates: EmailTemplateStore

    def labels(self) -> EmailTemplate:
        """Request labels from email.yml (names as they are while it is broken)."""
        try:
            return self.templates.get()
        except EmailTemplateError:
            return BARE_LABELS


def configured_stores(content_dir: Path = CONTENT_DIR) -> Stores:
    """The stores of the current settings.

    Raises:
        ConfigError: A storage setting is malformed.
    """
    outbox = Outbox()
    try:
        tracker = tracker_store_url()
    except ConfigError:
        tracker = None  # the figures then say where the conversations could not be read
    return Stores(
        outbox=outbox,
        channels=ChannelLog(outbox.url),
        handled=HandledRequests(outbox.url),
        unanswered=unanswered.target(),
        tracker_url=tracker,
        content_dir=Path(content_dir),
        templates=EmailTemplateStore(Path(content_dir)),
    )
